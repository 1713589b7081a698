package node

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/blockdev"
	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/internal/looptest"
)

const mib = 1 << 20

func TestStartClaimsAndCleanStopReleases(t *testing.T) {
	backings(t, 4*mib, func(t *testing.T, target string) {
		f := ownedFixture(t, "ok")
		f.attach(varLocal, target)
		f.configure("DC1-S3", varLocal)
		if _, err := f.mgr.Start(bg, "DC1-S3", func() {}); err != nil {
			t.Fatal(err)
		}
		f.wantRecord(varLocal, blockdev.Active, f.hostUUID())
		if _, err := f.mgr.Stop(bg, "DC1-S3", StopOptions{Timeout: 5 * time.Second}, func() {}); err != nil {
			t.Fatal(err)
		}
		rec := f.wantRecord(varLocal, blockdev.CleanlyStopped, f.hostUUID())
		if rec.Node != "DC1-S3" || !strings.Contains(string(rec.Config), "BLOCK_DEVICE_VAR_LOCAL = "+varLocal) {
			t.Errorf("record names %s with config %q", rec.Node, rec.Config)
		}
	})
}

func TestStartRefusesARecordActiveOnAnotherHost(t *testing.T) {
	f := ownedFixture(t, "ok")
	f.attach(varLocal, sharedFile(t, 2*mib))
	conf := f.configure("DC1-S3", varLocal)
	f.writeRec(varLocal, "DC1-S3", otherHost, blockdev.Active, conf)

	announced := false
	_, err := f.mgr.Start(bg, "DC1-S3", func() { announced = true })
	var owned *OwnedError
	if !errors.As(err, &owned) || fail.KindOf(err) != fail.Refused || owned.Host != otherHost {
		t.Fatalf("start: %v (kind %v), want a refusal naming %s", err, fail.KindOf(err), otherHost)
	}
	if announced || f.state("DC1-S3") != NotRunning {
		t.Fatalf("refused start announced %t, state %s", announced, f.state("DC1-S3"))
	}
	f.wantRecord(varLocal, blockdev.Active, otherHost)

	// --force does not take over a claim its owner still renews: the
	// node runs there.
	f.mgr.SetOwnership(Ownership{Devices: blockdev.Options{AllowFiles: true}, Force: true, NetworkView: testView, Lease: testLease})
	if _, err := f.mgr.Start(bg, "DC1-S3", func() {}); !errors.As(err, &owned) || !strings.Contains(err.Error(), "renewed its claim") {
		t.Fatalf("forced start over a fresh claim: %v", err)
	}
	// An expired one (its host died) only with --force, saying when the
	// owner was last seen.
	f.writeRecAt(varLocal, "DC1-S3", otherHost, blockdev.Active, conf, time.Now().Add(-time.Hour))
	f.mgr.SetOwnership(Ownership{Devices: blockdev.Options{AllowFiles: true}, NetworkView: testView, Lease: testLease})
	if _, err := f.mgr.Start(bg, "DC1-S3", func() {}); !errors.As(err, &owned) || !strings.Contains(err.Error(), "last seen 1h0m0s ago") {
		t.Fatalf("start over an expired claim: %v", err)
	}
	f.mgr.SetOwnership(Ownership{Devices: blockdev.Options{AllowFiles: true}, Force: true, NetworkView: testView, Lease: testLease})
	if _, err := f.mgr.Start(bg, "DC1-S3", func() {}); err != nil {
		t.Fatalf("forced start over an expired claim: %v", err)
	}
	f.wantRecord(varLocal, blockdev.Active, f.hostUUID())
}

// A record another host stopped cleanly is that host's; an exported one is
// for an importer: start refuses both (--force overrides).
func TestStartRefusesAnotherHostsStoppedOrExportedRecord(t *testing.T) {
	for _, tc := range []struct {
		st   blockdev.State
		want string
	}{{blockdev.Exported, "import it on the host that is to run it"}, {blockdev.CleanlyStopped, "appears to be owned by another host"}} {
		t.Run(tc.st.String(), func(t *testing.T) {
			f := ownedFixture(t, "ok")
			f.attach(varLocal, sharedFile(t, 2*mib))
			f.writeRec(varLocal, "DC1-S3", otherHost, tc.st, f.configure("DC1-S3", varLocal))
			if _, err := f.mgr.Start(bg, "DC1-S3", func() {}); fail.KindOf(err) != fail.Refused || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("start: %v", err)
			}
			f.wantRecord(varLocal, tc.st, otherHost)
			f.mgr.SetOwnership(Ownership{Devices: blockdev.Options{AllowFiles: true}, Force: true, NetworkView: testView, Lease: testLease})
			if _, err := f.mgr.Start(bg, "DC1-S3", func() {}); err != nil {
				t.Fatal(err)
			}
			f.wantRecord(varLocal, blockdev.Active, f.hostUUID())
		})
	}
}

