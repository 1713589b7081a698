//go:build isal && cgo

package igzip

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
)

// oneByOne reads r in reads of random sizes, as scans and the tests of
// a reader's edges do.
func readAll(r io.Reader, rng *rand.Rand) ([]byte, error) {
	var out []byte
	buf := make([]byte, 1<<17)
	for {
		n, err := r.Read(buf[:1+rng.IntN(len(buf)-1)])
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

func gz(t *testing.T, data []byte, level int) []byte {
	var b bytes.Buffer
	w, err := gzip.NewWriterLevel(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// text is log-like data: lines of a few words, compressible as audit
// logs are, with some random bytes.
func text(rng *rand.Rand, n int) []byte {
	words := []string{"[AUDT:", "[ATYP(FC32):ARCE]", "[RSLT(FC32):SUCS]", "2024-05-01T00:00:18.229022", "\n", "x"}
	var b []byte
	for len(b) < n {
		if rng.IntN(10) == 0 {
			b = append(b, byte(rng.Uint32()))
		} else {
			b = append(b, words[rng.IntN(len(words))]...)
		}
	}
	return b[:n]
}

// TestReader reads whole files of one and of several members, with
// zero padding, against the data that went in; and damaged ones (cut
// short, a byte flipped, garbage after), from which it must return only
// what the data holds before the damage, then an *Error that says where.
func TestReader(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for round := range 300 {
		data := text(rng, rng.IntN(1<<19))
		file := gz(t, data, []int{1, 6, 9, gzip.HuffmanOnly}[round%4])
		want := data
		if round%5 == 1 { // another member
			more := text(rng, rng.IntN(1<<16))
			file = append(file, gz(t, more, 6)...)
			want = append(append([]byte{}, data...), more...)
		}
		if round%7 == 2 {
			file = append(file, make([]byte, rng.IntN(5000))...)
		}
		name := fmt.Sprintf("round %d (%d bytes in %d)", round, len(want), len(file))
		r, err := NewReader(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		got, err := readAll(r, rng)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: %d bytes, equal %v, error %v", name, len(got), bytes.Equal(got, want), err)
		}

		damaged := append([]byte{}, file...)
		var what string
		switch round % 3 {
		case 0:
			damaged = damaged[:rng.IntN(len(damaged))]
			what = "cut"
		case 1:
			damaged[10+rng.IntN(len(damaged)-10)] ^= byte(1 + rng.IntN(255))
			what = "flipped"
		case 2:
			damaged = append(damaged, "not gzip"...)
			what = "garbage"
		}
		r, _ = NewReader(bytes.NewReader(damaged))
		got, err = readAll(r, rng)
		var e *Error
		switch {
		case what == "garbage" && (!errors.As(err, &e) || !e.Garbage || !bytes.Equal(got, want)):
			t.Fatalf("%s, garbage after: %d bytes, error %v", name, len(got), err)
		case what == "cut" && (!bytes.HasPrefix(want, got) || err == nil && len(damaged) > 0 && !bytes.Equal(got, want)):
			t.Fatalf("%s, cut at %d: %d bytes, a prefix %v, error %v", name, len(damaged), len(got), bytes.HasPrefix(want, got), err)
		case err != nil && (!errors.As(err, &e) || e.Offset < 0 || e.Offset > int64(len(damaged))):
			t.Fatalf("%s, %s: error %v (%T)", name, what, err, err)
		}
	}
}

// TestNotGzip: gzip data starts with a member; nothing, zeros or text
// are an error at byte 0 (a scan reads a file as gzip only when it
// starts with the gzip magic).
func TestNotGzip(t *testing.T) {
	for _, in := range [][]byte{nil, make([]byte, 100), []byte("2024-05-01T00:00:18.229022 [AUDT:")} {
		r, _ := NewReader(bytes.NewReader(in))
		got, err := io.ReadAll(r)
		var e *Error
		if len(got) != 0 || !errors.As(err, &e) || e.Offset != 0 {
			t.Fatalf("%q: read %q, error %v", in, got, err)
		}
	}
}

func BenchmarkReader(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	data := text(rng, 8<<20)
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, 6)
	w.Write(data)
	w.Close()
	file := buf.Bytes()
	b.SetBytes(int64(len(data)))
	out := make([]byte, 256<<10)
	for b.Loop() {
		r, _ := NewReader(bytes.NewReader(file))
		for {
			if _, err := r.Read(out); err != nil {
				break
			}
		}
	}
}
