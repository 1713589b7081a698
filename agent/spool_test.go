package agent

import (
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func recs(epoch int64, from, n uint64, droppable bool) []Record {
	out := make([]Record, n)
	for i := range out {
		seq := from + uint64(i)
		out[i] = Record{Epoch: epoch, Seq: seq, Droppable: droppable, Data: fmt.Appendf(nil, `{"seq":%d}`, seq)}
	}
	return out
}

func seqs(rs []Record) []uint64 {
	out := make([]uint64, len(rs))
	for i, r := range rs {
		out[i] = r.Seq
	}
	return out
}

func TestSpoolAppendPendingAckAndReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSpool(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append(recs(7, 1, 10, false)); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(7, 4); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Pending(100)
	if fmt.Sprint(seqs(got)) != "[5 6 7 8 9 10]" || string(got[0].Data) != `{"seq":5}` {
		t.Fatalf("pending after ack: %v", seqs(got))
	}
	// A restart resumes from disk with the same view.
	s2, err := OpenSpool(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = s2.Pending(3)
	if fmt.Sprint(seqs(got)) != "[5 6 7]" {
		t.Fatalf("pending after reopen: %v", seqs(got))
	}
	if st := s2.Stats(); st.Records != 6 {
		t.Fatalf("stats %+v", st)
	}
	// A new epoch sorts after the old one.
	if err := s2.Append(recs(8, 1, 2, false)); err != nil {
		t.Fatal(err)
	}
	if err := s2.Ack(7, 10); err != nil {
		t.Fatal(err)
	}
	got, _ = s2.Pending(100)
	if len(got) != 2 || got[0].Epoch != 8 {
		t.Fatalf("new epoch: %+v", got)
	}
}

func TestSpoolCutsTornTail(t *testing.T) {
	dir := t.TempDir()
	s, _ := OpenSpool(dir, 1<<20)
	if err := s.Append(recs(1, 1, 3, false)); err != nil {
		t.Fatal(err)
	}
	seg := s.segs[0].path
	f, _ := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
	f.Write(appendFrame(nil, Record{Epoch: 1, Seq: 4, Data: []byte("torn record")})[:20])
	f.Close()
	s2, err := OpenSpool(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s2.Pending(10)
	if fmt.Sprint(seqs(got)) != "[1 2 3]" {
		t.Fatalf("after torn tail: %v", seqs(got))
	}
	// Appending after the cut yields readable records again.
	if err := s2.Append(recs(1, 4, 1, false)); err != nil {
		t.Fatal(err)
	}
	got, _ = s2.Pending(10)
	if fmt.Sprint(seqs(got)) != "[1 2 3 4]" {
		t.Fatalf("after append: %v", seqs(got))
	}
}

func TestSpoolFullDropsOldestMetricsOnly(t *testing.T) {
	dir := t.TempDir()
	s, _ := OpenSpool(dir, 64<<10)
	seq := uint64(1)
	var durable []uint64
	for i := 0; i < 200; i++ {
		metric := i%4 != 0
		r := recs(1, seq, 1, metric)
		r[0].Data = make([]byte, 1000)
		if !metric {
			durable = append(durable, seq)
		}
		if err := s.Append(r); err != nil {
			t.Fatal(err)
		}
		seq++
	}
	st := s.Stats()
	if st.Dropped == 0 {
		t.Fatalf("nothing dropped: %+v", st)
	}
	got, _ := s.Pending(1000)
	have := map[uint64]bool{}
	for _, r := range got {
		have[r.Seq] = true
	}
	for _, d := range durable {
		if !have[d] {
			t.Fatalf("durable record %d was dropped", d)
		}
	}
	// The newest samples survive; the oldest went first.
	if !have[seq-1] || have[2] {
		t.Fatalf("drop order wrong: newest kept=%v oldest kept=%v", have[seq-1], have[2])
	}
	if int64(len(got))+st.Dropped != 200 {
		t.Fatalf("%d pending + %d dropped != 200", len(got), st.Dropped)
	}
}

func TestSpoolRejectsMalformedAckMark(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ackFile), []byte("garbage"), 0o600)
	if _, err := OpenSpool(dir, 1<<20); err == nil {
		t.Fatal("malformed ack mark accepted")
	}
}

// TestSpoolSurvivesSIGKILL kills a writer process in the middle of its
// batches: every batch it reported as appended must be readable after a
// reopen, and no record may be corrupt or out of order.
func TestSpoolSurvivesSIGKILL(t *testing.T) {
	if os.Getenv("SPOOL_WRITER_DIR") != "" {
		spoolWriter(os.Getenv("SPOOL_WRITER_DIR"))
		return
	}
	for run := 0; run < 15; run++ {
		dir := t.TempDir()
		cmd := exec.Command(os.Args[0], "-test.run=^TestSpoolSurvivesSIGKILL$")
		cmd.Env = append(os.Environ(), "SPOOL_WRITER_DIR="+dir)
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(20+rand.Intn(80)) * time.Millisecond)
		cmd.Process.Kill()
		b := make([]byte, 1<<20)
		n, _ := readAll(out, b)
		cmd.Wait()
		confirmed := lastConfirmed(b[:n])
		s, err := OpenSpool(dir, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Pending(1 << 30)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range got {
			if r.Seq != uint64(i+1) || string(r.Data) != fmt.Sprintf(`{"seq":%d}`, r.Seq) {
				t.Fatalf("run %d: record %d is seq %d %q", run, i, r.Seq, r.Data)
			}
		}
		if uint64(len(got)) < confirmed {
			t.Fatalf("run %d: %d records survived, %d were confirmed", run, len(got), confirmed)
		}
	}
}

func spoolWriter(dir string) {
	s, err := OpenSpool(dir, 1<<30)
	if err != nil {
		os.Exit(1)
	}
	for seq := uint64(1); ; seq += 50 {
		if err := s.Append(recs(1, seq, 50, seq%100 == 1)); err != nil {
			os.Exit(1)
		}
		fmt.Println(seq + 49)
	}
}

func readAll(r interface{ Read([]byte) (int, error) }, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func lastConfirmed(out []byte) uint64 {
	var last uint64
	start := 0
	for i, c := range out {
		if c == '\n' {
			if v, err := strconv.ParseUint(string(out[start:i]), 10, 64); err == nil {
				last = v
			}
			start = i + 1
		}
	}
	return last
}

// A byte flipped anywhere in one record in the middle of a segment (its
// length, checksum, flags, epoch, seq or data) costs that record alone:
// every record after it is kept, in order, and the damage is counted.
func TestSpoolSkipsADamagedRecordAlone(t *testing.T) {
	frame := len(appendFrame(nil, recs(1, 40, 1, false)[0]))
	for at := 0; at < frame; at++ {
		dir := t.TempDir()
		s, _ := OpenSpool(dir, 1<<20)
		if err := s.Append(recs(1, 1, 100, false)); err != nil {
			t.Fatal(err)
		}
		seg := s.segs[0].path
		b, _ := os.ReadFile(seg)
		start := 0 // record 40's offset: the 39 frames before it
		for _, r := range recs(1, 1, 39, false) {
			start += len(appendFrame(nil, r))
		}
		b[start+at] ^= 0x40
		if err := os.WriteFile(seg, b, 0o600); err != nil {
			t.Fatal(err)
		}
		s2, err := OpenSpool(dir, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := s2.Pending(200)
		want := append(seqs(recs(1, 1, 39, false)), seqs(recs(1, 41, 60, false))...)
		if fmt.Sprint(seqs(got)) != fmt.Sprint(want) || s2.Stats().Damaged != 1 || s2.Stats().Records != 99 {
			t.Fatalf("byte %d of record 40 flipped: got %d records %v, damaged %d", at, len(got), seqs(got), s2.Stats().Damaged)
		}
		// Appending and acknowledging go on as usual.
		if err := s2.Append(recs(1, 101, 1, false)); err != nil {
			t.Fatal(err)
		}
		if err := s2.Ack(1, 100); err != nil {
			t.Fatal(err)
		}
		if got, _ := s2.Pending(10); fmt.Sprint(seqs(got)) != "[101]" {
			t.Fatalf("byte %d: after the ack: %v", at, seqs(got))
		}
	}
}

// The ack position is kept per segment and moved incrementally; checked
// against a plain list through random appends, acks and reopens over
// small segments: Pending and the record count always agree with it.
func TestSpoolAckPositionsAgreeWithAList(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	dir := t.TempDir()
	s, err := OpenSpool(dir, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	s.segBytes = 700 // a few records a segment
	var want []uint64
	next := uint64(1)
	for step := 0; step < 2000; step++ {
		switch op := rng.Intn(10); {
		case op < 5:
			n := uint64(1 + rng.Intn(8))
			if err := s.Append(recs(1, next, n, false)); err != nil {
				t.Fatal(err)
			}
			for i := uint64(0); i < n; i++ {
				want = append(want, next+i)
			}
			next += n
		case op < 9 && len(want) > 0:
			k := rng.Intn(len(want))
			if err := s.Ack(1, want[k]); err != nil {
				t.Fatal(err)
			}
			want = want[k+1:]
		case op == 9:
			if s, err = OpenSpool(dir, 1<<30); err != nil {
				t.Fatal(err)
			}
			s.segBytes = 700
		}
		got, err := s.Pending(1 << 20)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(seqs(got)) != fmt.Sprint(want) || s.Stats().Records != int64(len(want)) {
			t.Fatalf("step %d: pending %v (count %d), want %v", step, seqs(got), s.Stats().Records, want)
		}
	}
}
