package node

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/storagegrid/storagegrid/blockdev"
)

// findings flattens a report into "check: SEVERITY KEY: message" lines,
// the severity spelt as printed.
func findings(r Report) []string {
	var out []string
	for _, c := range r.Checks {
		for _, f := range c.Findings {
			out = append(out, c.Check+": "+strings.ToUpper(string(f.Severity))+" "+f.Key+": "+f.Message)
		}
	}
	return out
}

func titles(r Report) []string {
	var out []string
	for _, c := range r.Checks {
		out = append(out, c.Title)
	}
	return out
}

func wantFindings(t *testing.T, r Report, want ...string) {
	t.Helper()
	got := findings(r)
	if len(got) != len(want) {
		t.Fatalf("findings:\n%s\nwant %d matching:\n%s", strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("finding %d: %q, want it to contain %q", i, got[i], want[i])
		}
	}
}

func TestValidateAValidNodePasses(t *testing.T) {
	backings(t, 2*mib, func(t *testing.T, target string) {
		f := ownedFixture(t, "ok")
		f.mgr.SetOwnership(Ownership{NetworkView: testView}) // no files: the device must be a real block device
		f.attach(varLocal, target)
		f.configure("DC1-S3", varLocal)
		r, err := f.mgr.Validate("DC1-S3")
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"Confirming existence of node DC1-S3",
			"Checking configuration file /etc/storagegrid/nodes/DC1-S3.conf for node DC1-S3",
			"Checking for duplication of unique values"}
		if !reflect.DeepEqual(titles(r), want) {
			t.Fatalf("titles %q", titles(r))
		}
		if strings.HasSuffix(target, ".img") {
			wantFindings(t, r, "config: ERROR BLOCK_DEVICE_VAR_LOCAL: "+varLocal+" is not a valid block device: it is a regular file (files are accepted only with [devices] allow_files)")
			return
		}
		wantFindings(t, r)
	})
}