func TestStartRefusesAnotherNodesDevice(t *testing.T) {
	f := ownedFixture(t, "ok")
	f.attach(varLocal, sharedFile(t, 2*mib))
	f.configure("DC1-S3", varLocal)
	f.writeRec(varLocal, "DC1-S4", f.hostUUID(), blockdev.CleanlyStopped, "x = 1\n")
	_, err := f.mgr.Start(bg, "DC1-S3", func() {})
	if fail.KindOf(err) != fail.Refused || !strings.Contains(fmt.Sprint(err), "names node DC1-S4, not DC1-S3") {
		t.Fatalf("start: %v", err)
	}
	if rec := f.readRec(varLocal); rec.Node != "DC1-S4" {
		t.Fatalf("refused start rewrote the record: %+v", rec)
	}
}

func TestFailedStartPutsTheRecordBack(t *testing.T) {
	f := ownedFixture(t, "exit3")
	f.attach(varLocal, sharedFile(t, 2*mib))
	f.writeRec(varLocal, "DC1-S3", f.hostUUID(), blockdev.CleanlyStopped, f.configure("DC1-S3", varLocal))
	if _, err := f.mgr.Start(bg, "DC1-S3", func() {}); !errors.Is(err, ErrExitedAtOnce) {
		t.Fatalf("start: %v, want %v", err, ErrExitedAtOnce)
	}
	f.wantRecord(varLocal, blockdev.CleanlyStopped, f.hostUUID())
}

func TestForcedStopLeavesTheRecordActive(t *testing.T) {
	f := ownedFixture(t, "ok")
	f.attach(varLocal, sharedFile(t, 2*mib))
	f.configure("DC1-S3", varLocal)
	if _, err := f.mgr.Start(bg, "DC1-S3", func() {}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.mgr.Stop(bg, "DC1-S3", StopOptions{Force: true}, func() {}); err != nil {
		t.Fatal(err)
	}
	f.wantRecord(varLocal, blockdev.Active, f.hostUUID())
}

func TestExportRefusesARunningNode(t *testing.T) {
	f := ownedFixture(t, "ok")
	f.attach(varLocal, sharedFile(t, 2*mib))
	f.configure("DC1-S3", varLocal)
	if _, err := f.mgr.Start(bg, "DC1-S3", func() {}); err != nil {
		t.Fatal(err)
	}
	_, err := f.mgr.Export(bg, "DC1-S3")
	if !errors.Is(err, ErrRunning) || fail.KindOf(err) != fail.Refused || !strings.Contains(err.Error(), "is Running") {
		t.Fatalf("export: %v", err)
	}
	if !f.configured("DC1-S3") {
		t.Fatal("refused export removed the config")
	}
	f.wantRecord(varLocal, blockdev.Active, f.hostUUID())
}

func TestExportAndImportBetweenTwoHosts(t *testing.T) {
	backings(t, 3*mib, func(t *testing.T, target string) {
		src, dst := ownedFixture(t, "ok"), ownedFixture(t, "ok")
		src.attach(varLocal, target)
		dst.attach(varLocal, target)
		conf := src.configure("DC1-S3", varLocal)
		if _, err := src.mgr.Start(bg, "DC1-S3", func() {}); err != nil {
			t.Fatal(err)
		}
		if _, err := src.mgr.Stop(bg, "DC1-S3", StopOptions{Timeout: 5 * time.Second}, func() {}); err != nil {
			t.Fatal(err)
		}
		res, err := src.mgr.Export(bg, "DC1-S3")
		if err != nil {
			t.Fatal(err)
		}
		if res.Device != varLocal || res.Previous != "cleanly-stopped" || src.configured("DC1-S3") {
			t.Fatalf("export: %+v, still configured %t", res, src.configured("DC1-S3"))
		}
		if kept, err := os.ReadFile(src.root.Join(ExportDir + "/DC1-S3.conf")); err != nil || string(kept) != conf {
			t.Fatalf("kept copy %q (%v), want %q", kept, err, conf)
		}
		src.wantRecord(varLocal, blockdev.Exported, src.hostUUID())

		imp, err := dst.mgr.Import(bg, varLocal)
		if err != nil {
			t.Fatal(err)
		}
		if imp.Node != "DC1-S3" || len(imp.Warnings) != 0 {
			t.Fatalf("import: %+v", imp)
		}
		if got, _ := os.ReadFile(dst.root.Join(ConfigDir + "/DC1-S3.conf")); string(got) != conf {
			t.Fatalf("imported config %q, want %q", got, conf)
		}
		if _, err := dst.mgr.Start(bg, "DC1-S3", func() {}); err != nil {
			t.Fatal(err)
		}
		dst.wantRecord(varLocal, blockdev.Active, dst.hostUUID())
	})
}

func TestImportRefusals(t *testing.T) {
	cases := []struct {
		name  string
		state blockdev.State
		here  bool // the record names this host
		want  string
	}{
		{"active elsewhere, expired", blockdev.Active, false, "appears to be owned by another host (UUID " + otherHost + ")"},
		{"stopped elsewhere", blockdev.CleanlyStopped, false, "appears to be owned by another host (UUID " + otherHost + ")"},
		{"active here", blockdev.Active, true, "is marked active on this host"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := ownedFixture(t, "ok")
			f.attach(varLocal, sharedFile(t, 2*mib))
			host := otherHost
			if tc.here {
				host = f.hostUUID()
			}
			// Written an hour ago: an active claim not renewed since.
			f.writeRecAt(varLocal, "DC1-S3", host, tc.state, "NODE_TYPE = VM_Storage_Node\nBLOCK_DEVICE_VAR_LOCAL = "+varLocal+"\n",
				time.Now().Add(-time.Hour))
			_, err := f.mgr.Import(bg, varLocal)
			if fail.KindOf(err) != fail.Refused || !strings.Contains(fmt.Sprint(err), tc.want) ||
				!strings.Contains(fmt.Sprint(err), "\nUse the --force flag if you are sure import is safe.") {
				t.Fatalf("import: %v (kind %v)", err, fail.KindOf(err))
			}
			if f.configured("DC1-S3") {
				t.Fatal("refused import wrote the config")
			}
			f.mgr.SetOwnership(Ownership{Devices: blockdev.Options{AllowFiles: true}, Force: true, Lease: testLease})
			if _, err := f.mgr.Import(bg, varLocal); err != nil || !f.configured("DC1-S3") {
				t.Fatalf("forced import: %v", err)
			}
			// The import claimed the node: it is this host's, stopped.
			f.wantRecord(varLocal, blockdev.CleanlyStopped, f.hostUUID())
		})
	}
}

