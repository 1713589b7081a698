package audit

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sput builds the SPUT message of an S3 PUT: of an object when key is
// set, else of a bucket; with an access key ID and an Authorization
// header, which must never be explained.
func sput(t *testing.T, bucket, key, cbid string, usec int) Message {
	t.Helper()
	line := `2019-08-07T18:43:30.784558 [AUDT:[RSLT(FC32):SUCS][TIME(UI64):` + fmt.Sprint(usec) + `][SAIP(IPAD):"10.96.101.125"]` +
		`[S3AI(CSTR):"92484777680322627870"][SACC(CSTR):"tenant1"][S3AK(CSTR):"SGKHyalRU_5cLflqajtaFmxJn946lAWRJfBF33gAOg=="]` +
		`[HTRH(CSTR):"{\"Authorization\":\"AWS4-HMAC-SHA256 Credential=SGKHyalRU/20190807, Signature=0badc0ffee\",\"x-forwarded-for\":\"10.1.1.1\"}"]` +
		`[S3BK(CSTR):"` + bucket + `"]`
	if key != "" {
		line += `[S3KY(CSTR):"` + key + `"][CBID(UI64):0x` + cbid + `][CSIZ(UI64):30720]`
	}
	line += `[AVER(UI32):10][ATIM(UI64):1565203410784558][ATYP(FC32):SPUT][ANID(UI32):12281045][AMID(FC32):S3RQ]]`
	m, err := Parse([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// NetApp's audit-explain example (using-audit-explain-tool, 11.5 to
// 12.0, verbatim in testdata/vendor): the tenant that created bucket1 and
// put three objects in it. Explain prints those lines byte for byte.
func TestExplainAsAuditExplain(t *testing.T) {
	msgs := []Message{
		sput(t, "bucket1", "", "", 124673),
		sput(t, "bucket1", "part1.txt", "9DCB157394F99FE5", 101485),
		sput(t, "bucket1", "part2.txt", "3CFBB07AB3D32CA9", 102804),
		sput(t, "bucket1", "part3.txt", "5373D73831ECC743", 93874),
	}
	files, _ := filepath.Glob("testdata/vendor/*/audit/using-audit-explain-tool/sput-output.txt")
	if len(files) != 6 {
		t.Fatalf("%d copies of the example, want 6", len(files))
	}
	for _, f := range files {
		want, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var got strings.Builder
		for i := range msgs {
			got.WriteString(Explain(&msgs[i]) + "\n")
		}
		if got.String() != string(want) {
			t.Fatalf("%s:\ngot\n%s\nwant\n%s", f, got.String(), want)
		}
	}
}

func TestExplainOtherTypes(t *testing.T) {
	for _, c := range []struct{ line, want string }{
		{arceLine, "ARCE Archive Object Retrieve End cbid:498D8A1F681F05B3 vlid:20091127 result:ARUN"},
		{`[AUDT:[CBID(UI64):0x4090675BCE7E4050][RULE(CSTR):"Make 2 Copies"][PATH(CSTR):"three003/testobject-7"][RSLT(FC32):SUCS]` +
			`[ATIM(UI64):1604078991082431][ATYP(FC32):ORLM]]`, "ORLM Object Rules Met cbid:4090675BCE7E4050 path:three003/testobject-7"},
		{`[AUDT:[CNID(UI64):1][RSLT(FC32):SUCS][ATIM(UI64):1531152000000000][ATYP(FC32):HTSE]]`, "HTSE HTTP Session Establish"},
		{`[AUDT:[ZZZZ(XX):1][ATIM(UI64):1][ATYP(FC32):QQQQ][TIME(UI64):7]]`, "QQQQ (undocumented message type) usec:7"},
	} {
		m, err := Parse([]byte(c.line))
		if err != nil {
			t.Fatal(err)
		}
		if got := Explain(&m); got != c.want {
			t.Errorf("Explain =\n%s\nwant\n%s", got, c.want)
		}
	}
}

// Every message of NetApp's published 1,564-line log has a documented
// title (its ETCA, ETCC, HTSE and HTSC from the documentation of the
// releases before 11.5).
func TestEveryTypeOfTheSampleLogIsDocumented(t *testing.T) {
	msgs, errs, _, err := scanAll(t, ScanOptions{Files: []string{"testdata/samples/NetApp-StorageGRID-sg-audit-analysis/query-july-9-2018.log"}})
	if err != nil || len(errs) > 0 || len(msgs) != 1564 {
		t.Fatalf("%d messages, %v %v", len(msgs), errs, err)
	}
	for _, m := range msgs {
		if Title(m.Type) == "" {
			t.Fatalf("line %d: type %s has no documented title", m.Line, m.Type)
		}
	}
}

// Neither form of explain, nor a redacted message's JSON, shows an S3
// access key or a credential header; the other headers stay.
func TestExplainShowsNoSecrets(t *testing.T) {
	m := sput(t, "b", "k", "0000000000000001", 5)
	red := Redact(m)
	js, err := red.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{Explain(&m), ExplainLong(&m), string(js)} {
		for _, secret := range []string{"SGKHyalRU", "0badc0ffee", "S3AK", "Authorization"} {
			if strings.Contains(out, secret) {
				t.Errorf("%q shows %s", out, secret)
			}
		}
	}
	if !strings.Contains(ExplainLong(&m), `x-forwarded-for`) || m.Value("S3AK") == "" {
		t.Errorf("redaction went too far or changed the message: %s", ExplainLong(&m))
	}
	m.Fields = append(m.Fields, Field{Name: "HTRH", Type: "CSTR", Value: "Authorization: AWS x"})
	if r := Redact(m); strings.Contains(ExplainLong(&r), "AWS x") {
		t.Error("an HTRH that is not JSON was kept")
	}
}

func TestExplainLong(t *testing.T) {
	m, err := Parse([]byte(arceLine))
	if err != nil {
		t.Fatal(err)
	}
	want := "ARCE Archive Object Retrieve End, result ARUN (archive middleware unavailable): CBID 498D8A1F681F05B3, VLID 20091127; node 13959984 ARCI"
	if got := ExplainLong(&m); got != want {
		t.Fatalf("ExplainLong =\n%s\nwant\n%s", got, want)
	}
}

// timed adds n operations of group name (type.bucket|object) whose TIME
// (or, with size, CSIZ in bytes) has the minimum lo, the maximum hi and
// the average avg, all in micro-units.
func timed(s *Sum, typ, bucket, key string, n int, lo, hi, avg int64, size bool) {
	rest := int64(0)
	if n > 2 {
		rest = (avg*int64(n) - lo - hi) / int64(n-2)
	}
	for i := 0; i < n; i++ {
		v := rest
		switch {
		case i == 0:
			v = lo
		case i == n-1 && n > 1:
			v = hi
		}
		m := Message{Type: typ, Time: time.Date(2019, 9, 5, 6, 0, 0, 0, time.UTC),
			Fields: []Field{{Name: "SAIP", Value: "10.96.101.125"}, {Name: "S3BK", Value: bucket}}}
		if key != "" {
			m.Fields = append(m.Fields, Field{Name: "S3KY", Value: key})
		}
		if size {
			m.Fields = append(m.Fields, Field{Name: "CSIZ", Value: fmt.Sprint(v)})
		} else {
			m.Fields = append(m.Fields, Field{Name: "TIME", Value: fmt.Sprint(v)})
		}
		s.Add(&m)
	}
}

// NetApp's audit-sum examples (using-audit-sum-tool, verbatim in
// testdata/vendor), rebuilt from operations with the same counts, minima,
// maxima and averages: Sum prints them byte for byte.
func TestSumAsAuditSum(t *testing.T) {
	for _, c := range []struct {
		file string
		opts SumOptions
		add  func(s *Sum)
	}{
		{"sput-go.txt", SumOptions{ByObject: true}, func(s *Sum) {
			timed(s, "SPUT", "b", "", 1, 125000, 125000, 125000, false)
			timed(s, "SPUT", "b", "k", 12, 25000, 1019000, 236000, false)
		}},
		{"time-summary.txt", SumOptions{}, func(s *Sum) {
			timed(s, "IDEL", "b", "k", 274, -1, -1, -1, false)
			timed(s, "SDEL", "b", "k", 213371, 4000, 20934000, 352000, false)
			timed(s, "SGET", "b", "k", 201906, 10000, 1740290000, 1132000, false)
			timed(s, "SHEA", "b", "k", 22716, 5000, 2349000, 272000, false)
			timed(s, "SPUT", "b", "k", 1771398, 11000, 1770563000, 487000, false)
			timed(s, "ARCE", "b", "k", 5, 1, 1, 1, false) // not a type audit-sum tallies
		}},
		{"sput-gb.txt", SumOptions{ByBucket: true}, func(s *Sum) {
			timed(s, "SPUT", "cho-non-versioning", "k", 71943, 46000, 1770563000, 1571000, false)
			timed(s, "SPUT", "cho-versioning", "k", 54277, 47000, 1736633000, 1415000, false)
			timed(s, "SPUT", "cho-west-region", "k", 80615, 40000, 55557000, 1329000, false)
			timed(s, "SPUT", "ldt002", "k", 1564563, 11000, 51569000, 361000, false)
		}},
	} {
		files, _ := filepath.Glob("testdata/vendor/*/audit/using-audit-sum-tool/" + c.file)
		if len(files) != 6 {
			t.Fatalf("%s: %d copies, want 6", c.file, len(files))
		}
		s := NewSum(c.opts)
		c.add(s)
		var got bytes.Buffer
		if err := s.Write(&got); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			want, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != string(want) {
				t.Fatalf("%s:\ngot\n%s\nwant\n%s", f, got.String(), want)
			}
		}
	}
}

// The long form (-l) as audit-sum printed it for a real grid (a README's
// sample of `audit-sum -go -l`, in testdata/samples): per group a
// "===== GROUP" line, the totals and the ten slowest operations. The
// operations are rebuilt from the sample's rows, and the others from its
// totals.
func TestSumLongAsAuditSum(t *testing.T) {
	const file = "testdata/samples/llelik-storagegrid-audit-analysis-calc/audit-sum-go-l-sample.txt"
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSum(SumOptions{ByObject: true, Long: 10})
	var typ string
	var total, listed int
	var sumListed int64
	flush := func(fastest, average float64) {
		if typ == "" {
			return
		}
		kind := strings.SplitN(typ, ".", 2)
		rest := total - listed
		avg := int64(average*1e6)*int64(total) - sumListed
		// The rest: one at the fastest time, the others sharing what
		// makes the average.
		timed(s, kind[0], "other", map[bool]string{true: "k", false: ""}[kind[1] == "object"], rest,
			int64(fastest*1e6), avg/int64(rest), avg/int64(rest), false)
	}
	var fastest, average float64
	for _, line := range strings.Split(strings.TrimSuffix(string(want), "\n"), "\n") {
		f := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "===== "):
			flush(fastest, average)
			typ, listed, sumListed = f[1], 0, 0
		case f[0] == "Total:":
			fmt.Sscan(f[1], &total)
		case f[0] == "Average:":
			fmt.Sscan(f[1], &average)
		case f[0] == "Fastest:":
			fmt.Sscan(f[1], &fastest)
		case len(f) >= 4 && (f[2] == "object" || f[2] == "bucket"):
			var usec int64
			fmt.Sscan(f[0], &usec)
			m := Message{Type: strings.SplitN(typ, ".", 2)[0], Fields: []Field{{Name: "TIME", Value: f[0]}, {Name: "SAIP", Value: f[1]}}}
			path := strings.TrimSpace(line[strings.Index(line, f[2])+len(f[2]):])
			if f[2] == "object" {
				size, p, _ := strings.Cut(path, " ")
				bucket, key, _ := strings.Cut(p, "/")
				m.Fields = append(m.Fields, Field{Name: "CSIZ", Value: size}, Field{Name: "S3BK", Value: bucket}, Field{Name: "S3KY", Value: key})
			} else {
				m.Fields = append(m.Fields, Field{Name: "S3BK", Value: strings.TrimSuffix(path, "/")})
			}
			s.Add(&m)
			listed++
			sumListed += usec
		}
	}
	flush(fastest, average)
	var got bytes.Buffer
	if err := s.Write(&got); err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Fatalf("got\n%s\nwant\n%s", got.String(), want)
	}
}

