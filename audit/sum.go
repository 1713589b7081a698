package audit

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SumTypes are the message types NetApp's audit-sum tallies (the S3,
// Swift and ILM operations of its documentation, 11.5 to 12.0); Sum
// tallies these unless told which types to take.
var SumTypes = []string{"ARCT", "ASCT", "IDEL", "SDEL", "SGET", "SHEA", "SPUT", "WDEL", "WGET", "WHEA", "WPUT"}

// SumOptions choose what Sum tallies and how it groups, as audit-sum's
// options do.
type SumOptions struct {
	Types    []string      // the types to tally (upper case); nil means SumTypes
	Size     bool          // -s: object sizes (CSIZ, in MB) instead of times (TIME, in seconds)
	Long     int           // -l: keep this many slowest (largest) operations per group; 0: none
	ByTime   time.Duration // -gt: group by periods of this length instead of by type
	ByObject bool          // -go: bucket and object operations apart (TYPE.bucket, TYPE.object)
	ByBucket bool          // -gb: per bucket (TYPE.BUCKET)
}

// Sum tallies operations per group, like NetApp's audit-sum.
type Sum struct {
	opts   SumOptions
	types  map[string]bool
	groups map[string]*SumGroup

	scratch     sumFields
	memo        *memo    // skim's
	filterTypes [][]byte // the scan's type filter, which skim applies
	unesc       []byte
	lastPeriod  *SumGroup // the -gt group of the last message, and its start
	lastStart   time.Time
}

// NewSum returns an empty tally.
func NewSum(opts SumOptions) *Sum {
	s := &Sum{opts: opts, types: map[string]bool{}, groups: map[string]*SumGroup{}, memo: new(memo)}
	types := opts.Types
	if types == nil {
		types = SumTypes
	}
	for _, t := range types {
		s.types[strings.ToUpper(t)] = true
	}
	return s
}

// SumGroup is the tally of one group (a type, a type and bucket, a time
// period...).
type SumGroup struct {
	Name     string      `json:"group"`
	Count    int         `json:"count"`
	Measured int         `json:"measured"` // operations with a TIME (or CSIZ, with Size)
	Min      float64     `json:"min"`      // seconds, or MB with Size
	Max      float64     `json:"max"`
	Total    float64     `json:"-"`
	Slowest  []Operation `json:"slowest,omitempty"` // with Long, slowest (largest) first
}

// Average is the mean measure, 0 when nothing was measured.
func (g SumGroup) Average() float64 {
	if g.Measured == 0 {
		return 0
	}
	return g.Total / float64(g.Measured)
}

// Operation is one tallied message, as the long form lists it.
type Operation struct {
	Micros   int64  `json:"usec"`   // TIME; -1 when absent
	Source   string `json:"source"` // SAIP
	Kind     string `json:"type"`   // object or bucket
	Size     int64  `json:"size"`   // CSIZ in bytes; -1 when absent
	Path     string `json:"path"`   // bucket/key, or bucket/ for a bucket
	measured float64
}

// sumFields is what Sum reads of a message: the attribute values
// (unescaped), nil when absent, and the message time on demand.
type sumFields struct {
	typ, saip, s3bk, s3ky, wcon, wobj, path, time, csiz []byte
	when                                                func() time.Time
}

// The attributes a sum tallies, as skim's header table codes them.
const (
	sumNone uint8 = iota // one it steps over
	sumATYP
	sumSAIP
	sumS3BK
	sumS3KY
	sumWCON
	sumWOBJ
	sumPATH
	sumTIME
	sumCSIZ
)

