package blockdev

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/storagegrid/storagegrid/internal/hostpath"
	"github.com/storagegrid/storagegrid/internal/looptest"
)

// sysfsDevice adds a device to a fixture sysfs the way the kernel lays it
// out: the real directory under devices/, a symlink in block/.
func sysfsDevice(t *testing.T, sys, name string, files map[string]string) {
	t.Helper()
	dir := filepath.Join(sys, "devices/virtual/block", name)
	for f, content := range files {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(sys, "block"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../devices/virtual/block/"+name, filepath.Join(sys, "block", name)); err != nil {
		t.Fatal(err)
	}
}

func fixtureSysfs(t *testing.T) string {
	sys := t.TempDir()
	sysfsDevice(t, sys, "sda", map[string]string{"dev": "8:0\n", "size": "2097152\n",
		"device/wwid": "naa.600a098038303053453f463045727046\n"})
	sysfsDevice(t, sys, "dm-0", map[string]string{"dev": "253:0\n", "size": "4194304\n",
		"dm/uuid": "mpath-3600a098038303053453f463045727046\n"})
	sysfsDevice(t, sys, "nvme0n1", map[string]string{"dev": "259:0\n", "size": "8\n", "wwid": "eui.0025388b91b4e6a1\n"})
	sysfsDevice(t, sys, "loop7", map[string]string{"dev": "7:7\n", "size": "0\n"})
	return sys
}

func TestInventoryReadsSysfs(t *testing.T) {
	devs, err := Inventory(Options{Root: hostpath.Root(t.TempDir()), SysfsRoot: fixtureSysfs(t)})
	if err != nil {
		t.Fatal(err)
	}
	want := []BlockDevice{
		{Name: "dm-0", Identity: Identity{Major: 253}, ID: "253:0", Size: 4194304 * 512, WWID: "mpath-3600a098038303053453f463045727046"},
		{Name: "nvme0n1", Identity: Identity{Major: 259}, ID: "259:0", Size: 4096, WWID: "eui.0025388b91b4e6a1"},
		{Name: "sda", Identity: Identity{Major: 8}, ID: "8:0", Size: 1 << 30, WWID: "naa.600a098038303053453f463045727046"},
	}
	if !reflect.DeepEqual(devs, want) {
		t.Fatalf("Inventory =\n%+v\nwant (loop7 has no media)\n%+v", devs, want)
	}
}

func TestInventoryRejectsMalformedSysfs(t *testing.T) {
	for _, c := range []struct{ files map[string]string }{
		{map[string]string{"dev": "8\n", "size": "1\n"}},
		{map[string]string{"dev": "8:x\n", "size": "1\n"}},
		{map[string]string{"dev": "8:0\n", "size": "lots\n"}},
		{map[string]string{"dev": "8:0\n", "size": ""}},
		{map[string]string{"dev": "8:0\n", "size": strings.Repeat("9", 80) + "\n"}},
	} {
		sys := t.TempDir()
		sysfsDevice(t, sys, "sdz", c.files)
		_, err := Inventory(Options{SysfsRoot: sys})
		wantErr(t, err, "sdz")
	}
	// A device that vanished between listing and reading is left out.
	sys := fixtureSysfs(t)
	if err := os.Symlink("../devices/virtual/block/gone", filepath.Join(sys, "block/gone")); err != nil {
		t.Fatal(err)
	}
	if devs, err := Inventory(Options{SysfsRoot: sys}); err != nil || len(devs) != 3 {
		t.Fatalf("with a vanished device: %d devices, %v", len(devs), err)
	}
	_, err := Inventory(Options{SysfsRoot: filepath.Join(t.TempDir(), "nothing")})
	wantErr(t, err, "list block devices")
}

// TestInventoryAliases matches /dev/mapper and /dev/disk/by-id entries by
// device number: udev's relative symlinks, plain device nodes, and entries
// that name no listed device (partitions, the mapper control node, broken
// links) are left out.
func TestInventoryAliases(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create device nodes")
	}
	root := hostpath.Root(t.TempDir())
	mknod := func(p string, mode uint32, maj, min uint32) {
		if err := os.MkdirAll(filepath.Dir(root.Join(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mknod(root.Join(p), mode|0o600, int(unix.Mkdev(maj, min))); err != nil {
			t.Fatal(err)
		}
	}
	mknod("/dev/sda", unix.S_IFBLK, 8, 0)
	mknod("/dev/sda1", unix.S_IFBLK, 8, 1)
	mknod("/dev/dm-0", unix.S_IFBLK, 253, 0)
	mknod("/dev/mapper/control", unix.S_IFCHR, 10, 236)
	mknod("/dev/mapper/old-style-node", unix.S_IFBLK, 253, 0)
	link(t, root, "/dev/mapper/mpatha", "../dm-0")
	link(t, root, "/dev/disk/by-id/dm-uuid-mpath-3600a098038303053453f463045727046", "../../dm-0")
	link(t, root, "/dev/disk/by-id/wwn-0x600a098038303053453f463045727046", "../../sda")
	link(t, root, "/dev/disk/by-id/wwn-0x600a098038303053453f463045727046-part1", "../../sda1")
	link(t, root, "/dev/disk/by-id/broken", "../../sdq")

	devs, err := Inventory(Options{Root: root, SysfsRoot: fixtureSysfs(t)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, d := range devs {
		got[d.Name] = d.Aliases
	}
	want := map[string][]string{
		"dm-0":    {"/dev/disk/by-id/dm-uuid-mpath-3600a098038303053453f463045727046", "/dev/mapper/mpatha", "/dev/mapper/old-style-node"},
		"nvme0n1": nil,
		"sda":     {"/dev/disk/by-id/wwn-0x600a098038303053453f463045727046"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("aliases\n%v\nwant\n%v", got, want)
	}
}

// TestInventoryLiveLoopDevice finds a real loop device in the machine's
// sysfs, with its size and a /dev/mapper-style alias under a root.
func TestInventoryLiveLoopDevice(t *testing.T) {
	loop := looptest.Attach(t, 3<<20)
	root := hostpath.Root(t.TempDir())
	link(t, root, varLocal, loop)
	devs, err := Inventory(Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(loop, "/dev/")
	for _, d := range devs {
		if d.Name == name {
			if d.Size != 3<<20 || !reflect.DeepEqual(d.Aliases, []string{varLocal}) || d.ID != mustProbe(t, loop, Options{}).ID {
				t.Fatalf("%s: %+v", name, d)
			}
			return
		}
	}
	t.Fatalf("%s not in inventory %+v", name, devs)
}
