package audit

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// kind is the value syntax of an attribute type.
type kind uint8

const (
	kindUnknown kind = iota // kept raw
	kindUI32
	kindUI64
	kindFC32
	kindIPAD
	kindCSTR
)

// span is a half-open byte range of the record being parsed.
type span struct{ lo, hi int32 } // int32 keeps rawField small: a scan appends one per attribute

func sp(lo, hi int) span { return span{int32(lo), int32(hi)} }

// rawField is one attribute as offsets into the record, so that lines the
// filter rejects are parsed without allocating.
type rawField struct {
	name, typ, val span
	kind           kind
	num            uint64 // UI32/UI64 value
	esc            bool   // quoted value containing a backslash escape
	general        bool   // parsed by field, not fieldsFast: check looks at it
}

// record is the reusable parse state of one message.
type record struct {
	b      []byte
	ts     span // leading timestamp; hi == 0 when absent
	fields []rawField
	// Indexes into fields of the attributes the tool interprets, -1 when absent.
	atyp, rslt, anid, amid, cbid, atim int
	// general turns fieldsFast off, for the test that holds it to field.
	general bool
	// lean: fieldsFast checks every attribute but keeps only those the
	// tool interprets (atyp, rslt, ...), enough for check and a filter
	// without field matches; a record that matches is parsed again in
	// full. A strict scan validates most lines only to reject them.
	lean bool
	// backslash: the line has one, so a string may hold an escape.
	backslash bool
	// general: field read an attribute, which check then looks at.
	anyGeneral bool
	// memo, when set, is what the reader remembers from line to line.
	memo *memo
}

// attr is an attribute the tool interprets, as fieldsFast finds it.
type attr uint8

const (
	attrNone attr = iota
	attrATYP
	attrRSLT
	attrAMID
	attrANID
	attrCBID
	attrATIM
)

// errTruncated reports a message that ends where another attribute or the
// closing bracket could still follow: a pasted message wrapped over lines.
var errTruncated = errors.New("message ends before its closing ']'")

// syntaxError names the byte column (1-based) where parsing stopped.
type syntaxError struct {
	col int
	msg string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("column %d: %s", e.col, e.msg) }

// stoppedShort reports whether parsing b failed at its very end, where
// more could follow (inside a word, a number or a string, or before the
// closing bracket): for a message wrapped over lines, the next line.
func stoppedShort(err error, b []byte) bool {
	se, ok := err.(*syntaxError)
	return err == errTruncated || ok && se.col > len(b)
}

func errAt(i int, format string, a ...any) error {
	return &syntaxError{col: i + 1, msg: fmt.Sprintf(format, a...)}
}

// parse reads one message from b into r.
func (r *record) parse(b []byte) error {
	return r.parseText(b, bytes.IndexByte(b, '\n') >= 0)
}

// parseLine is parse for b that holds no newline, as a scan's lines and
// unwrapped messages do.
func (r *record) parseLine(b []byte) error { return r.parseText(b, false) }

// parseText reads one message from b into r; multiline says whether b
// holds a newline.
func (r *record) parseText(b []byte, multiline bool) error {
	if len(b) > math.MaxInt32 {
		return errAt(0, "message longer than %d bytes", math.MaxInt32)
	}
	*r = record{b: b, fields: r.fields[:0], atyp: -1, rslt: -1, anid: -1, amid: -1, cbid: -1, atim: -1, general: r.general, lean: r.lean, memo: r.memo}
	i := skipSpace(b, 0)
	if j := i + len(canonicalTime); hasPrefix(b[min(j, len(b)):], " [AUDT:[") && r.memo.timestamp(b[i:j]) {
		r.ts, i = sp(i, j), j+len(" [AUDT:") // as the grid writes it: decided at once
	} else {
		var err error
		if i, err = r.opening(b, i); err != nil {
			return err
		}
	}
	canonical := !r.general && !multiline // a line, not a paste: see fieldsFast
	r.backslash = canonical && bytes.IndexByte(b, '\\') >= 0
	for {
		if i >= len(b) {
			return errTruncated
		}
		if b[i] == ']' {
			break
		}
		if b[i] != '[' {
			return errAt(i, "expected '[' or ']', found %s", quoteByte(b, i))
		}
		if canonical {
			if j := r.fieldsFast(b, i); j > i {
				if i = j; i < len(b) && b[i] != '[' && b[i] != ']' {
					i = skipSpace(b, i)
				}
				continue
			}
		}
		var err error
		if i, err = r.field(b, i+1); err != nil {
			return err
		}
		i = skipSpace(b, i)
	}
	if j := skipSpace(b, i+1); j < len(b) {
		return errAt(j, "unexpected %s after the closing ']'", quoteByte(b, j))
	}
	return r.check()
}

