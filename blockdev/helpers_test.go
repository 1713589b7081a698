package blockdev

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/internal/hostpath"
)

const testHost = "6ba7b810-9dad-41d1-80b4-00c04fd430c8"

// needLoop skips when the machine cannot give this test loop devices.
func needLoop(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for loop devices")
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skip("no /dev/loop-control: ", err)
	}
}

// loopDevice attaches a zeroed backing file of size bytes to a free loop
// device and detaches it when the test ends. Other tests on the machine
// attach loop devices too, so a lost race for a free one is retried.
func loopDevice(t testing.TB, size int64) string {
	t.Helper()
	needLoop(t)
	backing := filepath.Join(t.TempDir(), "backing.img")
	if err := os.WriteFile(backing, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(backing, size); err != nil {
		t.Fatal(err)
	}
	var out []byte
	var err error
	for try := 0; try < 5; try++ {
		out, err = exec.Command("losetup", "--find", "--show", backing).CombinedOutput()
		if err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("losetup --find --show %s: %v: %s", backing, err, out)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if out, err := exec.Command("losetup", "-d", dev).CombinedOutput(); err != nil {
			t.Errorf("losetup -d %s: %v: %s", dev, err, out)
		}
	})
	return dev
}

// link makes the host path hostPath under root a symlink to target and
// returns hostPath.
func link(t testing.TB, root hostpath.Root, hostPath, target string) string {
	t.Helper()
	p := root.Join(hostPath)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
	return hostPath
}

// sparseFile creates a zeroed regular file of size bytes at the host path
// p under root.
func sparseFile(t testing.TB, root hostpath.Root, p string, size int64) string {
	t.Helper()
	real := root.Join(p)
	if err := os.MkdirAll(filepath.Dir(real), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(real, size); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustProbe(t testing.TB, path string, opts Options) Device {
	t.Helper()
	d, err := Probe(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func wantErr(t testing.TB, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not contain %q", err, p)
		}
	}
}