func TestImportRefusesANodeConfiguredHere(t *testing.T) {
	f := ownedFixture(t, "ok")
	f.attach(varLocal, sharedFile(t, 2*mib))
	f.configure("DC1-S3", "/dev/mapper/other")
	f.writeRec(varLocal, "DC1-S3", otherHost, blockdev.Exported, "BLOCK_DEVICE_VAR_LOCAL = "+varLocal+"\n")
	f.mgr.SetOwnership(Ownership{Devices: blockdev.Options{AllowFiles: true}, Force: true, Lease: testLease})
	_, err := f.mgr.Import(bg, varLocal)
	if !errors.Is(err, ErrExists) || fail.KindOf(err) != fail.Refused {
		t.Fatalf("import: %v", err)
	}
	if got, _ := os.ReadFile(f.root.Join(ConfigDir + "/DC1-S3.conf")); !bytes.Contains(got, []byte("/dev/mapper/other")) {
		t.Fatalf("refused import changed the config: %q", got)
	}
}

// Two hosts import the same exported node one after the other: the first
// import claims it, so the second is refused, and so is its start from a
// copied config; a third host cannot import it once it runs.
func TestSecondHostRefusedOnceTheFirstImported(t *testing.T) {
	backings(t, 2*mib, func(t *testing.T, target string) {
		a, b, c := ownedFixture(t, "ok"), ownedFixture(t, "ok"), ownedFixture(t, "ok")
		for _, h := range []*fixture{a, b, c} {
			h.attach(varLocal, target)
		}
		a.writeRec(varLocal, "DC1-S3", otherHost, blockdev.Exported, gatewayConfig(varLocal))
		if _, err := a.mgr.Import(bg, varLocal); err != nil {
			t.Fatal(err)
		}
		if _, err := b.mgr.Import(bg, varLocal); !errors.Is(err, ErrOwned) || !strings.Contains(err.Error(), a.hostUUID()) {
			t.Fatalf("second host's import: %v, want a refusal naming %s", err, a.hostUUID())
		}
		b.configure("DC1-S3", varLocal) // copied by hand
		if _, err := b.mgr.Start(bg, "DC1-S3", func() {}); !errors.Is(err, ErrOwned) {
			t.Fatalf("second host's start: %v, want %v", err, ErrOwned)
		}
		if _, err := a.mgr.Start(bg, "DC1-S3", func() {}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.mgr.Import(bg, varLocal); !errors.Is(err, ErrOwned) || !strings.Contains(err.Error(), a.hostUUID()) {
			t.Fatalf("third host's import: %v, want a refusal naming %s", err, a.hostUUID())
		}
		if b.state("DC1-S3") != NotRunning || c.configured("DC1-S3") {
			t.Fatal("a refused host runs or configured the node")
		}
	})
}

func TestImportOfBadDevices(t *testing.T) {
	f := ownedFixture(t, "ok")
	empty := sharedFile(t, 2*mib)
	small := sharedFile(t, 4096)
	if err := os.MkdirAll(f.root.Join("/dev/mapper/a-directory"), 0o755); err != nil {
		t.Fatal(err)
	}
	f.attach("/dev/mapper/empty", empty)
	f.attach("/dev/mapper/small", small)
	f.attach("/dev/mapper/loop-a", f.root.Join("/dev/mapper/loop-b"))
	f.attach("/dev/mapper/loop-b", f.root.Join("/dev/mapper/loop-a"))
	cases := []struct {
		dev  string
		is   error
		want string
	}{
		{"/dev/mapper/empty", blockdev.ErrNoRecord, "/dev/mapper/empty holds no storagegrid node record"},
		{"/dev/mapper/small", blockdev.ErrTooSmall, "need at least 1048576 bytes, found 4096"},
		{"/dev/mapper/a-directory", nil, "/dev/mapper/a-directory is not a valid block device: it is a directory"},
		{"/dev/mapper/loop-a", nil, "/dev/mapper/loop-a: symlink loop"},
		{"/dev/mapper/missing", nil, "/dev/mapper/missing does not exist"},
	}
	for _, tc := range cases {
		_, err := f.mgr.Import(bg, tc.dev)
		if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
			t.Errorf("import %s: %v, want %q", tc.dev, err, tc.want)
		}
	}
	if names, _, _ := f.mgr.Registry().Names(); len(names) != 0 {
		t.Fatalf("failed imports configured %v", names)
	}
}