// opening reads the start of a message from b[i] in any form (a timestamp
// or none, a multi-file grep's FILE: prefix, blanks anywhere) up to and
// including "[AUDT:", and returns where the attributes start.
func (r *record) opening(b []byte, i int) (int, error) {
	if j := i + len(canonicalTime); j < len(b) && b[j] == ' ' && canonicalTimestamp(b[i:j]) {
		r.ts = sp(i, j) // as the grid writes it: decided without the search below
		i = skipSpace(b, j)
	} else if i < len(b) && b[i] != '[' {
		j := i
		for j < len(b) {
			// Only a control byte or a non-ASCII one may be a blank.
			if c := b[j]; c == '[' || (c <= ' ' || c >= utf8.RuneSelf) && isSpace(b, j) {
				break
			}
			j++
		}
		err := checkTimestamp(b[i:j])
		if err != nil {
			// Not a timestamp: the FILE: a multi-file grep puts first?
			// Only if a timestamp or the message follows it.
			if k := skipGrepPrefix(b, i, j); k > i {
				l := k
				for l < len(b) && !isSpace(b, l) && b[l] != '[' {
					l++
				}
				if k == l || checkTimestamp(b[k:l]) == nil {
					i, j, err = k, l, nil
				}
			}
		}
		if err != nil && isDigit(b[i]) {
			return i, errAt(i, "%v", err)
		}
		if err == nil && i < j {
			r.ts = sp(i, j)
		}
		if err == nil {
			i = skipSpace(b, j)
		}
	}
	if i >= len(b) && r.ts.hi > 0 {
		return i, errTruncated // a timestamp alone on its line: the message follows
	}
	if i >= len(b) {
		return i, errAt(i, "no audit message (expected \"[AUDT:\")")
	}
	if b[i] != '[' {
		return i, errAt(i, "expected \"[AUDT:\", found %s", quoteByte(b, i))
	}
	i = skipSpace(b, i+1)
	if !hasPrefix(b[i:], "AUDT") {
		return i, errAt(i, "expected \"AUDT\" after '['")
	}
	i = skipSpace(b, i+4)
	if i >= len(b) {
		return i, errTruncated
	}
	if b[i] != ':' {
		return i, errAt(i, "expected ':' after \"AUDT\"")
	}
	i = skipSpace(b, i+1)
	return i, nil
}

// skipGrepPrefix skips the "FILE:" (or "FILE:LINE:") a multi-file grep
// puts before each line it prints ("2019-09-15.txt:2018-09-15T..."), as
// operators paste them: b[i:end] is a first word that is no timestamp. It
// returns i when the word has no such prefix.
func skipGrepPrefix(b []byte, i, end int) int {
	colon := bytes.IndexByte(b[i:end], ':')
	if colon <= 0 {
		return i
	}
	j := i + colon + 1
	if k := j; k < len(b) && isDigit(b[k]) { // FILE:LINE:
		for k < len(b) && isDigit(b[k]) {
			k++
		}
		if k < len(b) && b[k] == ':' {
			j = k + 1
		}
	}
	return j
}

