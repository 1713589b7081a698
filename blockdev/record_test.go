package blockdev

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/internal/hostpath"
	"github.com/storagegrid/storagegrid/internal/looptest"
)

// eachDevice runs f on a loop device reached through a /dev/mapper name
// and on a regular file of the same size.
func eachDevice(t *testing.T, size int64, f func(t *testing.T, d Device)) {
	t.Run("loop", func(t *testing.T) {
		loop := looptest.Attach(t, size)
		root := hostpath.Root(t.TempDir())
		link(t, root, varLocal, loop)
		f(t, mustProbe(t, varLocal, Options{Root: root}))
	})
	t.Run("file", func(t *testing.T) {
		root := hostpath.Root(t.TempDir())
		sparseFile(t, root, varLocal, size)
		f(t, mustProbe(t, varLocal, Options{Root: root, AllowFiles: true}))
	})
}

func rawRead(t testing.TB, d Device, off int64, n int) []byte {
	t.Helper()
	f, err := os.Open(d.real)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	return b
}

func rawWrite(t testing.TB, d Device, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(d.real, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

func flipByte(t testing.TB, d Device, off int64) {
	t.Helper()
	b := rawRead(t, d, off, 1)
	rawWrite(t, d, off, []byte{b[0] ^ 0x5a})
}

func mustWrite(t testing.TB, d Device, r Record) Record {
	t.Helper()
	w, err := d.WriteRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func mustRead(t testing.TB, d Device) Record {
	t.Helper()
	r, err := d.ReadRecord()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func sampleRecord(state State, config string) Record {
	return Record{Node: "DC1-S3", HostUUID: testHost, State: state, Config: []byte(config)}
}

const sampleConf = "NODE_TYPE = VM_Storage_Node\nBLOCK_DEVICE_VAR_LOCAL = /dev/mapper/sgws-dc1-s3-var-local\n"

func TestRecordRoundTripAlternatesSlots(t *testing.T) {
	eachDevice(t, 3<<20, func(t *testing.T, d Device) {
		when := time.Date(2025, 3, 1, 12, 30, 0, 123456789, time.FixedZone("x", 3600))
		states := []State{Active, CleanlyStopped, Exported, Active}
		for i, st := range states {
			in := sampleRecord(st, fmt.Sprintf("%s# write %d\n", sampleConf, i))
			in.Time = when.Add(time.Duration(i) * time.Minute)
			in.HostUUID = "6BA7B810-9DAD-41D1-80B4-00C04FD430C8" // normalised on write
			w := mustWrite(t, d, in)
			if w.Generation != uint64(i+1) || w.Slot != i%2 || w.Version != 1 {
				t.Fatalf("write %d: generation %d slot %d version %d", i, w.Generation, w.Slot, w.Version)
			}
			got := mustRead(t, d)
			if got.Node != "DC1-S3" || got.HostUUID != testHost || got.State != st ||
				!got.Time.Equal(in.Time) || !bytes.Equal(got.Config, in.Config) ||
				got.Generation != w.Generation || got.Slot != w.Slot {
				t.Fatalf("read %+v, wrote %+v", got, w)
			}
		}
		slots, err := d.Inspect()
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range slots {
			if s.Status != SlotValid || s.Record.Generation != uint64(i+3) {
				t.Errorf("slot %d: %s generation %d, err %v", i, s.Status, s.Record.Generation, s.Err)
			}
		}
	})
}

func TestZeroTimeIsNow(t *testing.T) {
	root := hostpath.Root(t.TempDir())
	d := mustProbe(t, sparseFile(t, root, "/f", 1<<20), Options{Root: root, AllowFiles: true})
	before := time.Now()
	w := mustWrite(t, d, sampleRecord(Active, ""))
	if w.Time.Before(before.Add(-time.Second)) || w.Time.After(time.Now()) {
		t.Fatalf("time %v, written at %v", w.Time, before)
	}
	if got := mustRead(t, d); !got.Time.Equal(w.Time) || len(got.Config) != 0 {
		t.Fatalf("read %+v", got)
	}
}

// TestOnDiskLayout pins the layout the package comment documents, so the
// comment cannot drift from the code.
func TestOnDiskLayout(t *testing.T) {
	const size = 3<<20 + 5000 // not a multiple of 4096: the region is aligned down
	root := hostpath.Root(t.TempDir())
	d := mustProbe(t, sparseFile(t, root, "/img", size), Options{Root: root, AllowFiles: true})
	when := time.Unix(1700000000, 42)
	r := sampleRecord(Exported, sampleConf)
	r.Time = when
	mustWrite(t, d, r)
	mustWrite(t, d, r)

	regionAt := int64(2<<20 + 4096)
	le := binary.LittleEndian
	for slot := int64(0); slot < 2; slot++ {
		b := rawRead(t, d, regionAt+slot*524288, 152+len(sampleConf))
		c := uint32(len(sampleConf))
		checks := []struct {
			field     string
			got, want any
		}{
			{"magic", string(b[0:8]), "SGNODREC"},
			{"version", le.Uint32(b[8:]), uint32(1)},
			{"body length", le.Uint32(b[12:]), 104 + c},
			{"generation", le.Uint64(b[48:]), uint64(slot + 1)},
			{"time", int64(le.Uint64(b[56:])), when.UnixNano()},
			{"host", fmt.Sprintf("%x", b[64:80]), "6ba7b8109dad41d180b400c04fd430c8"},
			{"state", b[80], byte(3)},
			{"name length", b[81], byte(6)},
			{"reserved", le.Uint16(b[82:]), uint16(0)},
			{"config length", le.Uint32(b[84:]), c},
			{"name", string(bytes.TrimRight(b[88:152], "\x00")), "DC1-S3"},
			{"config", string(b[152:]), sampleConf},
		}
		for _, ch := range checks {
			if ch.got != ch.want {
				t.Errorf("slot %d %s = %v, want %v", slot, ch.field, ch.got, ch.want)
			}
		}
		sum := checksum(b)
		if !bytes.Equal(sum[:], b[16:48]) {
			t.Errorf("slot %d: checksum field is not SHA-256 of [0,16)+[48,48+L)", slot)
		}
	}
}

func TestFlippedByteFallsBackToTheOlderSlot(t *testing.T) {
	eachDevice(t, 2<<20, func(t *testing.T, d Device) {
		older := mustWrite(t, d, sampleRecord(Active, sampleConf))
		newer := mustWrite(t, d, sampleRecord(Exported, sampleConf+"# exported\n"))
		slots, err := d.Inspect()
		if err != nil {
			t.Fatal(err)
		}
		// Damage in any covered field, including the version and the
		// checksum itself, is damage, not a newer format.
		for _, off := range []int64{3, 9, 13, 20, 50, 81, 100, 160} {
			t.Run(fmt.Sprint("offset ", off), func(t *testing.T) {
				at := slots[newer.Slot].Offset + off
				flipByte(t, d, at)
				defer flipByte(t, d, at)
				got := mustRead(t, d)
				if got.Generation != older.Generation || got.State != Active {
					t.Fatalf("read generation %d state %v, want the older record %d", got.Generation, got.State, older.Generation)
				}
				s, err := d.Inspect()
				if err != nil {
					t.Fatal(err)
				}
				if off < 8 {
					if s[newer.Slot].Status != SlotEmpty {
						t.Fatalf("damaged magic: slot %s", s[newer.Slot].Status)
					}
					return
				}
				if s[newer.Slot].Status != SlotCorrupt || s[newer.Slot].Err == nil {
					t.Fatalf("damaged slot reported as %s (%v)", s[newer.Slot].Status, s[newer.Slot].Err)
				}
			})
		}

		// Both slots damaged: refuse, naming the device and both slots.
		flipByte(t, d, slots[0].Offset+200)
		flipByte(t, d, slots[1].Offset+200)
		_, err = d.ReadRecord()
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("both damaged: %v, want ErrCorrupt", err)
		}
		wantErr(t, err, "corrupt storagegrid node record on "+varLocal, "slot 0: checksum mismatch", "slot 1: checksum mismatch")

		// One repaired: it is read again, and the next write replaces the
		// damaged one with the next generation.
		flipByte(t, d, slots[older.Slot].Offset+200)
		w := mustWrite(t, d, sampleRecord(CleanlyStopped, sampleConf))
		if w.Slot != newer.Slot || w.Generation != older.Generation+1 {
			t.Fatalf("write over damaged slot: slot %d generation %d", w.Slot, w.Generation)
		}
		if got := mustRead(t, d); got.Generation != w.Generation || got.State != CleanlyStopped {
			t.Fatalf("read %+v", got)
		}
	})
}

// TestTornWriteLeavesThePreviousRecord writes only part of a new slot, as
// a crash would, at several cut points.
func TestTornWriteLeavesThePreviousRecord(t *testing.T) {
	eachDevice(t, 2<<20, func(t *testing.T, d Device) {
		mustWrite(t, d, sampleRecord(Active, "first\n"))
		prev := mustWrite(t, d, sampleRecord(CleanlyStopped, "second\n"))
		slots, err := d.Inspect()
		if err != nil {
			t.Fatal(err)
		}
		target := slots[1-prev.Slot]
		next := sampleRecord(Exported, string(bytes.Repeat([]byte("third\n"), 3000)))
		next.Version, next.Generation, next.Time = 1, prev.Generation+1, time.Now()
		full := make([]byte, roundUp(configOff+len(next.Config), alignment))
		host, _ := d.checkRecord(next)
		encodeSlot(full, next, host, nil)
		before := rawRead(t, d, target.Offset, len(full))
		for _, cut := range []int{1, 47, 152, 4096, 8192, len(full) - 1} {
			for _, part := range []struct {
				name     string
				off, end int
			}{{"head", 0, cut}, {"tail", cut, len(full)}} {
				if bytes.Equal(before[part.off:part.end], full[part.off:part.end]) ||
					bytes.Equal(before[:part.off], full[:part.off]) && bytes.Equal(before[part.end:], full[part.end:]) {
					continue // the "torn" write would be no write or a whole one
				}
				rawWrite(t, d, target.Offset+int64(part.off), full[part.off:part.end])
				got := mustRead(t, d)
				if got.Generation != prev.Generation || string(got.Config) != "second\n" {
					t.Fatalf("%s up to %d landed: read generation %d", part.name, cut, got.Generation)
				}
				rawWrite(t, d, target.Offset, before)
			}
		}
		rawWrite(t, d, target.Offset, full)
		if got := mustRead(t, d); got.Generation != next.Generation {
			t.Fatalf("whole slot landed: read generation %d", got.Generation)
		}
	})
}

// TestMigrationNote: a record with a migration note is format 2 and reads
// back with its note; the next record without one is format 1 again, and
// a note too large for the record is refused with nothing written.
func TestMigrationNote(t *testing.T) {
	eachDevice(t, 2<<20, func(t *testing.T, d Device) {
		in := sampleRecord(Exported, sampleConf)
		in.Migration = &Migration{From: "host1", FromUUID: testHost, To: "host2",
			Command: "storagegrid node migrate DC1-S3 --to host2", Started: time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)}
		w := mustWrite(t, d, in)
		if w.Version != 2 {
			t.Fatalf("record with a note written as format %d", w.Version)
		}
		got := mustRead(t, d)
		if got.Migration == nil || *got.Migration != *in.Migration || !bytes.Equal(got.Config, in.Config) || got.Version != 2 {
			t.Fatalf("read %+v (note %+v)", got, got.Migration)
		}
		// The note is covered by the checksum: a flipped byte in it makes
		// the slot damaged, and the previous record is read instead.
		slots, _ := d.Inspect()
		at := slots[w.Slot].Offset + configOff + int64(len(sampleConf)) + noteLenSize + 3
		b := rawRead(t, d, at&^(alignment-1), alignment)
		b[at%alignment] ^= 0x20
		rawWrite(t, d, at&^(alignment-1), b)
		if slots, _ := d.Inspect(); slots[w.Slot].Status != SlotCorrupt {
			t.Fatalf("flipped note byte: slot %s", slots[w.Slot].Status)
		}
		rawWrite(t, d, at&^(alignment-1), func() []byte { b[at%alignment] ^= 0x20; return b }())

		plain := mustWrite(t, d, sampleRecord(CleanlyStopped, sampleConf))
		if got := mustRead(t, d); plain.Version != 1 || got.Migration != nil || got.Version != 1 {
			t.Fatalf("record without a note: wrote format %d, read %+v", plain.Version, got)
		}
		big := sampleRecord(Exported, sampleConf)
		big.Migration = &Migration{Command: strings.Repeat("x", MaxNoteSize)}
		region := rawRead(t, d, regionStart(d.Size), RegionSize)
		if _, err := d.WriteRecord(big); err == nil || !strings.Contains(err.Error(), "migration note of") {
			t.Fatalf("oversized note: %v", err)
		}
		if !bytes.Equal(region, rawRead(t, d, regionStart(d.Size), RegionSize)) {
			t.Fatal("refused write changed the device")
		}
	})
}

func TestNoRecord(t *testing.T) {
	eachDevice(t, 2<<20, func(t *testing.T, d Device) {
		_, err := d.ReadRecord()
		if !errors.Is(err, ErrNoRecord) || err.Error() != "no storagegrid node record on "+varLocal {
			t.Fatalf("zeroed device: %v", err)
		}
		// Leftover data that never was a record is still no record.
		junk := bytes.Repeat([]byte("filesystem data "), RegionSize/16)
		rawWrite(t, d, regionStart(d.Size), junk)
		if _, err := d.ReadRecord(); !errors.Is(err, ErrNoRecord) {
			t.Fatalf("device with other data: %v", err)
		}
	})
}

func TestNewerFormatIsRefused(t *testing.T) {
	eachDevice(t, 2<<20, func(t *testing.T, d Device) {
		mustWrite(t, d, sampleRecord(Active, sampleConf))
		w := mustWrite(t, d, sampleRecord(Exported, sampleConf))
		slots, _ := d.Inspect()
		// What a future writer would leave: version 3, intact checksum.
		at := slots[w.Slot].Offset
		b := rawRead(t, d, at, configOff+len(sampleConf))
		binary.LittleEndian.PutUint32(b[offVersion:], 3)
		sum := checksum(b)
		copy(b[offSum:], sum[:])
		rawWrite(t, d, at, b)
		region := rawRead(t, d, regionStart(d.Size), RegionSize)

		_, err := d.ReadRecord()
		if !errors.Is(err, ErrNewerVersion) {
			t.Fatalf("read: %v, want ErrNewerVersion", err)
		}
		wantErr(t, err, varLocal, "newer storagegrid", "format version 3")
		_, err = d.WriteRecord(sampleRecord(Active, sampleConf))
		if !errors.Is(err, ErrNewerVersion) {
			t.Fatalf("write: %v, want ErrNewerVersion", err)
		}
		if !bytes.Equal(region, rawRead(t, d, regionStart(d.Size), RegionSize)) {
			t.Fatal("refused write changed the device")
		}
	})
}

func TestTooSmallDevice(t *testing.T) {
	eachDevice(t, 512<<10, func(t *testing.T, d Device) {
		_, err := d.ReadRecord()
		if !errors.Is(err, ErrTooSmall) {
			t.Fatalf("read: %v", err)
		}
		wantErr(t, err, varLocal+" is too small for the node record: need at least 1048576 bytes, found 524288")
		_, err = d.WriteRecord(sampleRecord(Active, sampleConf))
		if !errors.Is(err, ErrTooSmall) {
			t.Fatalf("write: %v", err)
		}
	})
	root := hostpath.Root(t.TempDir())
	d := mustProbe(t, sparseFile(t, root, "/img", RegionSize-1), Options{Root: root, AllowFiles: true})
	if _, err := d.WriteRecord(sampleRecord(Active, "")); !errors.Is(err, ErrTooSmall) {
		t.Fatalf("one byte short: %v", err)
	}
	d = mustProbe(t, sparseFile(t, root, "/exact", RegionSize), Options{Root: root, AllowFiles: true})
	mustWrite(t, d, sampleRecord(Active, ""))
	mustWrite(t, d, sampleRecord(Exported, ""))
	if got := mustRead(t, d); got.Generation != 2 {
		t.Fatalf("exactly 1 MiB: generation %d", got.Generation)
	}
}

func TestConfigSizeLimit(t *testing.T) {
	eachDevice(t, 2<<20, func(t *testing.T, d Device) {
		biggest := bytes.Repeat([]byte{'x'}, MaxConfigSize)
		mustWrite(t, d, sampleRecord(Active, string(biggest)))
		if got := mustRead(t, d); !bytes.Equal(got.Config, biggest) {
			t.Fatalf("largest config read back as %d bytes", len(got.Config))
		}
		region := rawRead(t, d, regionStart(d.Size), RegionSize)
		_, err := d.WriteRecord(sampleRecord(Exported, string(biggest)+"y"))
		if !errors.Is(err, ErrConfigTooLarge) {
			t.Fatalf("oversized config: %v", err)
		}
		wantErr(t, err, varLocal, "DC1-S3", fmt.Sprint(MaxConfigSize+1), fmt.Sprint(MaxConfigSize))
		if !bytes.Equal(region, rawRead(t, d, regionStart(d.Size), RegionSize)) {
			t.Fatal("refused write changed the device")
		}
	})
}

func TestInvalidRecordChangesNothing(t *testing.T) {
	root := hostpath.Root(t.TempDir())
	d := mustProbe(t, sparseFile(t, root, varLocal, 2<<20), Options{Root: root, AllowFiles: true})
	mustWrite(t, d, sampleRecord(Active, sampleConf))
	region := rawRead(t, d, regionStart(d.Size), RegionSize)
	bad := map[string]func(*Record){
		"empty node":     func(r *Record) { r.Node = "" },
		"long node":      func(r *Record) { r.Node = string(bytes.Repeat([]byte("n"), MaxNodeName+1)) },
		"node with path": func(r *Record) { r.Node = "../DC1-S3" },
		"host uuid":      func(r *Record) { r.HostUUID = "not-a-uuid" },
		"state zero":     func(r *Record) { r.State = 0 },
		"state unknown":  func(r *Record) { r.State = 9 },
	}
	for name, mutate := range bad {
		r := sampleRecord(Exported, sampleConf)
		mutate(&r)
		if _, err := d.WriteRecord(r); err == nil || !bytes.Contains([]byte(err.Error()), []byte(varLocal)) {
			t.Errorf("%s: err %v, want an error naming %s", name, err, varLocal)
		}
	}
	if !bytes.Equal(region, rawRead(t, d, regionStart(d.Size), RegionSize)) {
		t.Fatal("refused writes changed the device")
	}
}

// WriteRecordIf decides on the newest record it reads and places the new
// one in the other slot, from that one read; a refusal or a read that
// outran the deadline writes nothing.
func TestWriteRecordIf(t *testing.T) {
	eachDevice(t, 3<<20, func(t *testing.T, d Device) {
		var saw []string
		check := func(newest Record, found bool, readErr error) error {
			saw = append(saw, fmt.Sprintf("%t %s %v", found, newest.State, readErr))
			return nil
		}
		first, prev, err := d.WriteRecordIf(sampleRecord(Exported, sampleConf), time.Second, check)
		if err != nil || first.Generation != 1 || prev.Generation != 0 {
			t.Fatalf("first: %+v, prev %+v, %v", first, prev, err)
		}
		second, prev, err := d.WriteRecordIf(sampleRecord(Active, sampleConf), time.Second, check)
		if err != nil || second.Generation != 2 || second.Slot == first.Slot || prev.Generation != 1 || prev.State != Exported {
			t.Fatalf("second: %+v, prev %+v, %v", second, prev, err)
		}
		if strings.Join(saw, "|") != "false unknown state 0 <nil>|true exported <nil>" {
			t.Fatalf("check saw %q", saw)
		}
		refused := errors.New("not yours")
		if _, _, err := d.WriteRecordIf(sampleRecord(CleanlyStopped, sampleConf), time.Second,
			func(Record, bool, error) error { return refused }); !errors.Is(err, refused) {
			t.Fatalf("refusal: %v", err)
		}
		slow := func(Record, bool, error) error { time.Sleep(20 * time.Millisecond); return nil }
		if _, _, err := d.WriteRecordIf(sampleRecord(CleanlyStopped, sampleConf), 5*time.Millisecond, slow); !errors.Is(err, ErrSlow) {
			t.Fatalf("slow: %v", err)
		}
		if got := mustRead(t, d); got.Generation != 2 || got.State != Active {
			t.Fatalf("a refused or slow write changed the record: %+v", got)
		}
		// A device whose slots are both damaged reads as corrupt.
		slots, _ := d.Inspect()
		flipByte(t, d, slots[0].Offset+200)
		flipByte(t, d, slots[1].Offset+200)
		var readErr error
		d.WriteRecordIf(sampleRecord(Active, sampleConf), time.Second, func(_ Record, _ bool, err error) error {
			readErr = err
			return err
		})
		if !errors.Is(readErr, ErrCorrupt) {
			t.Fatalf("check got %v, want ErrCorrupt", readErr)
		}
	})
}
