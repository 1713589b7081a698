package archive

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/archive/adesim"
)

// BenchmarkConsoleCancel measures one cancel exchange with the simulated
// console over loopback: the floor on how fast a recovery can go.
func BenchmarkConsoleCancel(b *testing.B) {
	s, err := adesim.Start("127.0.0.1:0", adesim.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c, err := Dial(context.Background(), testOptions(s.Addr(), 10*time.Second))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	for b.Loop() {
		if _, err := Cancel(ctx, c, "498D8A1F681F05B3"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseActlog parses an activity log of 10,000 wrapped entries.
func BenchmarkParseActlog(b *testing.B) {
	entry := `12/21/2008 05:39:15 ANR0548W Retrieve or restore
failed for session 9139359 for node DEV-ARC-20 (Bicast ARC)
processing file space /19130020 4 for file /20081002/
498D8A1F681F05B3 stored as Archive - data
integrity error detected. (SESSION: 9139359)
`
	log := strings.Repeat(entry, 10000)
	b.SetBytes(int64(len(log)))
	for b.Loop() {
		if n := len(ParseActlog(log)); n != 10000 {
			b.Fatalf("%d entries", n)
		}
	}
}
