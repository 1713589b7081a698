package audit

import (
	"fmt"
	"strconv"
	"strings"
)

// messageTypes names the audit message types, as the grid's documentation
// does.
var messageTypes = map[string]string{
	"ARCB": "archive object retrieve begin", "ARCE": "archive object retrieve end",
	"ARCT": "archive retrieve from cloud-tier", "AREM": "archive object remove",
	"ASCE": "archive object store end", "ASCT": "archive store cloud-tier",
	"ATCE": "archive object store begin", "AVCC": "archive validate cloud-tier configuration",
	"BROR": "bucket read-only request", "CBRB": "object receive begin", "CBRE": "object receive end",
	"CBSB": "object send begin", "CBSE": "object send end", "CGRR": "cross-grid replication request",
	"EBDL": "empty bucket delete", "EBKR": "empty bucket request",
	"ECMC": "missing erasure-coded data fragment", "ECOC": "corrupt erasure-coded data fragment",
	"ETAF": "security authentication failed", "GNRG": "GNDS registration",
	"GNUR": "GNDS external unregistration", "GTED": "grid task ended", "GTST": "grid task started",
	"GTSU": "grid task submitted", "IDEL": "ILM initiated delete", "LKCU": "overwritten object cleanup",
	"LLST": "location lost", "MGAU": "management audit message", "OLST": "system detected lost object",
	"ORLM": "object rules met", "OVWR": "object overwrite", "SADD": "security audit disable",
	"SADE": "security audit enable", "SCMT": "object store commit", "SDEL": "S3 DELETE",
	"SGET": "S3 GET", "SHEA": "S3 HEAD", "SPOS": "S3 POST", "SPUT": "S3 PUT",
	"SREM": "object store remove", "SUPD": "S3 metadata updated", "SVRF": "object store verify fail",
	"SVRU": "object store verify unknown", "SYSD": "node stop", "SYST": "node stopping",
	"SYSU": "node start", "VLST": "user initiated volume lost", "WDEL": "Swift DELETE",
	"WGET": "Swift GET", "WHEA": "Swift HEAD", "WPUT": "Swift PUT",
}

// resultCodes explains the RSLT values the runbooks refer to.
var resultCodes = map[string]string{
	"SUCS": "successful", "ARUN": "archive middleware unavailable", "GERR": "general error",
	"CANC": "cancelled", "ABRT": "aborted", "NONE": "no result",
}

// header attributes every message carries; Explain shows them through
// Message's own fields or not at all.
var header = map[string]bool{"AVER": true, "ATIM": true, "ATYP": true, "ANID": true, "AMID": true, "ATID": true, "RSLT": true}

// Explain describes m in one readable line, e.g.
// "ARCE archive object retrieve end, result ARUN (archive middleware
// unavailable): CBID 498D8A1F681F05B3, VLID 20091127; node 13959984 ARCI".
func Explain(m *Message) string {
	var b strings.Builder
	b.WriteString(m.Type)
	if d, ok := messageTypes[m.Type]; ok {
		b.WriteString(" " + d)
	} else {
		b.WriteString(" (unknown message type)")
	}
	if m.Result != "" {
		b.WriteString(", result " + m.Result)
		if d, ok := resultCodes[m.Result]; ok {
			b.WriteString(" (" + d + ")")
		}
	}
	var parts []string
	if bk, key := m.Value("S3BK"), m.Value("S3KY"); bk != "" || key != "" {
		parts = append(parts, strconv.Quote(bk+"/"+key))
	}
	for _, f := range m.Fields {
		if header[f.Name] || f.Name == "S3BK" || f.Name == "S3KY" {
			continue
		}
		parts = append(parts, describeField(m, f))
	}
	if len(parts) > 0 {
		b.WriteString(": " + strings.Join(parts, ", "))
	}
	if m.NodeID != 0 || m.Module != "" {
		b.WriteString(";")
		if m.NodeID != 0 {
			fmt.Fprintf(&b, " node %d", m.NodeID)
		}
		if m.Module != "" {
			b.WriteString(" " + m.Module)
		}
	}
	return b.String()
}

func describeField(m *Message, f Field) string {
	switch f.Name {
	case "CBID":
		if m.CBID != "" {
			return "CBID " + m.CBID
		}
	case "CSIZ":
		return f.Value + " bytes"
	case "SAIP":
		return "from " + f.Value
	case "TIME":
		if n, err := strconv.ParseUint(f.Value, 0, 64); err == nil {
			return "in " + seconds(n)
		}
	}
	switch f.Type {
	case "CSTR", "IPAD":
		return f.Name + " " + strconv.Quote(f.Value)
	}
	return f.Name + " " + f.Value
}

// seconds writes microseconds as seconds.
func seconds(us uint64) string {
	return strconv.FormatFloat(float64(us)/1e6, 'f', 6, 64) + " s"
}