func TestValidateDeviceAndInterfaceProblems(t *testing.T) {
	f := ownedFixture(t, "ok")
	f.attach(varLocal, sharedFile(t, 2*mib))
	f.attach("/dev/mapper/small", sharedFile(t, 64*1024))
	f.attach("/dev/mapper/loop-a", f.root.Join("/dev/mapper/loop-b"))
	f.attach("/dev/mapper/loop-b", f.root.Join("/dev/mapper/loop-a"))
	if err := os.MkdirAll(f.root.Join("/dev/mapper/dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, f.root.Join(ConfigDir+"/DC1-S3.conf"), "NODE_TYPE = VM_Storage_Node\n"+
		"BLOCK_DEVICE_VAR_LOCAL = /dev/mapper/small\nGRID_NETWORK_TARGET = bond0.1002\n"+
		"CLIENT_NETWORK_TARGET = bond0\nCLIENT_NETWORK_CONFIG = DHCP\nINTERFACE_TARGET_0001 = eth0, fabric\n"+
		"GRID_NETWORK_IP = 10.1.3\nGRID_NETWORK_MASK = 255.255.255.0\nGRID_NETWORK_GATEWAY = 10.1.0.1\n"+
		"BLOCK_DEVICE_RANGEDB_00 = /dev/mapper/dir\nBLOCK_DEVICE_RANGEDB_01 = /dev/mapper/loop-a\n"+
		"BLOCK_DEVICE_RANGEDB_02 = /dev/mapper/missing\n")
	r, err := f.mgr.Validate("DC1-S3")
	if err != nil {
		t.Fatal(err)
	}
	wantFindings(t, r,
		"config: ERROR GRID_NETWORK_IP: 10.1.3 is not a valid IPv4 address",
		"config: WARNING BLOCK_DEVICE_VAR_LOCAL: /dev/mapper/small is a regular file",
		"config: ERROR BLOCK_DEVICE_VAR_LOCAL: /dev/mapper/small is too small for the node record: need at least 1048576 bytes, found 65536",
		"config: ERROR BLOCK_DEVICE_RANGEDB_00: /dev/mapper/dir is not a valid block device: it is a directory",
		"config: ERROR BLOCK_DEVICE_RANGEDB_01: /dev/mapper/loop-a: symlink loop",
		"config: ERROR BLOCK_DEVICE_RANGEDB_02: /dev/mapper/missing does not exist",
		"config: ERROR GRID_NETWORK_TARGET: bond0.1002 is not a valid interface.  See `ip link show`",
		"config: ERROR CLIENT_NETWORK_TARGET: bond0 is a bond; do not use a bond or bridge directly",
	)
	if r.Errors != 7 || r.Warnings != 1 {
		t.Fatalf("%d errors, %d warnings", r.Errors, r.Warnings)
	}
	// Every finding names its node, the interface checks' as the others'.
	for _, c := range r.Checks {
		for _, f := range c.Findings {
			if f.Node != "DC1-S3" {
				t.Errorf("%s finding about node %q, want DC1-S3: %+v", c.Check, f.Node, f)
			}
		}
	}
}

func TestValidateReportsTheRecordOfAnotherNodeOrHost(t *testing.T) {
	f := ownedFixture(t, "ok")
	f.attach(varLocal, sharedFile(t, 2*mib))
	conf := f.configure("DC1-S3", varLocal)
	f.writeRec(varLocal, "DC1-S3", otherHost, blockdev.Active, conf)
	r, _ := f.mgr.Validate("DC1-S3")
	wantFindings(t, r, "regular file", "says node DC1-S3 is active on another host (UUID "+otherHost+"): start will refuse it")

	// Before a migration the source owns the record: --file ignores that.
	r, _ = f.mgr.ValidateFile("DC1-S4", "-", strings.NewReader(conf))
	wantFindings(t, r, "regular file", "holds the record of node DC1-S3: it is another node's var-local device",
		"unique: ERROR GRID_NETWORK_IP: DC1-S3 and DC1-S4 have the same GRID_NETWORK_IP",
		"unique: ERROR BLOCK_DEVICE_VAR_LOCAL: DC1-S3 and DC1-S4 have the same BLOCK_DEVICE_VAR_LOCAL")
}

func TestValidateMissingAndMisnamed(t *testing.T) {
	f := ownedFixture(t, "ok")
	writeFile(t, f.root.Join(ConfigDir+"/my-file.txt"), "x\n")
	r, err := f.mgr.Validate("DC1-S9")
	if err != nil {
		t.Fatal(err)
	}
	wantFindings(t, r, "existence: ERROR : unknown node DC1-S9")
	if len(r.Checks) != 1 {
		t.Fatalf("validate went on after a missing node: %q", titles(r))
	}
	if _, err := f.mgr.Validate("../DC1-S9"); err == nil {
		t.Fatal("validate accepted a name with '/'")
	}
	r, err = f.mgr.ValidateAll()
	if err != nil {
		t.Fatal(err)
	}
	wantFindings(t, r, "misnamed: WARNING : ignoring /etc/storagegrid/nodes/my-file.txt")
	if f := r.Checks[0].Findings[0]; f.Node != "" {
		t.Fatalf("a misnamed file is no node's, yet its finding names node %q", f.Node)
	}
	if r.Errors != 0 {
		t.Fatalf("a misnamed file is an error: %+v", r)
	}
}

// Two paths to one device are caught, and validate NAME reports only the
// duplicates that involve NAME.
func TestValidateUniqueValues(t *testing.T) {
	f := ownedFixture(t, "ok")
	shared := sharedFile(t, 2*mib)
	f.attach("/dev/mapper/a", shared)
	f.attach("/dev/disk/by-id/a", shared)
	f.attach("/dev/mapper/b", sharedFile(t, 2*mib))
	f.attach("/dev/mapper/c", sharedFile(t, 2*mib))
	node := func(name, dev, ip string) {
		writeFile(t, f.root.Join(ConfigDir+"/"+name+".conf"), "NODE_TYPE = VM_API_Gateway\nBLOCK_DEVICE_VAR_LOCAL = "+dev+
			"\nGRID_NETWORK_TARGET = eth0\nGRID_NETWORK_IP = "+ip+"\nGRID_NETWORK_MASK = 255.255.255.0\nGRID_NETWORK_GATEWAY = 10.1.0.1\n")
	}
	node("DC1-GW1", "/dev/mapper/a", "10.1.0.4")
	node("DC1-GW2", "/dev/disk/by-id/a", "10.1.0.5")
	node("DC1-GW3", "/dev/mapper/b", "10.1.0.6")
	node("DC1-GW4", "/dev/mapper/c", "10.1.0.6")

	r, _ := f.mgr.Validate("DC1-GW1")
	unique := r.Checks[len(r.Checks)-1]
	if len(unique.Findings) != 1 || !strings.Contains(unique.Findings[0].Message, "use the same device (/dev/disk/by-id/a and /dev/mapper/a") {
		t.Fatalf("DC1-GW1 unique findings: %+v", unique.Findings)
	}
	r, _ = f.mgr.Validate("DC1-GW3")
	unique = r.Checks[len(r.Checks)-1]
	if len(unique.Findings) != 1 || unique.Findings[0].Message != "DC1-GW4 and DC1-GW3 have the same GRID_NETWORK_IP" {
		t.Fatalf("DC1-GW3 unique findings: %+v", unique.Findings)
	}
	r, _ = f.mgr.ValidateAll()
	unique = r.Checks[len(r.Checks)-1]
	if unique.Title != "Checking for duplication of unique values between nodes" || len(unique.Findings) != 2 {
		t.Fatalf("all: %+v", unique)
	}
	// The check line names no node: each finding names the node whose
	// value repeats another's.
	if got := unique.Findings[0].Node + " " + unique.Findings[1].Node; got != "DC1-GW2 DC1-GW4" {
		t.Fatalf("all: findings about nodes %s, want DC1-GW2 DC1-GW4: %+v", got, unique.Findings)
	}
}

func TestValidateFileAsIfImported(t *testing.T) {
	f := ownedFixture(t, "ok")
	f.attach(varLocal, sharedFile(t, 2*mib))
	conf := f.configure("DC1-S3", varLocal)
	r, err := f.mgr.ValidateFile("DC1-S3", "(standard input)", strings.NewReader(conf))
	if err != nil {
		t.Fatal(err)
	}
	wantFindings(t, r, "importable: ERROR : node DC1-S3 is already configured on this host",
		"config: WARNING BLOCK_DEVICE_VAR_LOCAL: "+varLocal+" is a regular file")
	if err := os.Remove(f.root.Join(ConfigDir + "/DC1-S3.conf")); err != nil {
		t.Fatal(err)
	}
	r, _ = f.mgr.ValidateFile("DC1-S3", "(standard input)", strings.NewReader(conf))
	if r.Errors != 0 || titles(r)[1] != "Checking configuration file (standard input) for node DC1-S3" {
		t.Fatalf("%q: %q", titles(r), findings(r))
	}
	r, _ = f.mgr.ValidateFile("DC1-S3", "x.conf", strings.NewReader("NODE_TYPE VM_Storage_Node\n"))
	wantFindings(t, r, "config: ERROR : x.conf:1: the line starting \"NODE_TYPE\" has no '=': write KEY = VALUE")
}