// fieldsFast parses the attributes from b[at] on that are in the one form
// the grid writes, [NAME(TYPE):VALUE] with a known TYPE, no blanks and no
// escapes, and returns where it stopped: at the first other one, or
// after the last. It records exactly what field would; the caller runs
// field on the other one, which also knows the forms documents print and
// explains errors. Most of a strict scan's time is spent here, in one
// loop (a call per attribute cost 8% more). Only for text without a
// newline, where field would stop a string at one.
func (r *record) fieldsFast(b []byte, at int) int {
	for at+1 < len(b) && b[at] == '[' {
		i := at + 1
		j, k, a := i+4, kindUnknown, attrNone
		var set *headerSet
		var head uint64
		var tail uint32
		if r.memo != nil && len(b)-i > 11 {
			var code uint8
			set, head, tail, k, code = r.memo.heads.find(b[i:])
			a = attr(code)
		}
		if k == kindUnknown {
			var ok bool
			if j, k, a, ok = readHeader(b, i); !ok {
				return at
			}
			if set != nil && j == i+4 {
				set.keep(head, tail, k, uint8(a))
			}
		}
		keep := !r.lean
		// The attributes the tool interprets are found here rather than in
		// a second pass (check).
		if a != attrNone {
			idx := r.attrIndex(a)
			if *idx < 0 {
				*idx = len(r.fields) // the one this call appends
			}
			keep = true
		}
		v := j + 7
		e := v
		var n uint64
		esc := false
		switch k {
		case kindUI32, kindUI64:
			if e+2 < len(b) && b[e] == '0' && b[e+1] == 'x' { // CBIDs: 0x and 16 hex digits
				if e+19 < len(b) && b[e+18] == ']' {
					hi, ok := hexWord(binary.LittleEndian.Uint64(b[e+2:]))
					lo, ok2 := hexWord(binary.LittleEndian.Uint64(b[e+10:]))
					if !ok || !ok2 {
						return at
					}
					n, e = uint64(hi)<<32|uint64(lo), e+18
				} else {
					e += 2
					for e < len(b) && e-v <= 18 && hexDigit[b[e]] >= 0 {
						n = n<<4 | uint64(hexDigit[b[e]])
						e++
					}
					if e == v+2 || e-v > 18 {
						return at
					}
				}
			} else {
				for e+8 <= len(b) && e-v <= 16 {
					d, ok := eightDigits(b[e:])
					if !ok {
						break
					}
					n = n*100000000 + d
					e += 8
				}
				for e < len(b) && isDigit(b[e]) {
					n = n*10 + uint64(b[e]-'0')
					e++
				}
				if e == v || e-v > 19 { // 19 digits cannot overflow
					return at
				}
			}
			if e >= len(b) || b[e] != ']' || k == kindUI32 && n > math.MaxUint32 {
				return at
			}
		case kindFC32:
			if e+4 < len(b) && b[e+4] == ']' && wordByte[b[e]] && wordByte[b[e+1]] && wordByte[b[e+2]] && wordByte[b[e+3]] {
				e += 4 // the grid's codes have four letters
			} else {
				for e < len(b) && e-v <= 4 && wordByte[b[e]] {
					e++
				}
				if e == v || e-v > 4 || e >= len(b) || b[e] != ']' {
					return at
				}
			}
		case kindCSTR, kindIPAD:
			if b[v] != '"' {
				return at
			}
			v++
			q := bytes.IndexByte(b[v:], '"')
			if q < 0 {
				return at
			}
			e = v + q
			if r.backslash && bytes.IndexByte(b[v:e], '\\') >= 0 { // an escape, perhaps of a quote
				end, _, err := skipQuoted(b, v-1)
				if err != nil {
					return at
				}
				e, esc = end-1, true
			}
			if e+1 >= len(b) || b[e+1] != ']' {
				return at
			}
			if keep {
				r.fields = append(r.fields, rawField{name: sp(i, j), typ: sp(j+1, j+5), val: sp(v, e), kind: k, esc: esc})
			}
			at = e + 2
			continue
		default:
			return at
		}
		if keep {
			r.fields = append(r.fields, rawField{name: sp(i, j), typ: sp(j+1, j+5), val: sp(v, e), kind: k, num: n})
		}
		at = e + 1

	}
	return at
}

