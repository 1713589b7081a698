package audit

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var s3Line = []byte(`2024-05-01T00:00:18.229022 [AUDT:[RSLT(FC32):SUCS][CNID(UI64):2787995306698409998][TIME(UI64):457111]` +
	`[SAIP(IPAD):"10.96.182.90"][S3AI(CSTR):"17530064241597054718"][SACC(CSTR):"tenant-a"]` +
	`[S3AK(CSTR):"SGKH9100SCkNB8M3MTWNt-PhoTDwB9JOk7PtyLkQmA=="][SUSR(CSTR):"urn:sgws:identity::17530064241597054718:root"]` +
	`[S3BK(CSTR):"logs-2024"][S3KY(CSTR):"index-51295\x2fa.dat"][CBID(UI64):0x8CC51E54051844DA][CSIZ(UI64):5725338]` +
	`[AVER(UI32):10][ATIM(UI64):1714521618229022][ATYP(FC32):SPUT][ANID(UI32):12281045][AMID(FC32):S3RQ]` +
	`[ATID(UI64):1395650760594366894]]`)

// BenchmarkParseRecord is the parse of a line the filter then rejects:
// it must not allocate.
func BenchmarkParseRecord(b *testing.B) {
	var r record
	b.SetBytes(int64(len(s3Line)))
	b.ReportAllocs()
	for b.Loop() {
		if err := r.parse(s3Line); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParse is the full parse into a Message (a matching line).
func BenchmarkParse(b *testing.B) {
	b.SetBytes(int64(len(s3Line)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(s3Line); err != nil {
			b.Fatal(err)
		}
	}
}

func benchScan(b *testing.B, strict bool) {
	dir := b.TempDir()
	var sb strings.Builder
	for i := range 20000 {
		typ, result := "SPUT", "SUCS"
		if i%50 == 0 {
			typ, result = "ARCE", "ARUN"
		}
		sb.WriteString(line(i, typ, result, uint64(i), 13959984, "S3KY=photos/ARCELIK-"+strings.Repeat("x", 300)))
	}
	data := []byte(sb.String())
	if err := os.WriteFile(filepath.Join(dir, "audit.log"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	opts := ScanOptions{Dir: dir, Strict: strict, Filter: Filter{Types: []string{"ARCE"}, Results: []string{"ARUN", "GERR"}}}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if _, err := Scan(context.Background(), opts, func(Message) error { n++; return nil }); err != nil || n != 400 {
			b.Fatal(err, n)
		}
	}
}

// BenchmarkScanFast is the needle search over a log in the page cache.
func BenchmarkScanFast(b *testing.B) { benchScan(b, false) }

// BenchmarkScanStrict parses every line.
func BenchmarkScanStrict(b *testing.B) { benchScan(b, true) }

func BenchmarkNeedleIndex(b *testing.B) {
	data := bytes.Repeat(s3Line, 2000)
	n := []needle{{b: []byte("ARCE")}}
	chooseRare(n, data)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if n[0].index(data) != -1 {
			b.Fatal("found")
		}
	}
}
