package node

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/blockdev"
	"github.com/storagegrid/storagegrid/internal/fail"
)

var quickStop = StopOptions{Timeout: 5 * time.Second}

func recoverySteps(steps *[]RecoveryStep) func(RecoveryStep, RecoveryResult) {
	return func(s RecoveryStep, _ RecoveryResult) { *steps = append(*steps, s) }
}

// damage flips a byte inside each slot of the device's record, so that
// neither checksum holds.
func (f *fixture) damage(dev string) {
	f.t.Helper()
	slots, err := f.device(dev).Inspect()
	if err != nil {
		f.t.Fatal(err)
	}
	file, err := os.OpenFile(f.root.Join(dev), os.O_RDWR, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	defer file.Close()
	for _, s := range slots {
		b := []byte{0}
		file.ReadAt(b, s.Offset+200)
		b[0] ^= 0xff
		if _, err := file.WriteAt(b, s.Offset+200); err != nil {
			f.t.Fatal(err)
		}
	}
}

// A running node with an intact record: refused unless --force, and
// nothing changes; with --force it is stopped, given a fresh record and
// started in recovery mode.
func TestForceRecoveryIsForNodesThatNeedIt(t *testing.T) {
	f := reloadFixture(t)
	pid := f.health("DC1-GW1", func(Health) bool { return true }).PID
	var steps []RecoveryStep
	_, err := f.mgr.ForceRecovery(bg, "DC1-GW1", quickStop, recoverySteps(&steps))
	if fail.KindOf(err) != fail.Refused || !strings.Contains(err.Error(), "is intact") || len(steps) != 0 {
		t.Fatalf("force-recovery of a healthy node: %v (steps %v)", err, steps)
	}
	if ok, _ := TakeRecovery(f.root, "DC1-GW1"); ok {
		t.Fatal("a refused force-recovery left a recovery flag")
	}
	f.mgr.SetOwnership(Ownership{Devices: blockdev.Options{AllowFiles: true}, NetworkView: testView, Force: true, Lease: testLease})
	res, err := f.mgr.ForceRecovery(bg, "DC1-GW1", quickStop, recoverySteps(&steps))
	if err != nil || res.Record != "intact" || !res.Stopped || res.Result != "recovery-started" {
		t.Fatalf("forced: %+v, %v", res, err)
	}
	if len(steps) != 3 || steps[0] != RecoveryBegin || steps[1] != RecoveryStop || steps[2] != RecoveryStart {
		t.Fatalf("steps %v", steps)
	}
	if h := f.health("DC1-GW1", func(Health) bool { return true }); h.PID == pid {
		t.Fatal("the node was not restarted")
	}
	f.wantRecord(varLocal, blockdev.Active, f.hostUUID())
	// The flag is there for the payload's launcher to take (the CLI's
	// supervise and run-payload do; this test's supervisor does not).
	if ok, err := TakeRecovery(f.root, "DC1-GW1"); !ok || err != nil {
		t.Fatalf("recovery flag: %t, %v", ok, err)
	}
	if ok, _ := TakeRecovery(f.root, "DC1-GW1"); ok {
		t.Fatal("the flag was taken twice")
	}
}

// A damaged record stops start (refused, --force to overwrite) but is
// what force-recovery is for; so is a device without a record.
func TestForceRecoveryOfADamagedOrMissingRecord(t *testing.T) {
	for _, damaged := range []bool{true, false} {
		f := newFixture(t, "demo", 100*time.Millisecond)
		f.mgr.SetOwnership(Ownership{Devices: blockdev.Options{AllowFiles: true}, NetworkView: testView, Lease: testLease})
		f.attach(varLocal, sharedFile(t, 2*mib))
		conf := f.configure("DC1-GW1", varLocal)
		want := "missing"
		if damaged {
			want = "corrupt"
			f.writeRec(varLocal, "DC1-GW1", otherHost, blockdev.CleanlyStopped, conf)
			f.writeRec(varLocal, "DC1-GW1", otherHost, blockdev.CleanlyStopped, conf)
			f.damage(varLocal)
			if _, err := f.mgr.Start(bg, "DC1-GW1", func() {}); !errors.Is(err, blockdev.ErrCorrupt) || fail.KindOf(err) != fail.Refused {
				t.Fatalf("start on a damaged record: %v", err)
			}
		}
		var steps []RecoveryStep
		res, err := f.mgr.ForceRecovery(bg, "DC1-GW1", quickStop, recoverySteps(&steps))
		if err != nil || res.Record != want || res.Stopped || len(steps) != 2 {
			t.Fatalf("%s record: %+v, %v, steps %v", want, res, err, steps)
		}
		f.wantRecord(varLocal, blockdev.Active, f.hostUUID())
		f.waitState("DC1-GW1", Running)
	}
}

// Another host's active record is refused as start refuses it, and a node
// that validate finds errors in is not touched.
func TestForceRecoveryRefusals(t *testing.T) {
	f := newFixture(t, "demo", 100*time.Millisecond)
	f.mgr.SetOwnership(Ownership{Devices: blockdev.Options{AllowFiles: true}, NetworkView: testView, Lease: testLease})
	f.attach(varLocal, sharedFile(t, 2*mib))
	conf := f.configure("DC1-GW1", varLocal)
	f.writeRec(varLocal, "DC1-GW1", otherHost, blockdev.Active, conf)
	var owned *OwnedError
	if _, err := f.mgr.ForceRecovery(bg, "DC1-GW1", quickStop, func(RecoveryStep, RecoveryResult) {}); !errors.As(err, &owned) {
		t.Fatalf("another host's active record: %v", err)
	}
	f.wantRecord(varLocal, blockdev.Active, otherHost)

	f.writeRec(varLocal, "DC1-GW1", otherHost, blockdev.CleanlyStopped, conf)
	f.damage(varLocal)
	f.appendConfig("DC1-GW1", "CLIENT_NETWORK_TARGET = bond0.3207\n")
	var invalid *ValidationError
	if _, err := f.mgr.ForceRecovery(bg, "DC1-GW1", quickStop, func(RecoveryStep, RecoveryResult) {}); !errors.As(err, &invalid) {
		t.Fatalf("invalid config: %v", err)
	}
	if _, err := f.device(varLocal).ReadRecord(); !errors.Is(err, blockdev.ErrCorrupt) {
		t.Fatalf("a refused force-recovery wrote the record: %v", err)
	}
	if f.state("DC1-GW1") != NotRunning {
		t.Fatal("a refused force-recovery started the node")
	}
}
