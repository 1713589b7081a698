// Package audit reads the grid's audit logs: it parses audit messages
// (`2012-10-19T02:26:42.969243 [AUDT:[CBID(UI64):0x498D8A1F681F05B3]...]`),
// scans a log directory's audit.log, dated .txt and .txt.gz files in time
// order, filters messages (type, result, node, CBID, any attribute, time),
// follows the live audit.log across its daily rotation, and explains and
// sums messages. It is built for the archive-recovery runbook, which starts
// by finding failed ARCE messages, and is meant to be as fast as grep.
package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Field is one attribute of a message.
type Field struct {
	Name string // attribute code, e.g. "CBID"
	// Type is UI32, UI64, FC32, IPAD or CSTR (upper-cased), or an unknown
	// type exactly as written.
	Type string
	// Value is the decoded value: numbers as written (decimal, or 0x hex),
	// IPAD and CSTR without quotes and with escapes decoded, unknown types
	// as written (quotes included).
	Value string
}

// Message is one audit message.
type Message struct {
	Time   time.Time // ATIM when present, else the leading timestamp (UTC)
	Type   string    // ATYP, e.g. "ARCE"
	Result string    // RSLT, e.g. "ARUN"; "" when absent
	NodeID uint32    // ANID; 0 when absent
	Module string    // AMID; "" when absent
	CBID   string    // CBID as 16 upper-case hex digits; "" when absent
	Fields []Field   // every attribute, in log order
	File   string    // where it was read ("-" for stdin); "" when parsed directly
	Line   int       // 1-based line of File where the message starts
}

// Field returns the first attribute called name.
func (m *Message) Field(name string) (Field, bool) {
	for _, f := range m.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Value returns the value of the first attribute called name, or "".
func (m *Message) Value(name string) string {
	f, _ := m.Field(name)
	return f.Value
}

// Parse parses one message. It may span several lines (a message pasted
// from a document); the leading timestamp is optional when ATIM is present.
func Parse(b []byte) (Message, error) {
	var r record
	err := r.parse(b)
	if errors.Is(err, errTruncated) {
		return Message{}, errAt(len(b), "unexpected end of message (missing ']')")
	}
	if err != nil {
		return Message{}, err
	}
	return r.message(), nil
}

// message copies the parsed record into a Message; it is the only step of
// a scan that allocates, and runs only for messages the filter accepts.
func (r *record) message() Message {
	s := string(r.b)
	str := func(sp span) string { return s[sp.lo:sp.hi] }
	m := Message{Time: r.time(), Fields: make([]Field, len(r.fields))}
	for n, f := range r.fields {
		fd := Field{Name: str(f.name), Type: str(f.typ), Value: str(f.val)}
		if f.kind != kindUnknown {
			fd.Type = kindName[f.kind]
		}
		if f.esc && (f.kind == kindCSTR || f.kind == kindIPAD) {
			fd.Value = string(unescape(nil, r.bytes(f.val)))
		}
		m.Fields[n] = fd
	}
	m.Type = m.Fields[r.atyp].Value
	if r.rslt >= 0 {
		m.Result = m.Fields[r.rslt].Value
	}
	if r.amid >= 0 {
		m.Module = m.Fields[r.amid].Value
	}
	if r.anid >= 0 {
		m.NodeID = uint32(r.fields[r.anid].num)
	}
	if r.cbid >= 0 {
		m.CBID = FormatCBID(r.fields[r.cbid].num)
	}
	return m
}

// FormatCBID writes a CBID the way the runbook, TSM and the ADE console
// show it: 16 upper-case hex digits without 0x.
func FormatCBID(n uint64) string { return fmt.Sprintf("%016X", n) }

// ParseCBID accepts a CBID as 16 hex digits, with or without 0x, in either
// case.
func ParseCBID(s string) (uint64, error) {
	h := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if len(h) != 16 {
		return 0, fmt.Errorf("invalid CBID %q: want 16 hex digits (0x optional)", s)
	}
	n, err := strconv.ParseUint(h, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid CBID %q: want 16 hex digits (0x optional)", s)
	}
	return n, nil
}

// Format writes m in the audit-log line format, timestamp first. Values are
// quoted and escaped as the grid writes them, so Parse(Format(m)) gives m
// back (to the microsecond).
func Format(m *Message) string {
	var b strings.Builder
	b.WriteString(m.Time.UTC().Format(timestampLayout))
	b.WriteString(" [AUDT:")
	for _, f := range m.Fields {
		b.WriteString("[" + f.Name + "(" + f.Type + "):")
		switch kindOf([]byte(f.Type)) {
		case kindCSTR, kindIPAD:
			b.WriteByte('"')
			writeEscaped(&b, f.Value)
			b.WriteByte('"')
		default:
			b.WriteString(f.Value)
		}
		b.WriteByte(']')
	}
	b.WriteString("]")
	return b.String()
}

const timestampLayout = "2006-01-02T15:04:05.000000"

func writeEscaped(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' || c == '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(b, `\x%02X`, c)
		default:
			b.WriteByte(c)
		}
	}
}

// jsonMessage is the stable JSON form of a Message.
type jsonMessage struct {
	Time   string            `json:"time"`
	Type   string            `json:"type"`
	Result string            `json:"result"`
	NodeID uint32            `json:"node_id"`
	Module string            `json:"module"`
	CBID   string            `json:"cbid"`
	Fields map[string]string `json:"fields"`
	File   string            `json:"file"`
	Line   int               `json:"line"`
}

// JSONTimeLayout is how times appear in JSON and tables: UTC, microseconds.
const JSONTimeLayout = "2006-01-02T15:04:05.000000Z07:00"

// MarshalJSON writes {"time","type","result","node_id","module","cbid",
// "fields":{NAME: value},"file","line"}; field values are strings so that
// 64-bit numbers survive JavaScript. A repeated attribute keeps its first
// value in "fields".
func (m Message) MarshalJSON() ([]byte, error) {
	j := jsonMessage{Time: m.Time.UTC().Format(JSONTimeLayout), Type: m.Type, Result: m.Result,
		NodeID: m.NodeID, Module: m.Module, CBID: m.CBID, File: m.File, Line: m.Line,
		Fields: make(map[string]string, len(m.Fields))}
	for _, f := range m.Fields {
		if _, dup := j.Fields[f.Name]; !dup {
			j.Fields[f.Name] = f.Value
		}
	}
	return json.Marshal(j)
}