// sumCode is the code of the attribute of the four-byte name.
func sumCode(name []byte) uint8 {
	switch binary.LittleEndian.Uint32(name) {
	case 'A' | 'T'<<8 | 'Y'<<16 | 'P'<<24:
		return sumATYP
	case 'S' | 'A'<<8 | 'I'<<16 | 'P'<<24:
		return sumSAIP
	case 'S' | '3'<<8 | 'B'<<16 | 'K'<<24:
		return sumS3BK
	case 'S' | '3'<<8 | 'K'<<16 | 'Y'<<24:
		return sumS3KY
	case 'W' | 'C'<<8 | 'O'<<16 | 'N'<<24:
		return sumWCON
	case 'W' | 'O'<<8 | 'B'<<16 | 'J'<<24:
		return sumWOBJ
	case 'P' | 'A'<<8 | 'T'<<16 | 'H'<<24:
		return sumPATH
	case 'T' | 'I'<<8 | 'M'<<16 | 'E'<<24:
		return sumTIME
	case 'C' | 'S'<<8 | 'I'<<16 | 'Z'<<24:
		return sumCSIZ
	}
	return sumNone
}

// field is where sf keeps the attribute of the code.
func (sf *sumFields) field(code uint8) *[]byte {
	switch code {
	case sumATYP:
		return &sf.typ
	case sumSAIP:
		return &sf.saip
	case sumS3BK:
		return &sf.s3bk
	case sumS3KY:
		return &sf.s3ky
	case sumWCON:
		return &sf.wcon
	case sumWOBJ:
		return &sf.wobj
	case sumPATH:
		return &sf.path
	case sumTIME:
		return &sf.time
	}
	return &sf.csiz
}

// Add tallies m if its type is one Sum takes.
func (s *Sum) Add(m *Message) {
	v := func(name string) []byte {
		if f, ok := m.Field(name); ok {
			return []byte(f.Value)
		}
		return nil
	}
	s.tally(&sumFields{typ: []byte(m.Type), saip: v("SAIP"), s3bk: v("S3BK"), s3ky: v("S3KY"), wcon: v("WCON"),
		wobj: v("WOBJ"), path: v("PATH"), time: v("TIME"), csiz: v("CSIZ"), when: func() time.Time { return m.Time }})
}

// addRecord tallies a parsed record as Add tallies its Message, without
// building the Message: a sum reads most lines of a log, and copying
// each into strings would cost more than parsing it.
func (s *Sum) addRecord(r *record) {
	sf := &s.scratch
	*sf = sumFields{typ: r.bytes(r.fields[r.atyp].val)}
	if !s.types[string(sf.typ)] {
		return
	}
	if s.opts.ByTime > 0 {
		sf.when = r.time
	}
	s.unesc = s.unesc[:0]
	for n := range r.fields {
		f := &r.fields[n]
		var dst *[]byte
		switch string(r.bytes(f.name)) {
		case "SAIP":
			dst = &sf.saip
		case "S3BK":
			dst = &sf.s3bk
		case "S3KY":
			dst = &sf.s3ky
		case "WCON":
			dst = &sf.wcon
		case "WOBJ":
			dst = &sf.wobj
		case "PATH":
			dst = &sf.path
		case "TIME":
			dst = &sf.time
		case "CSIZ":
			dst = &sf.csiz
		default:
			continue
		}
		if *dst != nil {
			continue // the first one counts, as Message.Value has it
		}
		*dst = r.bytes(f.val)[: f.val.hi-f.val.lo : f.val.hi-f.val.lo]
		if f.esc && (f.kind == kindCSTR || f.kind == kindIPAD) {
			lo := len(s.unesc)
			s.unesc = unescape(s.unesc, r.bytes(f.val))
			*dst = s.unesc[lo:len(s.unesc):len(s.unesc)]
		}
	}
	s.tally(sf)
}

