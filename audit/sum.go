package audit

import (
	"cmp"
	"fmt"
	"io"
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
}

// NewSum returns an empty tally.
func NewSum(opts SumOptions) *Sum {
	s := &Sum{opts: opts, types: map[string]bool{}, groups: map[string]*SumGroup{}}
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

// Add tallies m if its type is one Sum takes.
func (s *Sum) Add(m *Message) {
	if !s.types[m.Type] {
		return
	}
	op := Operation{Micros: -1, Size: -1, Source: m.Value("SAIP"), Kind: "bucket"}
	bucket, key := m.Value("S3BK"), m.Value("S3KY")
	if bucket == "" {
		bucket, key = m.Value("WCON"), m.Value("WOBJ")
	}
	if key != "" || m.Type == "IDEL" {
		op.Kind = "object"
	}
	op.Path = bucket + "/" + key
	if path := m.Value("PATH"); bucket == "" && path != "" {
		op.Path = path
	}
	if v, err := strconv.ParseInt(m.Value("TIME"), 0, 64); err == nil && v >= 0 {
		op.Micros = v
	}
	if v, err := strconv.ParseInt(m.Value("CSIZ"), 0, 64); err == nil && v >= 0 {
		op.Size = v
	}
	g := s.group(s.groupName(m, bucket, op.Kind))
	g.Count++
	switch {
	case s.opts.Size && op.Size >= 0:
		op.measured = float64(op.Size) / 1e6
	case !s.opts.Size && op.Micros >= 0:
		op.measured = float64(op.Micros) / 1e6
	default:
		return
	}
	if g.Measured == 0 || op.measured < g.Min {
		g.Min = op.measured
	}
	g.Max = max(g.Max, op.measured)
	g.Total += op.measured
	g.Measured++
	if s.opts.Long > 0 {
		g.keep(op, s.opts.Long)
	}
}

func (s *Sum) groupName(m *Message, bucket, kind string) string {
	switch {
	case s.opts.ByTime > 0:
		return periodLabel(m.Time.UTC().Truncate(s.opts.ByTime), s.opts.ByTime)
	case s.opts.ByBucket:
		return m.Type + "." + bucket
	case s.opts.ByObject:
		return m.Type + "." + kind
	}
	return m.Type
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

// keep holds the n slowest (largest) operations, slowest first.
func (g *SumGroup) keep(op Operation, n int) {
	if len(g.Slowest) == n && op.measured <= g.Slowest[n-1].measured {
		return
	}
	i, _ := slices.BinarySearchFunc(g.Slowest, op.measured, func(o Operation, v float64) int { return cmp.Compare(v, o.measured) })
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
