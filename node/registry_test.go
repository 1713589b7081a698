package node

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/internal/hostpath"
)

// newRoot returns a sandbox root with an empty node config directory.
func newRoot(t testing.TB) hostpath.Root {
	t.Helper()
	root := hostpath.Root(t.TempDir())
	if err := os.MkdirAll(root.Join(ConfigDir), 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

func writeFile(t testing.TB, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestNamesIgnoresMisnamedFilesWithWarnings(t *testing.T) {
	root := newRoot(t)
	dir := root.Join(ConfigDir)
	for _, f := range []string{"DC1-S3.conf", "DC1-ADM1.conf", "my-file.txt", "1bad.conf", "DC1_S9.conf",
		".conf", strings.Repeat("N", 33) + ".conf", "DC1-S1.conf.bak"} {
		writeFile(t, filepath.Join(dir, f), "A = 1\n")
	}
	os.Mkdir(filepath.Join(dir, "DC1-S7.conf"), 0o755)
	names, warnings, err := NewRegistry(root).Names()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, " ") != "DC1-ADM1 DC1-S3" {
		t.Errorf("names = %v", names)
	}
	var got []string
	for _, w := range warnings {
		got = append(got, w.String())
		if w.Reason == "" {
			t.Errorf("warning %s has no reason", w)
		}
	}
	want := []string{
		"ignoring /etc/storagegrid/nodes/.conf",
		"ignoring /etc/storagegrid/nodes/1bad.conf",
		"ignoring /etc/storagegrid/nodes/DC1-S1.conf.bak",
		"ignoring /etc/storagegrid/nodes/DC1-S7.conf",
		"ignoring /etc/storagegrid/nodes/DC1_S9.conf",
		"ignoring /etc/storagegrid/nodes/" + strings.Repeat("N", 33) + ".conf",
		"ignoring /etc/storagegrid/nodes/my-file.txt",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestNamesMissingDirectory(t *testing.T) {
	root := hostpath.Root(t.TempDir())
	_, _, err := NewRegistry(root).Names()
	if err == nil || !strings.Contains(err.Error(), "/etc/storagegrid/nodes: no such file or directory") ||
		strings.Contains(err.Error(), string(root)) {
		t.Errorf("error = %v; want the host path, not the sandbox", err)
	}
}

func TestNamesUnreadableDirectory(t *testing.T) {
	root := hostpath.Root(t.TempDir())
	writeFile(t, root.Join(ConfigDir), "a file where the directory should be")
	if _, _, err := NewRegistry(root).Names(); err == nil || !strings.Contains(err.Error(), ConfigDir) {
		t.Errorf("error = %v", err)
	}
}

func TestLoadUnknownListsKnown(t *testing.T) {
	root := newRoot(t)
	writeFile(t, root.Join(ConfigDir+"/DC1-S1.conf"), "A = 1\n")
	writeFile(t, root.Join(ConfigDir+"/DC1-S2.conf"), "A = 1\n")
	_, err := NewRegistry(root).Load("DC1-S9")
	if !errors.Is(err, ErrUnknownNode) || !strings.Contains(err.Error(), "nodes configured here: DC1-S1, DC1-S2") {
		t.Errorf("error = %v", err)
	}
}

func TestLoadRejectsPathNames(t *testing.T) {
	root := newRoot(t)
	writeFile(t, root.Join("/etc/storagegrid/secret.conf"), "A = 1\n")
	for _, name := range []string{"../secret", "a/b", ""} {
		if _, err := NewRegistry(root).Load(name); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Load(%q) = %v, want ErrInvalidName", name, err)
		}
	}
}

func TestLoadReportsParseErrorWithHostPath(t *testing.T) {
	root := newRoot(t)
	writeFile(t, root.Join(ConfigDir+"/DC1-S3.conf"), "NODE_TYPE = VM_Storage_Node\nBROKEN\n")
	_, err := NewRegistry(root).Load("DC1-S3")
	if err == nil || !strings.HasPrefix(err.Error(), "/etc/storagegrid/nodes/DC1-S3.conf:2: ") {
		t.Errorf("error = %v", err)
	}
}

func TestWriteLoadRemove(t *testing.T) {
	root := hostpath.Root(t.TempDir()) // Write creates the directory
	reg := NewRegistry(root)
	c := NewConfig(reg.Path("DC1-S3"))
	c.Set("NODE_TYPE", "VM_Storage_Node")
	c.Set("BLOCK_DEVICE_VAR_LOCAL", "/dev/mapper/sgws-dc1-s3-var-local")
	if err := reg.Write("DC1-S3", c); err != nil {
		t.Fatal(err)
	}
	got, err := reg.Load("DC1-S3")
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Bytes()) != string(c.Bytes()) || got.File() != "/etc/storagegrid/nodes/DC1-S3.conf" {
		t.Errorf("loaded %q from %s", got.Bytes(), got.File())
	}
	entries, _ := os.ReadDir(root.Join(ConfigDir))
	if len(entries) != 1 {
		t.Errorf("config dir holds %d entries after an atomic write, want 1", len(entries))
	}
	if err := reg.Write("../DC1-S3", c); !errors.Is(err, ErrInvalidName) {
		t.Errorf("Write with a path name: %v", err)
	}
	if err := reg.Remove("DC1-S3"); err != nil {
		t.Fatal(err)
	}
	if err := reg.Exists("DC1-S3"); !errors.Is(err, ErrUnknownNode) {
		t.Errorf("after Remove: %v", err)
	}
}

func TestResolve(t *testing.T) {
	root := newRoot(t)
	writeFile(t, root.Join(ConfigDir+"/DC1-S1.conf"), "A = 1\n")
	writeFile(t, root.Join(ConfigDir+"/DC1-S2.conf"), "A = 1\n")
	writeFile(t, root.Join(ConfigDir+"/notes.txt"), "")
	reg := NewRegistry(root)
	for _, args := range [][]string{nil, {"all"}} {
		names, warnings, err := reg.Resolve(args)
		if err != nil || strings.Join(names, " ") != "DC1-S1 DC1-S2" || len(warnings) != 1 {
			t.Errorf("Resolve(%v) = %v, %v, %v", args, names, warnings, err)
		}
	}
	names, _, err := reg.Resolve([]string{"DC1-S2", "X", "DC1-S2"})
	if err != nil || strings.Join(names, " ") != "DC1-S2 X" {
		t.Errorf("Resolve(names) = %v, %v", names, err)
	}
	if _, _, err := reg.Resolve([]string{"all", "DC1-S1"}); fail.KindOf(err) != fail.Usage {
		t.Errorf("Resolve(all + name) = %v, want a usage error", err)
	}
}

// The temporary file of a config write killed half-way is never listed as
// a misnamed file, and the next command's Tidy removes it; one whose node
// another command has locked (a write in progress) stays.
func TestTidyRemovesTheTempFilesOfKilledWrites(t *testing.T) {
	f := newFixture(t, "ok", 0)
	writeFile(t, f.root.Join(ConfigDir+"/.DC1-S3.conf.tmp-123456"), "NODE_TYPE = VM_Stor")
	writeFile(t, f.root.Join(ConfigDir+"/.DC1-S4.conf.tmp-654321"), "NODE_TYPE = VM_Stor")
	names, warnings, err := f.mgr.Registry().Names()
	if err != nil || len(names) != 0 || len(warnings) != 0 {
		t.Fatalf("Names: %v, warnings %v, %v", names, warnings, err)
	}
	busy, err := LockNode(bg, f.root, "DC1-S4")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Unlock()
	notes, err := f.mgr.Tidy(bg)
	if err != nil || len(notes) != 1 || !strings.Contains(notes[0], ".DC1-S3.conf.tmp-123456, left by a config write of node DC1-S3 that was killed") {
		t.Fatalf("Tidy: %q, %v", notes, err)
	}
	if _, err := os.Stat(f.root.Join(ConfigDir + "/.DC1-S3.conf.tmp-123456")); !os.IsNotExist(err) {
		t.Fatal("the stale temp file is still there")
	}
	if _, err := os.Stat(f.root.Join(ConfigDir + "/.DC1-S4.conf.tmp-654321")); err != nil {
		t.Fatal("a locked node's temp file was removed")
	}
}