func TestImportRejectsADamagedRecord(t *testing.T) {
	f := ownedFixture(t, "ok")
	f.attach(varLocal, sharedFile(t, 2*mib))
	f.writeRec(varLocal, "DC1-S3", otherHost, blockdev.Exported, "BLOCK_DEVICE_VAR_LOCAL = "+varLocal+"\n")
	dev := f.device(varLocal)
	slot := regionStart(t, dev)
	flip(t, f.root.Join(varLocal), slot+100)
	_, err := f.mgr.Import(bg, varLocal)
	if !errors.Is(err, blockdev.ErrCorrupt) || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("import of a flipped byte: %v", err)
	}
	if f.configured("DC1-S3") {
		t.Fatal("import of a damaged record configured the node")
	}
}

func TestImportRefusesANewerFormatNamingTheVersion(t *testing.T) {
	f := ownedFixture(t, "ok")
	f.attach(varLocal, sharedFile(t, 2*mib))
	f.writeRec(varLocal, "DC1-S3", otherHost, blockdev.Exported, "BLOCK_DEVICE_VAR_LOCAL = "+varLocal+"\n")
	// Rewrite slot 0 as format version 7, with a valid checksum, as a
	// newer storagegrid would (layout: blockdev's package comment).
	path := f.root.Join(varLocal)
	off := regionStart(t, f.device(varLocal))
	slot := make([]byte, blockdev.SlotSize)
	file, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if _, err := file.ReadAt(slot, off); err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint32(slot[8:], 7)
	h := sha256.New()
	h.Write(slot[:16])
	h.Write(slot[48 : 48+binary.LittleEndian.Uint32(slot[12:])])
	copy(slot[16:48], h.Sum(nil))
	if _, err := file.WriteAt(slot, off); err != nil {
		t.Fatal(err)
	}
	_, err = f.mgr.Import(bg, varLocal)
	if !errors.Is(err, blockdev.ErrNewerVersion) || !strings.Contains(err.Error(), "format version 7") {
		t.Fatalf("import of a format 7 record: %v", err)
	}
}

