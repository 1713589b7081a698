package audit

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// Filter selects messages. Every set condition must hold; a list matches
// when any of its values does. Codes (types, results) compare without
// case: the grid writes them in upper case, operators type "arce", and
// documents print "Arun".
type Filter struct {
	Types   []string     // ATYP values, e.g. "ARCE"
	Results []string     // RSLT values, e.g. "ARUN", "GERR"
	NodeID  uint32       // ANID; 0 matches any node
	CBIDs   []string     // CBIDs in any form ParseCBID accepts
	Fields  []FieldMatch // further attributes that must have a value
	Since   time.Time    // inclusive; zero means no lower bound
	Until   time.Time    // exclusive; zero means no upper bound
}

// FieldMatch requires attribute Name to equal Value. For UI32 and UI64
// attributes numbers compare by value, so VLID=20091127 and
// CBID=0x498d8a1f681f05b3 match however the log writes them.
type FieldMatch struct {
	Name, Value string
}

// ParseFieldMatch reads ATTR=VALUE.
func ParseFieldMatch(s string) (FieldMatch, error) {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return FieldMatch{}, fmt.Errorf("invalid field filter %q: want ATTR=VALUE", s)
	}
	return FieldMatch{Name: name, Value: value}, nil
}

// matcher is a Filter prepared for raw records.
type matcher struct {
	types, results [][]byte
	nodeID         uint32
	cbids          []uint64
	fields         []fieldMatcher
	since, until   time.Time
	// needles are byte strings every matching message contains, grouped:
	// a line must hold one needle of each group. They let the scanner skip
	// lines without parsing them, the way grep does.
	needles [][][]byte
	scratch []byte
}

type fieldMatcher struct {
	name, value []byte
	num         uint64
	isNum       bool
}

func (f Filter) compile() (*matcher, error) {
	m := &matcher{nodeID: f.NodeID, since: f.Since, until: f.Until}
	for _, t := range f.Types {
		m.types = append(m.types, []byte(strings.ToUpper(t)))
	}
	for _, r := range f.Results {
		m.results = append(m.results, []byte(strings.ToUpper(r)))
	}
	for _, c := range f.CBIDs {
		n, err := ParseCBID(c)
		if err != nil {
			return nil, err
		}
		m.cbids = append(m.cbids, n)
	}
	for _, fm := range f.Fields {
		if fm.Name == "" {
			return nil, fmt.Errorf("invalid field filter %q: empty attribute name", fm.Name+"="+fm.Value)
		}
		n, isNum := parseUint([]byte(fm.Value))
		m.fields = append(m.fields, fieldMatcher{name: []byte(fm.Name), value: []byte(fm.Value), num: n, isNum: isNum})
	}
	if len(m.types) > 0 {
		m.needles = append(m.needles, spellings(m.types))
	}
	if len(m.results) > 0 {
		m.needles = append(m.needles, spellings(m.results))
	}
	return m, nil
}

// clone returns a copy for another goroutine.
func (m *matcher) clone() *matcher {
	c := *m
	c.scratch = nil
	return &c
}

// primaryCodes are the codes of the first needle group: a message the
// filter selects holds one of them.
func (m *matcher) primaryCodes() [][]byte {
	if len(m.types) > 0 {
		return m.types
	}
	return m.results
}

// matchesAll reports whether the filter selects every message.
func (m *matcher) matchesAll() bool {
	return len(m.types) == 0 && m.typesOnly()
}

// typesOnly reports whether the filter selects by type alone (or not at
// all).
func (m *matcher) typesOnly() bool {
	return len(m.results) == 0 && m.nodeID == 0 && len(m.cbids) == 0 && len(m.fields) == 0 && m.since.IsZero() && m.until.IsZero()
}

// candidate reports whether b may hold a matching message.
func (m *matcher) candidate(b []byte) bool {
	for _, group := range m.needles {
		if !containsAny(b, group) {
			return false
		}
	}
	return true
}

func containsAny(b []byte, needles [][]byte) bool {
	for _, n := range needles {
		if bytes.Contains(b, n) {
			return true
		}
	}
	return false
}

// match reports whether the parsed record r passes the filter.
func (m *matcher) match(r *record) bool {
	if len(m.types) > 0 && !equalsAnyFold(r.bytes(r.fields[r.atyp].val), m.types) {
		return false
	}
	if len(m.results) > 0 && (r.rslt < 0 || !equalsAnyFold(r.bytes(r.fields[r.rslt].val), m.results)) {
		return false
	}
	if m.nodeID != 0 && (r.anid < 0 || uint32(r.fields[r.anid].num) != m.nodeID) {
		return false
	}
	if len(m.cbids) > 0 && !m.cbidMatch(r) {
		return false
	}
	for i := range m.fields {
		if !m.fieldMatch(r, &m.fields[i]) {
			return false
		}
	}
	if !m.since.IsZero() || !m.until.IsZero() {
		t := r.time()
		if t.Before(m.since) || !m.until.IsZero() && !t.Before(m.until) {
			return false
		}
	}
	return true
}

func (m *matcher) cbidMatch(r *record) bool {
	if r.cbid < 0 {
		return false
	}
	for _, c := range m.cbids {
		if r.fields[r.cbid].num == c {
			return true
		}
	}
	return false
}

func (m *matcher) fieldMatch(r *record, fm *fieldMatcher) bool {
	for _, f := range r.fields {
		if !bytes.Equal(r.bytes(f.name), fm.name) {
			continue
		}
		switch {
		case f.kind == kindUI32 || f.kind == kindUI64:
			if fm.isNum && f.num == fm.num || bytes.Equal(r.bytes(f.val), fm.value) {
				return true
			}
		case f.esc:
			m.scratch = unescape(m.scratch[:0], r.bytes(f.val))
			if bytes.Equal(m.scratch, fm.value) {
				return true
			}
		case bytes.Equal(r.bytes(f.val), fm.value):
			return true
		}
	}
	return false
}

func equalsAnyFold(b []byte, set [][]byte) bool {
	if len(b) == 4 && wordByte[b[0]] && wordByte[b[1]] && wordByte[b[2]] && wordByte[b[3]] {
		// A code as the grid writes it, compared a word at a time: with
		// 0x20 set, a letter is lower case. Other bytes of s may meet b's
		// so, which EqualFold then tells apart.
		x := binary.LittleEndian.Uint32(b) | 0x20202020
		for _, s := range set {
			if len(s) == 4 && binary.LittleEndian.Uint32(s)|0x20202020 == x && bytes.EqualFold(b, s) {
				return true
			}
		}
		return false
	}
	for _, s := range set {
		if bytes.EqualFold(b, s) {
			return true
		}
	}
	return false
}

// spellings are the needles for upper-case codes: each as the grid writes
// it, in lower case and capitalised ("ARUN", "arun", "Arun"), so that the
// byte search before parsing keeps the lines a case-blind compare wants.
func spellings(codes [][]byte) [][]byte {
	var out [][]byte
	for _, c := range codes {
		if len(c) == 0 {
			continue
		}
		lower := bytes.ToLower(c)
		title := append([]byte{c[0]}, lower[1:]...)
		out = append(out, c, lower, title)
	}
	return out
}