// Sum.Scan, which tallies parsed records in place and merges per-file
// tallies, prints what Add over Scan's messages prints, for every option
// audit-sum has: over the published real log, every published message,
// and a log of every message with an escape, read as several files at
// once so that the merge is exercised.
func TestSumScanAgreesWithAdd(t *testing.T) {
	var files []string
	for _, root := range []string{"testdata/samples", "testdata/vendor"} {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(p, ".log") {
				files = append(files, p)
			}
			return err
		})
	}
	esc := filepath.Join(t.TempDir(), "escaped.log")
	var b strings.Builder
	for i := range 50 {
		fmt.Fprintf(&b, `2024-05-01T%02d:%02d:00.000000 [AUDT:[S3BK(CSTR):"b\x2f%d"][S3KY(CSTR):"k\"%d"][TIME(UI64):%d][CSIZ(UI64):0x%x][SAIP(IPAD):"10.0.0.%d"][ATIM(UI64):%d][ATYP(FC32):%s]]`+"\n",
			i/6, i%60, i%3, i, 1000*(i%7), 100*i, i, 1714521600000000+int64(i)*600000000, []string{"SPUT", "SGET", "SDEL"}[i%3])
	}
	// A value holding the type's spelling hides nothing: the real type
	// decides, whichever comes first.
	b.WriteString(`2024-05-01T09:00:00.000000 [AUDT:[S3BK(CSTR):"b"][S3KY(CSTR):"x[ATYP(FC32):ORLM]y"][TIME(UI64):7][ATIM(UI64):1714554000000000][ATYP(FC32):SPUT]]` + "\n")
	b.WriteString(`2024-05-01T09:00:01.000000 [AUDT:[S3BK(CSTR):"b"][S3KY(CSTR):"[ATYP(FC32):SPUT]"][TIME(UI64):7][ATIM(UI64):1714554001000000][ATYP(FC32):ORLM]]` + "\n")
	if err := os.WriteFile(esc, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	files = append(files, esc)
	if len(files) < 100 {
		t.Fatalf("%d files", len(files))
	}
	for _, o := range []SumOptions{{}, {Size: true}, {Long: 5}, {Long: 3, Size: true, ByBucket: true},
		{ByTime: time.Hour}, {ByTime: 15 * time.Minute, Long: 2}, {ByBucket: true}, {ByObject: true},
		{Types: []string{"ORLM", "SPUT", "ARCE"}}} {
		opts := ScanOptions{Files: files, Workers: 3}
		want := NewSum(o)
		if _, err := Scan(context.Background(), opts, func(m Message) error { want.Add(&m); return nil }); err != nil {
			t.Fatal(err)
		}
		got := NewSum(o)
		st, err := got.Scan(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		var w, g bytes.Buffer
		want.Write(&w)
		got.Write(&g)
		if w.String() != g.String() || st.Matched == 0 {
			t.Fatalf("%+v: Sum.Scan (%d matched):\n%s\nAdd:\n%s", o, st.Matched, g.String(), w.String())
		}
		if len(want.Groups()) < 2 {
			t.Fatalf("%+v: only %d groups", o, len(want.Groups()))
		}
	}
}

// TestSkimAgreesWithParse holds Sum.skim to the parser: a line it reads
// and the parser accepts is tallied as addRecord tallies the parsed
// record, and a line damaged where the sum looks (the timestamp, the
// frame, a value it tallies) is left to the parser whenever the parser
// rejects it. Every published message and sample line is tried, and
// single-byte mutations of every 25th. The skims share one memo
// (Sum.memo), as the lines of a log do.
func TestSkimAgreesWithParse(t *testing.T) {
	lines := append(publishedLines(t), s3Line,
		[]byte(`2024-05-01T00:00:00.000000 [AUDT:[S3BK(CSTR):"b"][S3KY(CSTR):"[TIME(UI64):9]"][TIME(UI64):7][CSIZ(UI32):12][ATYP(FC32):SPUT]]`),
		[]byte(`2024-05-01T00:00:00.000000 [AUDT:[WCON(CSTR):"c"][WOBJ(CSTR):"o"][TIME(UI64):0x10][ATYP(FC32):WGET][ATYP(FC32):SPUT]]`))
	used := map[string]bool{"ATYP": true, "SAIP": true, "S3BK": true, "S3KY": true, "WCON": true, "WOBJ": true, "PATH": true, "TIME": true, "CSIZ": true}
	var read, readClean, parsed, mutations, declined int
	for _, o := range []SumOptions{{Long: 3}, {Size: true, ByBucket: true}} {
		mem := new(memo)
		try := func(l []byte, usedAt func(int) bool, at int) {
			skimmed, full := NewSum(o), NewSum(o)
			skimmed.memo = mem
			ok, matched := skimmed.skim(l)
			var r record
			err := r.parseLine(l)
			if err == nil {
				full.addRecord(&r)
				parsed++
			}
			switch {
			case ok && !matched:
				t.Fatalf("%q: not matched without a type filter", l)
			case ok && err == nil && fmt.Sprint(skimmed.Groups()) != fmt.Sprint(full.Groups()):
				t.Fatalf("%q:\nskim  %+v\nparse %+v", l, skimmed.Groups(), full.Groups())
			case ok && err != nil && usedAt(at):
				t.Fatalf("%q: read, where the parser says %v", l, err)
			case !ok && err != nil:
				declined++
			case ok:
				read++
			}
		}
		for k, l := range lines {
			var r record
			if r.parseLine(l) != nil {
				try(l, func(int) bool { return true }, 0)
				continue
			}
			// The bytes the sum looks at: the timestamp and frame, and
			// the attributes it tallies, brackets included.
			in := make([]bool, len(l)+1)
			for i := 0; i < int(r.ts.hi)+len(" [AUDT:[") && i < len(l); i++ {
				in[i] = true
			}
			in[len(l)-1], in[len(l)-2] = true, true
			for _, f := range r.fields {
				if used[string(r.bytes(f.name))] {
					for i := int(f.name.lo) - 1; i <= int(f.val.hi)+1 && i < len(l); i++ {
						in[i] = true
					}
				}
			}
			before := read
			try(l, func(i int) bool { return in[i] }, 0)
			readClean += read - before
			if k%25 != 0 {
				continue
			}
			for i := range l {
				for _, c := range []byte(` "\]()[:xA0` + "\t") {
					m := bytes.Clone(l)
					m[i] = c
					try(m, func(int) bool { return in[i] }, i)
					mutations++
				}
			}
		}
	}
	// Most published lines are as the grid writes them; the rest (no
	// timestamp, unquoted strings, escapes) go to the parser.
	if readClean < 2*len(lines)*3/4 || declined == 0 {
		t.Fatalf("of %d lines (twice), skim read %d; of %d mutations it declined %d", len(lines), readClean, mutations, declined)
	}
	t.Logf("%d lines (twice): skim read %d; %d mutations: declined %d the parser rejects", len(lines), readClean, mutations, declined)
}
