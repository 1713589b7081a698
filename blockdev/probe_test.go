package blockdev

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/storagegrid/storagegrid/internal/hostpath"
	"github.com/storagegrid/storagegrid/internal/looptest"
)

const varLocal = "/dev/mapper/sgws-dc1-s3-var-local"

func TestProbeLoopDeviceThroughMapperSymlinks(t *testing.T) {
	loop := looptest.Attach(t, 3<<20)
	root := hostpath.Root(t.TempDir())
	link(t, root, varLocal, loop)
	// A relative chain, as udev makes them: by-id -> ../../mapper/... -> /dev/loopN.
	byID := link(t, root, "/dev/disk/by-id/dm-name-sgws-dc1-s3-var-local", "../../mapper/sgws-dc1-s3-var-local")

	var st unix.Stat_t
	if err := unix.Stat(loop, &st); err != nil {
		t.Fatal(err)
	}
	want := Identity{Major: unix.Major(st.Rdev), Minor: unix.Minor(st.Rdev)}
	for _, p := range []string{varLocal, byID} {
		d := mustProbe(t, p, Options{Root: root})
		if d.Kind != Block || d.Size != 3<<20 || d.Identity != want || d.Path != p || d.Resolved != loop {
			t.Errorf("Probe(%s) = %+v; want block, %d bytes, %v, resolved %s", p, d, 3<<20, want, loop)
		}
		if d.ID != want.String() || d.WWID != "" {
			t.Errorf("Probe(%s): ID %q WWID %q", p, d.ID, d.WWID)
		}
	}
}

func TestProbeRegularFilesOnlyWhenAllowed(t *testing.T) {
	root := hostpath.Root(t.TempDir())
	p := sparseFile(t, root, "/var/lib/sg/var-local.img", 2<<20)
	_, err := Probe(p, Options{Root: root})
	wantErr(t, err, p+" is not a valid block device: it is a regular file", "allow_files")

	allow := Options{Root: root, AllowFiles: true}
	d := mustProbe(t, p, allow)
	if d.Kind != File || d.Size != 2<<20 || d.Identity.Inode == 0 {
		t.Fatalf("Probe = %+v", d)
	}
	// Two paths to one file are one device; another file is not.
	sym := link(t, root, varLocal, root.Join(p))
	hard := "/var/lib/sg/hardlink.img"
	if err := os.Link(root.Join(p), root.Join(hard)); err != nil {
		t.Fatal(err)
	}
	other := sparseFile(t, root, "/var/lib/sg/other.img", 2<<20)
	for _, q := range []string{sym, hard} {
		if got := mustProbe(t, q, allow); got.Identity != d.Identity {
			t.Errorf("%s: identity %v, want %v (same file as %s)", q, got.Identity, d.Identity, p)
		}
	}
	if got := mustProbe(t, sym, allow); got.Resolved != p {
		t.Errorf("resolved %q, want host path %q", got.Resolved, p)
	}
	if got := mustProbe(t, other, allow); got.Identity == d.Identity {
		t.Errorf("different files share identity %v", d.Identity)
	}
}

func TestProbeRejectsWhatIsNotADevice(t *testing.T) {
	root := hostpath.Root(t.TempDir())
	if err := os.MkdirAll(root.Join("/dev/mapper/dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	link(t, root, "/dev/mapper/loop-a", "loop-b")
	link(t, root, "/dev/mapper/loop-b", "loop-a")
	link(t, root, "/dev/mapper/dangling", "/dev/no-such-device-here")
	link(t, root, "/dev/mapper/null", "/dev/null")
	if err := unix.Mkfifo(root.Join("/dev/mapper/fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ path, want string }{
		{"/dev/mapper/dir", "/dev/mapper/dir is not a valid block device: it is a directory"},
		{"/dev/mapper/loop-a", "/dev/mapper/loop-a: symlink loop"},
		{"/dev/mapper/missing", "/dev/mapper/missing does not exist"},
		{"/dev/mapper/dangling", "/dev/mapper/dangling does not exist (a symlink to /dev/no-such-device-here, which does not exist)"},
		{"/dev/mapper/null", "/dev/mapper/null is not a valid block device: it is a character device"},
		{"/dev/mapper/fifo", "/dev/mapper/fifo is not a valid block device: it is a named pipe"},
	}
	for _, c := range cases {
		_, err := Probe(c.path, Options{Root: root, AllowFiles: true})
		wantErr(t, err, c.want)
	}
	_, err := Probe("/dev/mapper/missing", Options{Root: root})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing device: %v does not wrap fs.ErrNotExist", err)
	}
}

func TestProbeWWIDFromSysfs(t *testing.T) {
	loop := looptest.Attach(t, 2<<20)
	d := mustProbe(t, loop, Options{})
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"scsi", map[string]string{"device/wwid": "naa.600a098038303053453f463045727046\n"}, "naa.600a098038303053453f463045727046"},
		{"nvme", map[string]string{"wwid": "eui.0025388b91b4e6a1\n"}, "eui.0025388b91b4e6a1"},
		{"multipath", map[string]string{"dm/uuid": "mpath-3600a098038303053453f463045727046\n"}, "mpath-3600a098038303053453f463045727046"},
		{"scsi wins", map[string]string{"device/wwid": "naa.1\n", "dm/uuid": "LVM-x\n"}, "naa.1"},
		{"blank skipped", map[string]string{"device/wwid": "\n", "dm/uuid": "LVM-abc\n"}, "LVM-abc"},
		{"none", map[string]string{"size": "4096\n"}, ""},
	}
	for _, c := range cases {
		sys := t.TempDir()
		for f, content := range c.files {
			p := filepath.Join(sys, "dev/block", d.ID, f)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if got := mustProbe(t, loop, Options{SysfsRoot: sys}); got.WWID != c.want {
			t.Errorf("%s: WWID %q, want %q", c.name, got.WWID, c.want)
		}
	}
}

func TestCheckExclusiveSeesAnExclusiveHolder(t *testing.T) {
	loop := looptest.Attach(t, 2<<20)
	root := hostpath.Root(t.TempDir())
	link(t, root, varLocal, loop)
	d := mustProbe(t, varLocal, Options{Root: root})
	if err := d.CheckExclusive(); err != nil {
		t.Fatalf("free device: %v", err)
	}
	fd, err := unix.Open(loop, unix.O_RDONLY|unix.O_EXCL|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	err = d.CheckExclusive()
	unix.Close(fd)
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("held device: %v, want ErrInUse", err)
	}
	wantErr(t, err, varLocal+" is in use")
	if err := d.CheckExclusive(); err != nil {
		t.Fatalf("released device: %v", err)
	}

	f := mustProbe(t, sparseFile(t, root, "/img", 2<<20), Options{Root: root, AllowFiles: true})
	if err := f.CheckExclusive(); err != nil {
		t.Fatalf("regular file: %v", err)
	}
}