// readHeader reads the NAME(TYPE): of an attribute at b[i] in the form
// fieldsFast reads: it returns the end of NAME, the kind of TYPE (a known
// one) and, for an attribute the tool interprets, which; one of those of
// the wrong type is left to field, and check reports it.
func readHeader(b []byte, i int) (int, kind, attr, bool) {
	j := i
	if s := b[i:]; len(s) > 11 && s[4] == '(' && s[9] == ')' && s[10] == ':' &&
		wordByte[s[0]] && wordByte[s[1]] && wordByte[s[2]] && wordByte[s[3]] {
		j = i + 4 // the grid's names have four letters: NAME(TYPE):
	} else {
		for j < len(b) && wordByte[b[j]] {
			j++
		}
		if j == i || j-i > 16 || j+7 >= len(b) || b[j] != '(' || b[j+5] != ')' || b[j+6] != ':' {
			return i, kindUnknown, attrNone, false
		}
	}
	k := kindExact(b[j+1 : j+5])
	if k == kindUnknown {
		return i, k, attrNone, false
	}
	if j-i != 4 {
		return j, k, attrNone, true
	}
	a, want := attrNone, kindUnknown
	switch binary.LittleEndian.Uint32(b[i:]) {
	case 'A' | 'T'<<8 | 'Y'<<16 | 'P'<<24:
		a, want = attrATYP, kindFC32
	case 'R' | 'S'<<8 | 'L'<<16 | 'T'<<24:
		a, want = attrRSLT, kindFC32
	case 'A' | 'M'<<8 | 'I'<<16 | 'D'<<24:
		a, want = attrAMID, kindFC32
	case 'A' | 'N'<<8 | 'I'<<16 | 'D'<<24:
		a, want = attrANID, kindUI32
	case 'C' | 'B'<<8 | 'I'<<16 | 'D'<<24:
		a, want = attrCBID, kindUI64
	case 'A' | 'T'<<8 | 'I'<<16 | 'M'<<24:
		a, want = attrATIM, kindUI64
	}
	if a != attrNone && k != want {
		return i, k, a, false
	}
	return j, k, a, true
}

// attrIndex is where r keeps the index of the attribute a.
func (r *record) attrIndex(a attr) *int {
	switch a {
	case attrATYP:
		return &r.atyp
	case attrRSLT:
		return &r.rslt
	case attrAMID:
		return &r.amid
	case attrANID:
		return &r.anid
	case attrCBID:
		return &r.cbid
	}
	return &r.atim
}

// kindExact is kindOf for the upper-case spelling the grid writes.
func kindExact(t []byte) kind {
	switch binary.LittleEndian.Uint32(t) {
	case 'U' | 'I'<<8 | '3'<<16 | '2'<<24:
		return kindUI32
	case 'U' | 'I'<<8 | '6'<<16 | '4'<<24:
		return kindUI64
	case 'F' | 'C'<<8 | '3'<<16 | '2'<<24:
		return kindFC32
	case 'I' | 'P'<<8 | 'A'<<16 | 'D'<<24:
		return kindIPAD
	case 'C' | 'S'<<8 | 'T'<<16 | 'R'<<24:
		return kindCSTR
	}
	return kindUnknown
}

// hexDigit is the value of a hexadecimal digit, -1 for other bytes.
var hexDigit = func() (t [256]int8) {
	for c := range t {
		v, ok := hexVal(byte(c))
		t[c] = int8(v)
		if !ok {
			t[c] = -1
		}
	}
	return t
}()

// wordByte is isWordByte as a table, for the hot loops.
var wordByte = func() (t [256]bool) {
	for c := range t {
		t[c] = isWordByte(byte(c))
	}
	return t
}()