func regionStart(t *testing.T, dev blockdev.Device) int64 {
	t.Helper()
	slots, err := dev.Inspect()
	if err != nil {
		t.Fatal(err)
	}
	return slots[0].Offset
}

func flip(t *testing.T, path string, off int64) {
	t.Helper()
	file, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	b := make([]byte, 1)
	if _, err := file.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := file.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func TestExportOfBadInputChangesNothing(t *testing.T) {
	f := ownedFixture(t, "ok")
	writeFile(t, f.root.Join(ConfigDir+"/DC1-S3.conf"), "NODE_TYPE = VM_Storage_Node\n")
	_, err := f.mgr.Export(bg, "DC1-S3")
	if fail.KindOf(err) != fail.Invalid || !strings.Contains(err.Error(), "BLOCK_DEVICE_VAR_LOCAL is not set") {
		t.Fatalf("export without var-local: %v", err)
	}
	if !f.configured("DC1-S3") {
		t.Fatal("failed export removed the config")
	}
	for _, name := range []string{"../DC1-S3", "DC1/S3", "..", ""} {
		if _, err := f.mgr.Export(bg, name); !errors.Is(err, ErrInvalidName) || fail.KindOf(err) != fail.Usage {
			t.Errorf("export %q: %v", name, err)
		}
	}
	if _, err := os.Stat(f.root.Join(ExportDir)); !os.IsNotExist(err) {
		t.Fatalf("failed exports left %s: %v", ExportDir, err)
	}
}

func TestImportWarnsWhenTheConfigNamesAnotherDevice(t *testing.T) {
	f := ownedFixture(t, "ok")
	f.attach("/dev/mapper/imported", sharedFile(t, 2*mib))
	f.attach(varLocal, sharedFile(t, 2*mib))
	f.writeRec("/dev/mapper/imported", "DC1-S3", otherHost, blockdev.Exported, "BLOCK_DEVICE_VAR_LOCAL = "+varLocal+"\n")
	res, err := f.mgr.Import(bg, "/dev/mapper/imported")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "but the node was imported from /dev/mapper/imported") {
		t.Fatalf("warnings %q", res.Warnings)
	}
}

// claimRounds is how many rounds TestClaimRaces runs: 200 under -race
// (make test runs it so), else 20.
func claimRounds() int {
	if raceEnabled {
		return 200
	}
	return 20
}

// TestClaimRaces: two hosts (roots sharing one loop device) import, and
// start, the same node at the same moment, round after round, in one
// process so that the race detector watches the claim code: exactly one
// wins each time, the other is refused as owned by the winner.
func TestClaimRaces(t *testing.T) {
	loop := looptest.Attach(t, 2*mib)
	a, b := ownedFixture(t, "ok"), ownedFixture(t, "ok")
	hosts := []*fixture{a, b}
	for _, h := range hosts {
		h.attach(varLocal, loop)
	}
	tooSlow := 0
	race := func(round int, op func(h *fixture) error) int {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		gate := make(chan struct{})
		for i, h := range hosts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				errs[i] = op(h)
			}()
		}
		close(gate)
		wg.Wait()
		winner, slow := -1, false
		for i, err := range errs {
			switch {
			case err == nil && winner < 0:
				winner = i
			case err == nil:
				t.Fatalf("round %d: both hosts won", round)
			case errors.Is(err, ErrClaimTooSlow):
				// Safe (the claim was withdrawn), though not decisive.
				slow = true
			case !errors.Is(err, ErrOwned) || fail.KindOf(err) != fail.Refused:
				t.Fatalf("round %d: host %d: %v", round, i, err)
			}
		}
		if winner < 0 && slow {
			tooSlow++
			return -1
		}
		if winner < 0 {
			t.Fatalf("round %d: neither host won: %v", round, errs)
		}
		if rec := a.readRec(varLocal); rec.HostUUID != hosts[winner].hostUUID() {
			t.Fatalf("round %d: host %d won but the record names %s", round, winner, rec.HostUUID)
		}
		return winner
	}
	wins := map[string][2]int{}
	count := func(what string, w int) {
		if w < 0 {
			return
		}
		c := wins[what]
		c[w]++
		wins[what] = c
	}
	for round := range claimRounds() {
		for _, h := range hosts {
			os.Remove(h.root.Join(ConfigDir + "/DC1-S3.conf"))
		}
		a.writeRec(varLocal, "DC1-S3", otherHost, blockdev.Exported, gatewayConfig(varLocal))
		count("import", race(round, func(h *fixture) error { _, err := h.mgr.Import(bg, varLocal); return err }))

		// Both configured (a copied file), the node's claim left by a
		// host that died an hour ago: both take it over with --force.
		for _, h := range hosts {
			h.configure("DC1-S3", varLocal)
		}
		a.writeRecAt(varLocal, "DC1-S3", otherHost, blockdev.Active, gatewayConfig(varLocal), time.Now().Add(-time.Hour))
		for _, h := range hosts {
			h.mgr.SetOwnership(Ownership{Devices: blockdev.Options{AllowFiles: true}, NetworkView: testView, Lease: testLease, Force: true})
		}
		w := race(round, func(h *fixture) error { _, err := h.mgr.Start(bg, "DC1-S3", func() {}); return err })
		count("start", w)
		if w >= 0 && hosts[1-w].state("DC1-S3") != NotRunning {
			t.Fatalf("round %d: the loser runs the node", round)
		}
		for _, h := range hosts {
			h.killAll()
			h.mgr.SetOwnership(Ownership{Devices: blockdev.Options{AllowFiles: true}, NetworkView: testView, Lease: testLease})
		}
	}
	t.Logf("%d rounds, wins by host: %v; rounds a withdrawn slow claim left undecided: %d", claimRounds(), wins, tooSlow)
	if tooSlow > claimRounds()/10 {
		t.Fatalf("%d of %d rounds had a claim too slow to decide: the device or the machine is too slow for the test's lease", tooSlow, 2*claimRounds())
	}
}

