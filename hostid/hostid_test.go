package hostid

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/storagegrid/storagegrid/internal/hostpath"
)

// TestMain lets the race test run this binary as a separate process that
// prints the host UUID of the root named in HOSTID_TEST_ROOT.
func TestMain(m *testing.M) {
	if root := os.Getenv("HOSTID_TEST_ROOT"); root != "" {
		id, err := Get(hostpath.Root(root))
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString(id)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestCreatedOnceThenStable(t *testing.T) {
	root := hostpath.Root(t.TempDir())
	first, err := Get(root)
	if err != nil {
		t.Fatal(err)
	}
	u, err := uuid.Parse(first)
	if err != nil || u.Version() != 4 || u.String() != first {
		t.Fatalf("Get = %q: want a canonical random (v4) UUID, parse err %v", first, err)
	}
	b, err := os.ReadFile(root.Join(Path))
	if err != nil || string(b) != first+"\n" {
		t.Fatalf("file holds %q, %v; want %q", b, err, first+"\n")
	}
	again, err := Get(root)
	if err != nil || again != first {
		t.Fatalf("second Get = %q, %v; want %q", again, err, first)
	}
	if other, _ := Get(hostpath.Root(t.TempDir())); other == first {
		t.Fatal("two hosts got the same UUID")
	}
}

func TestExistingUpperCaseFileIsKept(t *testing.T) {
	root := hostpath.Root(t.TempDir())
	writeFile(t, root, "6BA7B810-9DAD-41D1-80B4-00C04FD430C8\n")
	got, err := Get(root)
	if err != nil || got != "6ba7b810-9dad-41d1-80b4-00c04fd430c8" {
		t.Fatalf("Get = %q, %v", got, err)
	}
}

func TestMalformedFileIsAnErrorNamingIt(t *testing.T) {
	for _, content := range []string{"", "not-a-uuid\n", "{6ba7b810-9dad-41d1-80b4-00c04fd430c8}\n",
		"00000000-0000-0000-0000-000000000000\n", strings.Repeat("x", 5000)} {
		root := hostpath.Root(t.TempDir())
		writeFile(t, root, content)
		_, err := Get(root)
		if err == nil || !strings.Contains(err.Error(), "malformed host UUID in /var/lib/storagegrid/host-uuid") {
			t.Errorf("content %.20q: err = %v", content, err)
			continue
		}
		if len(err.Error()) > 200 {
			t.Errorf("error quotes the whole file: %d bytes", len(err.Error()))
		}
		b, _ := os.ReadFile(root.Join(Path))
		if string(b) != content {
			t.Errorf("malformed file was changed to %q", b)
		}
	}
}

func TestUnreadableIsAnError(t *testing.T) {
	root := hostpath.Root(t.TempDir())
	if err := os.MkdirAll(root.Join(Path), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Get(root); err == nil || !strings.Contains(err.Error(), Path) {
		t.Fatalf("host-uuid is a directory: err = %v", err)
	}
}

// TestRacingFirstUsesAgree runs goroutines and processes against one empty
// root at once: every one of them must report the same UUID.
func TestRacingFirstUsesAgree(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 10; round++ {
		root := t.TempDir()
		var mu sync.Mutex
		seen := map[string]int{}
		note := func(id string, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Error(err)
			}
			seen[id]++
		}
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(2)
			go func() {
				defer wg.Done()
				note(Get(hostpath.Root(root)))
			}()
			go func() {
				defer wg.Done()
				cmd := exec.Command(exe)
				cmd.Env = append(os.Environ(), "HOSTID_TEST_ROOT="+root)
				out, err := cmd.Output()
				note(string(out), err)
			}()
		}
		wg.Wait()
		if len(seen) != 1 {
			t.Fatalf("round %d: racing first uses disagree: %v", round, seen)
		}
		ents, _ := os.ReadDir(filepath.Dir(hostpath.Root(root).Join(Path)))
		if len(ents) != 1 {
			t.Fatalf("round %d: temp files left: %v", round, ents)
		}
	}
}

func writeFile(t *testing.T, root hostpath.Root, content string) {
	t.Helper()
	p := root.Join(Path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLookupDoesNotCreate(t *testing.T) {
	root := hostpath.Root(t.TempDir())
	id, err := Lookup(root)
	if err != nil || id != "" {
		t.Fatalf("Lookup on a fresh host = %q, %v", id, err)
	}
	if _, err := os.Stat(root.Join(Path)); !os.IsNotExist(err) {
		t.Fatalf("Lookup created %s: %v", Path, err)
	}
	made, err := Get(root)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := Lookup(root); err != nil || id != made {
		t.Fatalf("Lookup after Get = %q, %v; want %q", id, err, made)
	}
}
