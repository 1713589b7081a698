package node

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/blockdev"
	"github.com/storagegrid/storagegrid/hostid"
	"github.com/storagegrid/storagegrid/internal/looptest"
	"github.com/storagegrid/storagegrid/netcheck"
)

// varLocal is DC1-S3's var-local device in every test, as the runbook
// spells it.
const varLocal = "/dev/mapper/sgws-dc1-s3-var-local"

// otherHost is a host UUID that is none of the fixtures'.
const otherHost = "0b5f4a8e-3c2d-4e1f-9a7b-6c5d4e3f2a1b"

// ownedFixture is a sandbox host whose Manager keeps var-local records,
// with files standing in for devices.
func ownedFixture(t *testing.T, mode string) *fixture {
	t.Helper()
	f := newFixture(t, mode, 100*time.Millisecond)
	f.mgr.SetOwnership(Ownership{Devices: blockdev.Options{AllowFiles: true}, NetworkView: testView, Lease: testLease})
	return f
}

// testLease keeps the tests' claims quick; the protocol is the same.
var testLease = LeaseTiming{ClaimWait: 100 * time.Millisecond, RenewEvery: 100 * time.Millisecond, ExpireAfter: time.Second}

// testView is a host with eth0, the runbook's bond0.1001 and the
// interface-adding procedure's bond0.3206, so that validate's interface
// checks pass for the test configs.
func testView() (*netcheck.View, error) {
	up := func(name string, typ netcheck.LinkType, index int) netcheck.Link {
		return netcheck.Link{Name: name, Index: index, Type: typ, AdminUp: true, Carrier: true, MTU: 1500}
	}
	vlan := up("bond0.1001", netcheck.VLAN, 4)
	vlan.VLANID, vlan.ParentIndex, vlan.Parent = 1001, 3, "bond0"
	client := up("bond0.3206", netcheck.VLAN, 5)
	client.VLANID, client.ParentIndex, client.Parent = 3206, 3, "bond0"
	bond := up("bond0", netcheck.Bond, 3)
	return &netcheck.View{Version: netcheck.ViewVersion, Routes: []netcheck.Route{},
		Links: []netcheck.Link{up("lo", netcheck.Loopback, 1), up("eth0", netcheck.Physical, 2), bond, vlan, client}}, nil
}

// sharedFile creates a zeroed backing file of size bytes that the hosts of
// a test link their device paths to.
func sharedFile(t *testing.T, size int64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "shared.img")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, size); err != nil {
		t.Fatal(err)
	}
	return p
}

// attach makes the host path dev a symlink to target on f's host.
func (f *fixture) attach(dev, target string) {
	f.t.Helper()
	p := f.root.Join(dev)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		f.t.Fatal(err)
	}
}

// configure writes a gateway node's config with var-local dev.
func (f *fixture) configure(name, dev string) string {
	f.t.Helper()
	text := "# " + name + "\n" + gatewayConfig(dev)
	writeFile(f.t, f.root.Join(ConfigDir+"/"+name+".conf"), text)
	return text
}

// gatewayConfig is a valid gateway node config with var-local dev.
func gatewayConfig(dev string) string {
	return "NODE_TYPE = VM_API_Gateway\nBLOCK_DEVICE_VAR_LOCAL = " + dev + "\n" +
		"GRID_NETWORK_TARGET = eth0\nGRID_NETWORK_IP = 10.1.0.7\nGRID_NETWORK_MASK = 255.255.255.0\nGRID_NETWORK_GATEWAY = 10.1.0.1\n"
}

func (f *fixture) device(dev string) blockdev.Device {
	f.t.Helper()
	d, err := blockdev.Probe(dev, blockdev.Options{Root: f.root, AllowFiles: true})
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

// readRec reads the record on dev as f's host sees it.
func (f *fixture) readRec(dev string) blockdev.Record {
	f.t.Helper()
	rec, err := f.device(dev).ReadRecord()
	if err != nil {
		f.t.Fatal(err)
	}
	return rec
}

// writeRec writes a record on dev as host would have.
func (f *fixture) writeRec(dev, name, host string, st blockdev.State, config string) {
	f.t.Helper()
	f.writeRecAt(dev, name, host, st, config, time.Time{})
}

// writeRecAt writes a record as written at t (zero: now).
func (f *fixture) writeRecAt(dev, name, host string, st blockdev.State, config string, t time.Time) {
	f.t.Helper()
	if _, err := f.device(dev).WriteRecord(blockdev.Record{Node: name, HostUUID: host, State: st, Config: []byte(config), Time: t}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) hostUUID() string {
	f.t.Helper()
	id, err := hostid.Get(f.root)
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// wantRecord checks the record's state and owner.
func (f *fixture) wantRecord(dev string, st blockdev.State, host string) blockdev.Record {
	f.t.Helper()
	rec := f.readRec(dev)
	if rec.State != st || rec.HostUUID != host {
		f.t.Fatalf("record on %s: %s by %s, want %s by %s", dev, rec.State, rec.HostUUID, st, host)
	}
	return rec
}

func (f *fixture) configured(name string) bool {
	_, err := os.Stat(f.root.Join(ConfigDir + "/" + name + ".conf"))
	return err == nil
}

// backings runs f once with a shared file and once with a loop device
// behind the device paths.
func backings(t *testing.T, size int64, f func(t *testing.T, target string)) {
	t.Run("file", func(t *testing.T) { f(t, sharedFile(t, size)) })
	t.Run("loop", func(t *testing.T) { f(t, looptest.Attach(t, size)) })
}
