package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2024, 6, 10, 6, 13, 20, 0, time.UTC)

func ev(seq uint64, op Op, kind Kind, id string, fields map[string]string) Event {
	return Event{Host: "h1", Epoch: 7, Seq: seq, Time: t0.Add(time.Duration(seq) * time.Second),
		Op: op, Kind: kind, ID: id, Fields: fields}
}

func sample() *Batch {
	b := NewBatch("h1")
	b.Add(
		ev(1, OpSnapshot, KindHost, "h1", map[string]string{FieldMemoryBytes: "1024"}),
		ev(2, OpSnapshot, KindLink, "bond0.1001", map[string]string{FieldParent: "bond0", FieldVLANID: "1001"}),
		ev(3, OpSnapshotEnd, KindHost, "h1", map[string]string{FieldFirstSeq: "1"}),
		ev(4, OpChanged, KindLink, "bond0.1001", map[string]string{FieldMTU: "9000"}),
		ev(5, OpSample, KindMetric, MetricID("node_load1"), map[string]string{FieldValue: "0.5"}),
		ev(6, OpRemoved, KindLink, "bond0.1001", nil),
	)
	b.Events[3].Unset = []string{FieldVLANID}
	return b
}

func TestRoundTripGzip(t *testing.T) {
	in := sample()
	gz, err := Compress(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeBody(bytes.NewReader(gz), "gzip", DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if out.Header != (Header{Wire: Version, Host: "h1", Events: 6}) {
		t.Fatalf("header %+v", out.Header)
	}
	a, _ := json.Marshal(in.Events)
	b, _ := json.Marshal(out.Events)
	if !bytes.Equal(a, b) {
		t.Fatalf("events differ:\n%s\n%s", a, b)
	}
	if e, s := out.Last(); e != 7 || s != 6 {
		t.Fatalf("Last = %d, %d", e, s)
	}
}

func TestPlainNDJSONLayout(t *testing.T) {
	var buf bytes.Buffer
	if err := Encode(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 7 || lines[0] != `{"wire":2,"host":"h1","events":6}` {
		t.Fatalf("lines %q", lines)
	}
	if !strings.Contains(lines[4], `"unset":["vlan_id"]`) || strings.Contains(lines[6], `"fields"`) {
		t.Fatalf("event lines %q", lines[4:])
	}
}

// encodeRaw builds a plain body from a header line and event lines,
// bypassing Encode so that malformed input can be written.
func encodeRaw(header string, events ...string) string {
	return header + "\n" + strings.Join(events, "\n") + "\n"
}

func line(t *testing.T, e Event) string {
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDecodeRejects(t *testing.T) {
	good := ev(1, OpAdded, KindLink, "eth0", map[string]string{FieldMTU: "1500"})
	mod := func(f func(*Event)) Event { e := good; f(&e); return e }
	hdr := `{"wire":1,"host":"h1","events":1}`
	cases := []struct {
		name, body, want string
	}{
		{"empty", "", "empty batch"},
		{"not json", "hello\n", "line 1: header: malformed JSON"},
		{"version", `{"wire":3,"host":"h1","events":0}` + "\n", "unsupported wire version 3 (supported: 1, 2)"},
		{"neighbor in version 1", encodeRaw(`{"wire":1,"host":"h1","events":1}`, line(t, ev(1, OpAdded, KindNeighbor, NeighborID("eth0", "sw1", "Ethernet1/1"), map[string]string{FieldLink: "eth0"}))), `kind "neighbor" is not in wire version 1`},
		{"bad host", `{"wire":1,"host":"../x","events":0}` + "\n", `host id "../x"`},
		{"too many announced", `{"wire":1,"host":"h1","events":99999999}` + "\n", "limit 200000"},
		{"unknown header field", `{"wire":1,"host":"h1","events":0,"x":1}` + "\n", `unknown field "x"`},
		{"garbage line", encodeRaw(hdr, "{{{"), "line 2: malformed JSON"},
		{"unknown envelope field", encodeRaw(hdr, strings.Replace(line(t, good), `"op"`, `"colour":1,"op"`, 1)), `line 2: malformed JSON: json: unknown field "colour"`},
		{"other host", encodeRaw(hdr, line(t, mod(func(e *Event) { e.Host = "h2" }))), `host "h2" differs`},
		{"no seq", encodeRaw(hdr, line(t, mod(func(e *Event) { e.Seq = 0 }))), "must be positive"},
		{"no time", encodeRaw(hdr, line(t, mod(func(e *Event) { e.Time = time.Time{} }))), "missing time"},
		{"unknown kind", encodeRaw(hdr, line(t, mod(func(e *Event) { e.Kind = "switch" }))), `unknown kind "switch"`},
		{"unknown op", encodeRaw(hdr, line(t, mod(func(e *Event) { e.Op = "moved" }))), `unknown op "moved"`},
		{"empty id", encodeRaw(hdr, line(t, mod(func(e *Event) { e.ID = "" }))), "id must be 1 to"},
		{"control in id", encodeRaw(hdr, line(t, mod(func(e *Event) { e.ID = "a\tb" }))), "control character"},
		{"removal with fields", encodeRaw(hdr, line(t, mod(func(e *Event) { e.Op = OpRemoved }))), "carries no fields"},
		{"unset on added", encodeRaw(hdr, line(t, mod(func(e *Event) { e.Unset = []string{"x"} }))), "only allowed with op changed"},
		{"sample on link", encodeRaw(hdr, line(t, mod(func(e *Event) { e.Op = OpSample }))), "only for kind metric"},
		{"metric added", encodeRaw(hdr, line(t, mod(func(e *Event) { e.Kind = KindMetric }))), "only takes op sample"},
		{"sample not a number", encodeRaw(hdr, line(t, ev(1, OpSample, KindMetric, "m", map[string]string{FieldValue: "x"}))), `metric value "x"`},
		{"host entity of another id", encodeRaw(hdr, line(t, ev(1, OpAdded, KindHost, "h9", nil))), "host entity's id"},
		{"snapshot_end bad first", encodeRaw(hdr, line(t, ev(1, OpSnapshotEnd, KindHost, "h1", map[string]string{FieldFirstSeq: "5"}))), "first_seq"},
		{"truncated", encodeRaw(`{"wire":1,"host":"h1","events":2}`, line(t, good)), "truncated batch: 1 events of the header's 2"},
		{"extra", encodeRaw(hdr, line(t, good), line(t, mod(func(e *Event) { e.Seq = 2 }))), "more events than the header's 1"},
		{"out of order", encodeRaw(`{"wire":1,"host":"h1","events":2}`, line(t, mod(func(e *Event) { e.Seq = 5 })), line(t, mod(func(e *Event) { e.Seq = 5 }))), "increasing order"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := Decode(strings.NewReader(c.body), DefaultLimits)
			if err == nil {
				t.Fatalf("accepted: %+v", b)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestVersionErrorType(t *testing.T) {
	_, err := Decode(strings.NewReader(`{"wire":9,"host":"h1","events":0}`+"\n"), DefaultLimits)
	var ve *VersionError
	if !errors.As(err, &ve) || ve.Got != 9 {
		t.Fatalf("err = %v", err)
	}
}

func TestLimits(t *testing.T) {
	b := NewBatch("h1")
	for i := 1; i <= 2000; i++ {
		b.Add(ev(uint64(i), OpSample, KindMetric, fmt.Sprintf("m%d", i), map[string]string{FieldValue: "1"}))
	}
	gz, _ := Compress(b)
	var plain bytes.Buffer
	_ = Encode(&plain, b)

	tight := DefaultLimits
	tight.MaxBodyBytes = int64(len(gz)) - 1
	if _, err := DecodeBody(bytes.NewReader(gz), "gzip", tight); !errors.Is(err, ErrTooLarge) {
		t.Errorf("compressed over limit: %v", err)
	}
	tight.MaxBodyBytes = int64(len(gz))
	if _, err := DecodeBody(bytes.NewReader(gz), "gzip", tight); err != nil {
		t.Errorf("compressed at limit: %v", err)
	}
	bomb := DefaultLimits
	bomb.MaxDecodedBytes = int64(plain.Len()) / 2
	if _, err := DecodeBody(bytes.NewReader(gz), "gzip", bomb); !errors.Is(err, ErrTooLarge) {
		t.Errorf("decompressed over limit: %v", err)
	}
	short := DefaultLimits
	short.MaxLineBytes = 64
	if _, err := Decode(bytes.NewReader(plain.Bytes()), short); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "line 2: longer than 64 bytes") {
		t.Errorf("long line: %v", err)
	}
	few := DefaultLimits
	few.MaxEvents = 100
	if _, err := Decode(bytes.NewReader(plain.Bytes()), few); !errors.Is(err, ErrTooLarge) {
		t.Errorf("too many events: %v", err)
	}
}

func TestTruncatedAndCorruptGzip(t *testing.T) {
	gz, _ := Compress(sample())
	for _, cut := range []int{5, len(gz) / 2, len(gz) - 4} {
		_, err := DecodeBody(bytes.NewReader(gz[:cut]), "gzip", DefaultLimits)
		if err == nil || !strings.Contains(err.Error(), "gzip") {
			t.Fatalf("cut at %d of %d: %v", cut, len(gz), err)
		}
	}
	bad := bytes.Clone(gz)
	bad[len(bad)-6] ^= 0xff // CRC
	if _, err := DecodeBody(bytes.NewReader(bad), "gzip", DefaultLimits); err == nil {
		t.Fatal("bad CRC accepted")
	}
	if _, err := DecodeBody(strings.NewReader("plain text"), "gzip", DefaultLimits); err == nil || !strings.Contains(err.Error(), "gzip") {
		t.Fatalf("not gzip: %v", err)
	}
	if _, err := DecodeBody(bytes.NewReader(gz), "br", DefaultLimits); err == nil || !strings.Contains(err.Error(), `"br"`) {
		t.Fatalf("unknown encoding: %v", err)
	}
}

func TestIDs(t *testing.T) {
	if got := MetricID("node_disk_read_bytes_total", "device", "sdb", "x", `a"b`); got != `node_disk_read_bytes_total{device="sdb",x="a\"b"}` {
		t.Fatal(got)
	}
	if AddressID("bond0", "10.1.3.5/24") != "bond0/10.1.3.5/24" || RouteID(254, "default", 100, "bond0.1001", "10.1.0.1") != "254/default/100/bond0.1001/10.1.0.1" ||
		RouteID(254, "fe80::/64", 256, "eth0", "") != "254/fe80::/64/256/eth0/-" {
		t.Fatal("address or route id")
	}
	for _, bad := range []string{"", "-a", "a/b", "a b", "..", strings.Repeat("a", 254)} {
		if ValidHostID(bad) == nil {
			t.Errorf("host id %q accepted", bad)
		}
	}
	for _, good := range []string{"dc1-h1", "h.example.com", "9host_2"} {
		if err := ValidHostID(good); err != nil {
			t.Error(err)
		}
	}
}

func TestSendAndNegotiate(t *testing.T) {
	var got *Batch
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case VersionPath:
			_ = json.NewEncoder(w).Encode(VersionInfo{Wire: []int{1, 5}})
		case IngestPath:
			if r.Header.Get("Authorization") != "Bearer tok" {
				w.WriteHeader(http.StatusUnauthorized)
				_ = json.NewEncoder(w).Encode(ErrorBody{Error: "bad token"})
				return
			}
			b, err := DecodeBody(r.Body, r.Header.Get("Content-Encoding"), DefaultLimits)
			if err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			got = b
			e, s := b.Last()
			_ = json.NewEncoder(w).Encode(Ack{Host: b.Host, Epoch: e, Seq: s, Stored: len(b.Events)})
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	v, err := Negotiate(ctx, srv.Client(), srv.URL)
	if err != nil || v != 1 {
		t.Fatalf("Negotiate = %d, %v", v, err)
	}
	gz, _ := Compress(sample())
	ack, err := Send(ctx, srv.Client(), srv.URL+"/", "tok", gz)
	if err != nil || ack.Seq != 6 || ack.Stored != 6 || got == nil {
		t.Fatalf("Send = %+v, %v", ack, err)
	}
	_, err = Send(ctx, srv.Client(), srv.URL, "wrong", gz)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 401 || se.Message != "bad token" || se.Retryable() {
		t.Fatalf("refusal = %v", err)
	}
}

func TestNegotiateNoCommonVersion(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(VersionInfo{Wire: []int{3, 4}})
	}))
	defer srv.Close()
	if _, err := Negotiate(context.Background(), srv.Client(), srv.URL); err == nil || !strings.Contains(err.Error(), "reads wire versions [3 4]") {
		t.Fatalf("err = %v", err)
	}
}

func BenchmarkDecodeGzip(b *testing.B) {
	batch := NewBatch("h1")
	for i := 1; i <= 5000; i++ {
		batch.Add(ev(uint64(i), OpSample, KindMetric, MetricID("node_disk_read_bytes_total", "device", fmt.Sprintf("sd%d", i%50)), map[string]string{FieldValue: "12345"}))
	}
	gz, _ := Compress(batch)
	b.SetBytes(int64(len(gz)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := DecodeBody(bytes.NewReader(gz), "gzip", DefaultLimits); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*5000)/b.Elapsed().Seconds(), "events/s")
}