// tally counts one message of a type Sum takes (or none, if not).
func (s *Sum) tally(sf *sumFields) {
	if !s.types[string(sf.typ)] {
		return
	}
	bucket, key := sf.s3bk, sf.s3ky
	if len(bucket) == 0 {
		bucket, key = sf.wcon, sf.wobj
	}
	kind := "bucket"
	if len(key) > 0 || string(sf.typ) == "IDEL" {
		kind = "object"
	}
	micros, size := int64(-1), int64(-1)
	if v, ok := parseUint(sf.time); ok && v <= math.MaxInt64 {
		micros = int64(v)
	}
	if v, ok := parseUint(sf.csiz); ok && v <= math.MaxInt64 {
		size = int64(v)
	}
	g := s.groupOf(sf, bucket, kind)
	g.Count++
	var measured float64
	switch {
	case s.opts.Size && size >= 0:
		measured = float64(size) / 1e6
	case !s.opts.Size && micros >= 0:
		measured = float64(micros) / 1e6
	default:
		return
	}
	if g.Measured == 0 || measured < g.Min {
		g.Min = measured
	}
	g.Max = max(g.Max, measured)
	g.Total += measured
	g.Measured++
	if n := s.opts.Long; n > 0 && (len(g.Slowest) < n || measured > g.Slowest[n-1].measured) {
		path := string(bucket) + "/" + string(key)
		if len(bucket) == 0 && len(sf.path) > 0 {
			path = string(sf.path)
		}
		g.keep(Operation{Micros: micros, Source: string(sf.saip), Kind: kind, Size: size, Path: path, measured: measured}, n)
	}
}

// groupOf finds (or makes) the group of a message; the common grouping,
// by type, finds it without allocating.
func (s *Sum) groupOf(sf *sumFields, bucket []byte, kind string) *SumGroup {
	switch {
	case s.opts.ByTime > 0:
		start := sf.when().UTC().Truncate(s.opts.ByTime)
		if g := s.lastPeriod; g != nil && start.Equal(s.lastStart) {
			return g
		}
		g := s.group(periodLabel(start, s.opts.ByTime))
		s.lastPeriod, s.lastStart = g, start
		return g
	case s.opts.ByBucket:
		return s.group(string(sf.typ) + "." + string(bucket))
	case s.opts.ByObject:
		return s.group(string(sf.typ) + "." + kind)
	}
	if g := s.groups[string(sf.typ)]; g != nil {
		return g
	}
	return s.group(string(sf.typ))
}

// Scan tallies the messages that Scan with opts selects, as Add would
// one by one, with the files read in parallel.
func (s *Sum) Scan(ctx context.Context, opts ScanOptions) (Stats, error) {
	opts.sum = s
	return Scan(ctx, opts, func(Message) error { return nil })
}

// merge adds the tallies of o, a sum of later messages, to s.
func (s *Sum) merge(o *Sum) {
	names := make([]string, 0, len(o.groups))
	for name := range o.groups {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		og, g := o.groups[name], s.groups[name]
		if g == nil {
			s.groups[name] = og
			continue
		}
		if og.Measured > 0 && (g.Measured == 0 || og.Min < g.Min) {
			g.Min = og.Min
		}
		g.Count += og.Count
		g.Max = max(g.Max, og.Max)
		g.Total += og.Total
		g.Measured += og.Measured
		for _, op := range og.Slowest {
			g.keep(op, s.opts.Long)
		}
	}
}

// periodLabel spells the start of a period as audit-sum does, to the
// period's precision: 2019-09-05T06 for hours, 2019-09-05T06:15 for
// minutes.
func periodLabel(t time.Time, d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return t.Format("2006-01-02")
	case d%time.Hour == 0:
		return t.Format("2006-01-02T15")
	case d%time.Minute == 0:
		return t.Format("2006-01-02T15:04")
	}
	return t.Format("2006-01-02T15:04:05")
}

// ParsePeriod reads a -gt period: a number and a unit S, M, H or D (15M,
// 1H; either case).
func ParsePeriod(s string) (time.Duration, error) {
	units := map[byte]time.Duration{'S': time.Second, 'M': time.Minute, 'H': time.Hour, 'D': 24 * time.Hour}
	if len(s) >= 2 {
		if unit, ok := units[strings.ToUpper(s[len(s)-1:])[0]]; ok {
			if n, err := strconv.Atoi(s[:len(s)-1]); err == nil && n > 0 && n <= 366*24*3600 {
				return time.Duration(n) * unit, nil
			}
		}
	}
	return 0, fmt.Errorf("period %q: give a number and a unit S, M, H or D, e.g. 15M or 1H", s)
}