// The renewer keeps a running node's claim fresh, and reports a claim
// another host has taken as lost.
func TestRenewer(t *testing.T) {
	f := ownedFixture(t, "ok")
	f.attach(varLocal, sharedFile(t, 2*mib))
	conf := f.configure("DC1-S3", varLocal)
	if _, err := f.mgr.Start(bg, "DC1-S3", func() {}); err != nil {
		t.Fatal(err)
	}
	renew, every, err := f.mgr.Renewer("DC1-S3")
	if err != nil || every != testLease.RenewEvery {
		t.Fatalf("Renewer: every %s, %v", every, err)
	}
	before := f.readRec(varLocal)
	time.Sleep(10 * time.Millisecond)
	if err := renew(); err != nil {
		t.Fatal(err)
	}
	after := f.wantRecord(varLocal, blockdev.Active, f.hostUUID())
	if after.Generation != before.Generation+1 || !after.Time.After(before.Time) || string(after.Config) != conf {
		t.Fatalf("renewed record %+v, before %+v", after, before)
	}
	f.writeRec(varLocal, "DC1-S3", otherHost, blockdev.Active, conf)
	if err := renew(); !errors.Is(err, ErrLeaseLost) || !strings.Contains(err.Error(), otherHost) {
		t.Fatalf("renew after a takeover: %v", err)
	}
	f.wantRecord(varLocal, blockdev.Active, otherHost) // not overwritten
}

// KeepClaim renews while the payload lives, ends with it, and stops it
// (SIGTERM) when the claim was lost.
func TestKeepClaim(t *testing.T) {
	start := func() *exec.Cmd {
		cmd := exec.Command("sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	var log bytes.Buffer
	renewals := 0
	payload := start()
	done := make(chan error, 1)
	go func() {
		done <- KeepClaim(bg, payload.Process.Pid, func() error {
			renewals++
			if renewals == 3 {
				return fmt.Errorf("node DC1-S3: %w: the record now says active by host %s", ErrLeaseLost, otherHost)
			}
			return nil
		}, 10*time.Millisecond, &log)
	}()
	waited := make(chan error, 1)
	go func() { waited <- payload.Wait() }()
	if err := <-done; !errors.Is(err, ErrLeaseLost) || renewals != 3 {
		t.Fatalf("KeepClaim: %v after %d renewals", err, renewals)
	}
	if err := <-waited; err == nil || !strings.Contains(err.Error(), "terminated") {
		t.Fatalf("payload ended with %v, want SIGTERM", err)
	}
	if !strings.Contains(log.String(), "lease lost") {
		t.Fatalf("log %q", log.String())
	}

	payload = start()
	go func() {
		done <- KeepClaim(bg, payload.Process.Pid, func() error { return nil }, 10*time.Millisecond, io.Discard)
	}()
	time.Sleep(30 * time.Millisecond)
	payload.Process.Kill()
	payload.Wait()
	if err := <-done; err != nil {
		t.Fatalf("KeepClaim after the payload ended: %v", err)
	}
}
