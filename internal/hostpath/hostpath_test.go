package hostpath

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"testing"
)

func TestJoinAndStrip(t *testing.T) {
	r := Root("/tmp/sandbox")
	if got := r.Join("/etc/storagegrid/nodes"); got != "/tmp/sandbox/etc/storagegrid/nodes" {
		t.Fatalf("Join = %q", got)
	}
	if got := r.Join("rel/file"); got != "rel/file" {
		t.Fatalf("relative Join = %q", got)
	}
	if got := Root("/").Join("/dev/sda"); got != "/dev/sda" {
		t.Fatalf("real root Join = %q", got)
	}
	if got := r.Strip("/tmp/sandbox/dev/mapper/x"); got != "/dev/mapper/x" {
		t.Fatalf("Strip = %q", got)
	}
	if got := r.Strip("/elsewhere/x"); got != "/elsewhere/x" {
		t.Fatalf("Strip outside = %q", got)
	}
}

func TestSafeName(t *testing.T) {
	for _, bad := range []string{"", ".", "..", "a/b", "../x", "a\x00b"} {
		if SafeName("node name", bad) == nil {
			t.Errorf("SafeName(%q) accepted", bad)
		}
	}
	if err := SafeName("node name", "DC1-S3"); err != nil {
		t.Fatal(err)
	}
}

func TestStripError(t *testing.T) {
	r := Root(t.TempDir())
	_, err := os.Open(r.Join("/etc/storagegrid/token"))
	got := r.StripError(err)
	if got.Error() != "open /etc/storagegrid/token: no such file or directory" {
		t.Fatalf("StripError = %q", got)
	}
	if !errors.Is(got, fs.ErrNotExist) {
		t.Fatal("StripError lost the cause")
	}
	wrapped := fmt.Errorf("reading: %w", err)
	if r.StripError(wrapped) != wrapped {
		t.Fatal("a wrapped error must come back unchanged")
	}
	if r.StripError(nil) != nil {
		t.Fatal("nil must stay nil")
	}
}
