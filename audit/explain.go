package audit

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// messageTypesTSV is every message type NetApp documents, with the title
// of its page (code, title, versions, source); the types of 11.5 to 12.0
// come from the documentation's pages, the few older ones a real log
// still holds from the pages named in the source column.
//
//go:embed message_types.tsv
var messageTypesTSV string

// messageTypes maps a message type to its documented title.
var messageTypes = func() map[string]string {
	t := map[string]string{}
	for _, line := range strings.Split(messageTypesTSV, "\n") {
		f := strings.Split(line, "\t")
		if len(f) >= 2 && !strings.HasPrefix(line, "#") {
			t[f[0]] = f[1]
		}
	}
	return t
}()

// Title is the documented title of a message type ("Archive Object
// Retrieve End" for ARCE), or "" for a type NetApp does not document.
func Title(typ string) string { return messageTypes[typ] }

// typeAndTitle is how both forms of explain begin: "ARCE Archive Object
// Retrieve End".
func typeAndTitle(typ string) string {
	if title := Title(typ); title != "" {
		return typ + " " + title
	}
	return typ + " (undocumented message type)"
}

// protocolTypes are the S3 and Swift operations audit-explain describes
// by their object or bucket (container).
var protocolTypes = map[string]bool{
	"SDEL": true, "SGET": true, "SHEA": true, "SPOS": true, "SPUT": true, "SUPD": true, "S3SL": true,
	"WDEL": true, "WGET": true, "WHEA": true, "WPUT": true,
}

// Explain describes m in one short line, as NetApp's audit-explain does:
// the type and its title, then for an S3 or Swift operation what it acted
// on and for whom,
//
//	SPUT S3 PUT object bucket1/part1.txt tenant:92484777680322627870  cbid:9DCB157394F99FE5 usec:101485
//	SPUT S3 PUT bucket bucket1 account:92484777680322627870 usec:124673
//
// and for other types the object (cbid, path, vlid); a result other than
// SUCS and the processing time (usec) end the line. Secrets never appear:
// it names no access key and no header.
func Explain(m *Message) string {
	var b strings.Builder
	b.WriteString(typeAndTitle(m.Type))
	bucket, key, tenant := m.Value("S3BK"), m.Value("S3KY"), m.Value("S3AI")
	if bucket == "" {
		bucket, key, tenant = m.Value("WCON"), m.Value("WOBJ"), m.Value("WACC")
	}
	switch {
	case protocolTypes[m.Type] && key != "":
		fmt.Fprintf(&b, " object %s/%s", bucket, key)
		if tenant != "" {
			b.WriteString(" tenant:" + tenant)
		}
		if m.CBID != "" {
			if tenant != "" {
				b.WriteString(" ") // audit-explain puts two spaces there
			}
			b.WriteString(" cbid:" + m.CBID)
		}
	case protocolTypes[m.Type] && bucket != "":
		fmt.Fprintf(&b, " bucket %s", bucket)
		if tenant != "" {
			b.WriteString(" account:" + tenant)
		}
	default:
		if m.CBID != "" {
			b.WriteString(" cbid:" + m.CBID)
		}
		if path := m.Value("PATH"); path != "" {
			b.WriteString(" path:" + path)
		} else if bucket != "" {
			b.WriteString(" path:" + strings.TrimSuffix(bucket+"/"+key, "/"))
		}
		if vlid := m.Value("VLID"); vlid != "" {
			b.WriteString(" vlid:" + vlid)
		}
	}
	if m.Result != "" && m.Result != "SUCS" {
		b.WriteString(" result:" + m.Result)
	}
	if us := m.Value("TIME"); us != "" {
		b.WriteString(" usec:" + us)
	}
	return b.String()
}

// resultCodes explains the RSLT values the runbooks refer to.
var resultCodes = map[string]string{
	"SUCS": "successful", "ARUN": "archive middleware unavailable", "GERR": "general error",
	"CANC": "cancelled", "ABRT": "aborted", "NONE": "no result",
}

// header attributes every message carries; ExplainLong shows them through
// Message's own fields or not at all.
var header = map[string]bool{"AVER": true, "ATIM": true, "ATYP": true, "ANID": true, "AMID": true, "ATID": true, "RSLT": true}

// ExplainLong describes m with every attribute (but its secrets, see
// Redact), e.g. "ARCE Archive Object Retrieve End, result ARUN (archive
// middleware unavailable): CBID 498D8A1F681F05B3, VLID 20091127; node
// 13959984 ARCI".
func ExplainLong(m *Message) string {
	r := Redact(*m)
	m = &r
	var b strings.Builder
	b.WriteString(typeAndTitle(m.Type))
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

// secretHeaders are the HTTP request headers (HTRH) that carry
// credentials.
var secretHeaders = map[string]bool{
	"authorization": true, "proxy-authorization": true, "x-amz-security-token": true,
	"x-auth-token": true, "x-storage-token": true, "cookie": true,
}

// Redact returns m without its secrets, for explain's output: the S3
// access key ID (S3AK) goes, and so do the credential headers of the
// logged HTTP request headers (HTRH, a JSON object); an HTRH that is not
// one goes whole, since what it holds cannot be told.
func Redact(m Message) Message {
	fields := make([]Field, 0, len(m.Fields))
	for _, f := range m.Fields {
		switch f.Name {
		case "S3AK":
			continue
		case "HTRH":
			var headers map[string]any
			if err := json.Unmarshal([]byte(f.Value), &headers); err != nil {
				continue
			}
			for k := range headers {
				if secretHeaders[strings.ToLower(k)] {
					delete(headers, k)
				}
			}
			b, err := json.Marshal(headers)
			if err != nil {
				continue
			}
			f.Value = string(b)
		}
		fields = append(fields, f)
	}
	m.Fields = fields
	return m
}