// field parses NAME(TYPE):VALUE] starting after the '['; it returns the
// index after the closing ']'.
func (r *record) field(b []byte, i int) (int, error) {
	var f rawField
	i = skipSpace(b, i)
	f.name.lo = int32(i)
	i = skipWord(b, i)
	f.name.hi = int32(i)
	if f.name.hi == f.name.lo || f.name.hi-f.name.lo > 16 {
		return i, errAt(i, "expected an attribute name of 1 to 16 letters or digits")
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != '(' {
		return i, errAt(i, "expected '(' after attribute %s", b[f.name.lo:f.name.hi])
	}
	i = skipSpace(b, i+1)
	f.typ.lo = int32(i)
	i = skipWord(b, i)
	f.typ.hi = int32(i)
	if f.typ.hi == f.typ.lo || f.typ.hi-f.typ.lo > 8 {
		return i, errAt(i, "expected a type of 1 to 8 letters or digits for %s", b[f.name.lo:f.name.hi])
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ')' {
		return i, errAt(i, "expected ')' after the type of %s", b[f.name.lo:f.name.hi])
	}
	i = skipSpace(b, i+1)
	if i >= len(b) || b[i] != ':' {
		return i, errAt(i, "expected ':' after %s(%s)", b[f.name.lo:f.name.hi], b[f.typ.lo:f.typ.hi])
	}
	i = skipSpace(b, i+1)
	f.kind = kindOf(b[f.typ.lo:f.typ.hi])
	var err error
	if i, err = f.value(b, i); err != nil {
		return i, err
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ']' {
		return i, errAt(i, "expected ']' after the value of %s", b[f.name.lo:f.name.hi])
	}
	f.general = true
	r.anyGeneral = true
	r.fields = append(r.fields, f)
	return i + 1, nil
}

// value parses the value of f starting at i according to its type.
func (f *rawField) value(b []byte, i int) (int, error) {
	name := b[f.name.lo:f.name.hi]
	switch f.kind {
	case kindUI32, kindUI64:
		j := i
		for j < len(b) && !isSpace(b, j) && b[j] != ']' {
			j++
		}
		f.val = sp(i, j)
		n, ok := parseUint(b[i:j])
		if !ok || (f.kind == kindUI32 && n > math.MaxUint32) {
			return i, errAt(i, "%s: %q is not a valid %s", name, b[i:j], b[f.typ.lo:f.typ.hi])
		}
		f.num = n
		return j, nil
	case kindFC32:
		j := skipWord(b, i)
		if j == i || j-i > 4 {
			return i, errAt(i, "%s: expected a code of 1 to 4 letters or digits", name)
		}
		f.val = sp(i, j)
		return j, nil
	case kindCSTR, kindIPAD:
		if i < len(b) && b[i] != '"' && b[i] != ']' {
			// Documents print some strings unquoted
			// ([UUID(CSTR):926026C4-...]): the value runs to the ']'.
			j, k := bare(b, i, "]\"[")
			f.val = sp(i, k)
			return j, nil
		}
		if i >= len(b) || b[i] != '"' {
			return i, errAt(i, "%s: expected a quoted string", name)
		}
		j, esc, err := skipQuoted(b, i)
		if err != nil {
			return j, err
		}
		f.val, f.esc = sp(i+1, j-1), esc
		return j, nil
	default:
		if i < len(b) && b[i] == '"' {
			j, _, err := skipQuoted(b, i)
			f.val = sp(i, j)
			return j, err
		}
		j, k := bare(b, i, "]\n")
		f.val = sp(i, k)
		return j, nil
	}
}

// bare scans an unquoted value from b[i] up to the first byte of stop:
// end is where it stopped, value the end of the value without trailing
// blanks.
func bare(b []byte, i int, stop string) (end, value int) {
	end = i
	for end < len(b) && strings.IndexByte(stop, b[end]) < 0 {
		end++
	}
	value = end
	for value > i && isSpace(b, value-1) {
		value--
	}
	return end, value
}

// check validates the attributes the tool interprets and remembers where
// they are.
func (r *record) check() error {
	for n := 0; r.anyGeneral && n < len(r.fields); n++ { // else fieldsFast saw to them all
		f := &r.fields[n]
		if !f.general {
			continue // fieldsFast has seen to it
		}
		var idx *int
		var want kind
		switch string(r.b[f.name.lo:f.name.hi]) {
		case "ATYP":
			idx, want = &r.atyp, kindFC32
		case "RSLT":
			idx, want = &r.rslt, kindFC32
		case "AMID":
			idx, want = &r.amid, kindFC32
		case "ANID":
			idx, want = &r.anid, kindUI32
		case "CBID":
			idx, want = &r.cbid, kindUI64
		case "ATIM":
			idx, want = &r.atim, kindUI64
		default:
			continue
		}
		if f.kind != want {
			return errAt(int(f.typ.lo), "%s must be of type %s", r.b[f.name.lo:f.name.hi], kindName[want])
		}
		if *idx < 0 || n < *idx { // the first one counts
			*idx = n
		}
	}
	if r.atyp < 0 {
		return errAt(0, "no message type (ATYP)")
	}
	if r.atim >= 0 && r.fields[r.atim].num > math.MaxInt64/1000 {
		return errAt(int(r.fields[r.atim].val.lo), "ATIM %d is out of range", r.fields[r.atim].num)
	}
	if r.atim < 0 && r.ts.hi == 0 {
		return errAt(0, "no time: neither a leading timestamp nor ATIM")
	}
	return nil
}

// time is the message time: ATIM when present (microseconds since the
// epoch), else the leading timestamp read as UTC. In a log the two agree;
// documents print ATIM values with digits missing (13 or 15 of 16), so
// an ATIM more than a day from the leading timestamp gives way to it.
func (r *record) time() time.Time {
	var ts time.Time
	if r.ts.hi > 0 {
		ts, _ = parseTimestamp(r.b[r.ts.lo:r.ts.hi])
	}
	if r.atim < 0 {
		return ts
	}
	at := time.UnixMicro(int64(r.fields[r.atim].num)).UTC()
	if !ts.IsZero() && (at.Sub(ts) > 24*time.Hour || ts.Sub(at) > 24*time.Hour) {
		return ts
	}
	return at
}

func (r *record) bytes(s span) []byte { return r.b[s.lo:s.hi] }

var kindName = map[kind]string{kindUI32: "UI32", kindUI64: "UI64", kindFC32: "FC32", kindIPAD: "IPAD", kindCSTR: "CSTR"}

func kindOf(t []byte) kind {
	if len(t) != 4 {
		return kindUnknown
	}
	var u [4]byte
	for i, c := range t {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		u[i] = c
	}
	switch string(u[:]) {
	case "UI32":
		return kindUI32
	case "UI64":
		return kindUI64
	case "FC32":
		return kindFC32
	case "IPAD":
		return kindIPAD
	case "CSTR":
		return kindCSTR
	}
	return kindUnknown
}

// parseTimestamp reads YYYY-MM-DDTHH:MM:SS[.fraction] as UTC.
func parseTimestamp(b []byte) (time.Time, error) {
	t, ok := timestamp(b)
	if !ok {
		return t, timestampError(b)
	}
	return t, nil
}

// checkTimestamp is parseTimestamp's verdict without the time.Time, which
// a parse that only validates does not need.
func checkTimestamp(b []byte) error {
	if _, ok := timestampParts(b); !ok {
		return timestampError(b)
	}
	return nil
}

func timestampError(b []byte) error {
	return fmt.Errorf("bad timestamp %q (want YYYY-MM-DDTHH:MM:SS.UUUUUU)", b)
}

func timestamp(b []byte) (time.Time, bool) {
	p, ok := timestampParts(b)
	if !ok {
		return time.Time{}, false
	}
	return time.Date(p[0], time.Month(p[1]), p[2], p[3], p[4], p[5], p[6], time.UTC), true
}

// canonicalTime is the form of the grid's timestamps.
const canonicalTime = "2006-01-02T15:04:05.000000"

// canonicalMasks describe canonicalTime's first 24 bytes, a word of eight
// at a time: 0xff where a digit goes, the separators, and '0' where they
// are.
var canonicalMasks = func() (ms [3]struct{ digits, seps, zeros uint64 }) {
	for k := range 24 {
		c, shift := canonicalTime[k], 8*(k%8)
		m := &ms[k/8]
		if isDigit(c) {
			m.digits |= 0xff << shift
		} else {
			m.seps |= uint64(c) << shift
			m.zeros |= '0' << shift
		}
	}
	return ms
}()

// canonicalTimestamp is timestampParts's verdict on a timestamp of the
// grid's own form, reached in a tenth of the work: every log line starts
// with one.
func canonicalTimestamp(t []byte) bool {
	if len(t) != len(canonicalTime) || !isDigit(t[24]) || !isDigit(t[25]) {
		return false
	}
	// Eight bytes at a time: the separators where the form has them,
	// and, with those put to '0', eight digits (see eightDigits).
	for w, m := range canonicalMasks {
		x := binary.LittleEndian.Uint64(t[8*w:])
		if x&^m.digits != m.seps {
			return false
		}
		if _, ok := digitsWord(x&m.digits | m.zeros); !ok {
			return false
		}
	}
	d2 := func(k int) int { return int(t[k]-'0')*10 + int(t[k+1]-'0') }
	y, mo, d := d2(0)*100+d2(2), d2(5), d2(8)
	return mo >= 1 && mo <= 12 && d >= 1 && d <= daysIn(mo, y) && d2(11) <= 23 && d2(14) <= 59 && d2(17) <= 59
}

// timestampParts checks a timestamp and returns year, month, day, hour,
// minute, second and nanosecond.
func timestampParts(b []byte) ([7]int, bool) {
	var p [7]int
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return p, false
	}
	num := func(lo, hi int) int {
		n := 0
		for _, c := range b[lo:hi] {
			if !isDigit(c) {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	y, mo, d, h, mi, s := num(0, 4), num(5, 7), num(8, 10), num(11, 13), num(14, 16), num(17, 19)
	if y < 0 || mo < 1 || mo > 12 || d < 1 || d > daysIn(mo, y) || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59 {
		return p, false
	}
	ns := 0
	if len(b) > 19 {
		frac := b[20:]
		if b[19] != '.' || len(frac) == 0 || len(frac) > 9 || num(20, len(b)) < 0 {
			return p, false
		}
		ns = num(20, len(b))
		for range 9 - len(frac) {
			ns *= 10
		}
	}
	return [7]int{y, mo, d, h, mi, s, ns}, true
}

// daysIn is the number of days of month mo (1-12) of year y.
func daysIn(mo, y int) int {
	switch mo {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// parseUint reads decimal digits or 0x-prefixed hex digits.
func parseUint(b []byte) (uint64, bool) {
	if len(b) > 2 && b[0] == '0' && (b[1] == 'x' || b[1] == 'X') {
		if len(b) > 18 {
			return 0, false
		}
		var n uint64
		for _, c := range b[2:] {
			v, ok := hexVal(c)
			if !ok {
				return 0, false
			}
			n = n<<4 | uint64(v)
		}
		return n, true
	}
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var n uint64
	if len(b) < 20 { // no overflow
		for _, c := range b {
			if !isDigit(c) {
				return 0, false
			}
			n = n*10 + uint64(c-'0')
		}
		return n, true
	}
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// skipQuoted returns the index after the closing quote of the string that
// starts at b[i] == '"', and whether it holds an escape.
func skipQuoted(b []byte, i int) (int, bool, error) {
	esc := false
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '"':
			return j + 1, esc, nil
		case '\\':
			esc = true
			j++
		case '\n':
			return j, esc, errAt(j, "unterminated string")
		}
	}
	return len(b), esc, errAt(len(b), "unterminated string")
}

// unescape decodes \\ \" \r \n and \xHH; any other backslash sequence is
// kept as written, because losing a byte of an S3 key is worse than
// showing a stray backslash.
func unescape(dst, b []byte) []byte {
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' || i+1 >= len(b) {
			dst = append(dst, c)
			continue
		}
		switch b[i+1] {
		case '\\', '"':
			dst = append(dst, b[i+1])
			i++
		case 'n':
			dst = append(dst, '\n')
			i++
		case 'r':
			dst = append(dst, '\r')
			i++
		case 'x':
			hi, ok1 := hexVal(at(b, i+2))
			lo, ok2 := hexVal(at(b, i+3))
			if !ok1 || !ok2 {
				dst = append(dst, c)
				continue
			}
			dst = append(dst, hi<<4|lo)
			i += 3
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

func at(b []byte, i int) byte {
	if i < len(b) {
		return b[i]
	}
	return 0
}

func hexVal(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isWordByte(c byte) bool {
	return isDigit(c) || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_'
}

func skipWord(b []byte, i int) int {
	for i < len(b) && isWordByte(b[i]) {
		i++
	}
	return i
}

// Whitespace that documents put into pasted logs besides ASCII blanks: the
// no-break spaces; U+F020, the space of Word's Symbol font, which NetApp's
// English archive-node page carries before the VLID value of its ARCE
// example; and U+25A1 (□), which PDF and HTML exports print for that same
// character when the font lacks it (the Korean runbook's copy of the
// example).
const (
	nbsp        = "\u00a0"
	narrowNbsp  = "\u202f"
	symbolSpace = "\uf020"
	whiteSquare = "\u25a1"
	bom         = "\ufeff"
)

// spaceLen is the length of the whitespace character at b[i], or 0.
func spaceLen(b []byte, i int) int {
	switch c := b[i]; {
	case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f':
		return 1
	case c < utf8.RuneSelf:
		return 0
	}
	for _, s := range [...]string{nbsp, narrowNbsp, symbolSpace, whiteSquare, bom} {
		if hasPrefix(b[i:], s) {
			return len(s)
		}
	}
	return 0
}

func isSpace(b []byte, i int) bool {
	if c := b[i]; c > ' ' && c < utf8.RuneSelf {
		return false // the common case, decided inline
	}
	return spaceLen(b, i) > 0
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		if c := b[i]; c > ' ' && c < utf8.RuneSelf {
			break // the common case, decided without a call
		}
		n := spaceLen(b, i)
		if n == 0 {
			break
		}
		i += n
	}
	return i
}

func hasPrefix(b []byte, s string) bool { return len(b) >= len(s) && string(b[:len(s)]) == s }

func quoteByte(b []byte, i int) string {
	r, _ := utf8.DecodeRune(b[i:])
	return fmt.Sprintf("%q", r)
}