func (s *Sum) group(name string) *SumGroup {
	g := s.groups[name]
	if g == nil {
		g = &SumGroup{Name: name}
		s.groups[name] = g
	}
	return g
}

// keep holds the n slowest (largest) operations, slowest first; of equal
// ones, the earlier are kept and listed first. That makes the list of a
// whole log the merge of its files' lists, read in order.
func (g *SumGroup) keep(op Operation, n int) {
	if len(g.Slowest) == n && op.measured <= g.Slowest[n-1].measured {
		return
	}
	// After every operation at least as slow as op.
	i, _ := slices.BinarySearchFunc(g.Slowest, op.measured, func(o Operation, v float64) int {
		if o.measured >= v {
			return -1
		}
		return 1
	})
	g.Slowest = slices.Insert(g.Slowest, i, op)
	if len(g.Slowest) > n {
		g.Slowest = g.Slowest[:n]
	}
}

// Groups returns the tallies in name order (types alphabetically, time
// periods in time order).
func (s *Sum) Groups() []SumGroup {
	out := make([]SumGroup, 0, len(s.groups))
	for _, g := range s.groups {
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b SumGroup) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// Write prints the tallies in audit-sum's layout: the table, or with
// Long each group's totals and its slowest operations.
func (s *Sum) Write(w io.Writer) error {
	groups := s.Groups()
	if s.opts.Long > 0 {
		return s.writeLong(w, groups)
	}
	width := 16 // the group column widens for long bucket names
	for _, g := range groups {
		width = max(width, len(g.Name))
	}
	unit := "sec"
	if s.opts.Size {
		unit = "MB"
	}
	head := fmt.Sprintf("  %%-%ds%%13s%%13s%%16s%%16s\n", width)
	fmt.Fprintf(w, head, "message group", "count", "min("+unit+")", "max("+unit+")", "average("+unit+")")
	fmt.Fprintf(w, head, "=============", "=====", "========", "========", "============")
	for _, g := range groups {
		if g.Measured == 0 {
			fmt.Fprintf(w, "  %-*s%13d\n", width, g.Name, g.Count)
			continue
		}
		fmt.Fprintf(w, "  %-*s%13d%13.3f%16.3f%16.3f\n", width, g.Name, g.Count, g.Min, g.Max, g.Average())
	}
	return nil
}

// writeLong prints each group as audit-sum -l does: a "===== GROUP" line
// when there are several, the totals and the slowest operations.
func (s *Sum) writeLong(w io.Writer, groups []SumGroup) error {
	unit, what := "sec", "Slowest"
	if s.opts.Size {
		unit, what = "MB", "Largest"
	}
	for _, g := range groups {
		if len(groups) > 1 {
			fmt.Fprintf(w, "===== %s\n", g.Name)
		}
		fmt.Fprintf(w, "  Total:%16d operations\n", g.Count)
		if g.Measured == 0 {
			continue
		}
		fmt.Fprintf(w, "  %s:%14.3f %s\n", what, g.Max, unit)
		fmt.Fprintf(w, "  Average:%14.3f %s\n", g.Average(), unit)
		fmt.Fprintf(w, "  %s:%14.3f %s\n", map[bool]string{false: "Fastest", true: "Smallest"}[s.opts.Size], g.Min, unit)
		fmt.Fprintf(w, "  %s operations:\n", what)
		fmt.Fprintf(w, "      %10s %15s %12s %12s %s\n", "time(usec)", "source ip", "type", "size(B)", "path")
		fmt.Fprintf(w, "      %10s %15s %12s %12s %s\n", "==========", "===============", "============", "============", "====")
		for _, op := range g.Slowest {
			fmt.Fprintf(w, "      %10s %15s %12s %12s %s\n", orBlank(op.Micros), op.Source, op.Kind, orBlank(op.Size), op.Path)
		}
	}
	return nil
}

func orBlank(n int64) string {
	if n < 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

// skim tallies one line as addRecord tallies its parsed record, but
// checks only what a sum uses (the leading timestamp, the message's
// frame, each attribute's NAME(TYPE), and the values it tallies) and steps over the other attributes:
// a sum reads every line of a log, and parsing each in full costs
// several times what grep spends on it. As a scan without --strict skips
// unparsed the lines that cannot match, a sum does not look into the
// values it does not use; with --strict every line is parsed. It reports
// whether it read the line (and whether the line passed the scan's type
// filter); a line it cannot read exactly as the parser would (no
// timestamp, a name not of four letters, an escape, an unknown type, no
// ATYP, a malformed value it uses, anything after the message) is left
// to the parser, which also reports it if it is malformed.
func (s *Sum) skim(line []byte) (read, matched bool) {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	i := len(canonicalTime) + 1 // the grid's timestamp, decided at once
	if len(line) <= i || line[i-1] != ' ' || !s.memo.timestamp(line[:i-1]) {
		i = bytes.IndexByte(line, '[')
		if i < 2 || line[i-1] != ' ' || checkTimestamp(line[:i-1]) != nil {
			return false, false
		}
	}
	if !hasPrefix(line[i:], "[AUDT:[") || bytes.IndexByte(line[i:], '\\') >= 0 {
		return false, false // an escape, perhaps of a quote: the parser unescapes
	}
	sf := &s.scratch
	*sf = sumFields{}
	for i += 6; ; {
		if i >= len(line) {
			return false, false
		}
		if line[i] == ']' {
			if i != len(line)-1 {
				return false, false
			}
			break
		}
		b := line[i:]
		if len(b) < 14 || b[0] != '[' {
			return false, false
		}
		set, head, tail, k, code := s.memo.heads.find(b[1:])
		if k == kindUnknown {
			if b[5] != '(' || b[10] != ')' || b[11] != ':' ||
				!wordByte[b[1]] || !wordByte[b[2]] || !wordByte[b[3]] || !wordByte[b[4]] {
				return false, false
			}
			if k = kindExact(b[6:10]); k == kindUnknown {
				return false, false
			}
			code = sumCode(b[1:5])
			set.keep(head, tail, k, code)
		}
		var val []byte
		switch k {
		case kindCSTR, kindIPAD:
			if b[12] != '"' {
				return false, false
			}
			q := bytes.IndexByte(b[13:], '"')
			if q < 0 || 13+q+1 >= len(b) || b[13+q+1] != ']' {
				return false, false
			}
			val = b[13 : 13+q : 13+q]
			i += 13 + q + 2
		case kindUI32, kindUI64, kindFC32:
			// Values of a few bytes: eight at a time costs less than
			// two searches.
			e := 12
			for e+8 <= len(b) {
				m := bracketBytes(binary.LittleEndian.Uint64(b[e:]))
				if m != 0 {
					e += bits.TrailingZeros64(m) >> 3
					break
				}
				e += 8
			}
			for e < len(b) && b[e] != ']' && b[e] != '[' {
				e++
			}
			if e == 12 || e == len(b) || b[e] == '[' {
				return false, false // a lost ']': the next attribute would vanish into this one
			}
			val = b[12:e:e]
			i += e + 1
		default:
			return false, false
		}
		if code == sumNone {
			continue
		}
		if code == sumATYP && (k != kindFC32 || len(val) > 4 || skipWord(val, 0) != len(val)) {
			return false, false // the parser reports it
		}
		dst := sf.field(code)
		if k == kindUI32 || k == kindUI64 {
			if n, ok := parseUint(val); !ok || k == kindUI32 && n > math.MaxUint32 {
				return false, false
			}
		}
		if *dst == nil {
			*dst = val // the first one counts, as Message.Value has it
		}
	}
	if sf.typ == nil {
		return false, false
	}
	if len(s.filterTypes) > 0 && !equalsAnyFold(sf.typ, s.filterTypes) {
		return true, false
	}
	s.tally(sf)
	return true, true
}
