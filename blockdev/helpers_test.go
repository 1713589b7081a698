package blockdev

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/storagegrid/storagegrid/internal/hostpath"
)

const testHost = "6ba7b810-9dad-41d1-80b4-00c04fd430c8"

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
