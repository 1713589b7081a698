// Package unitcheck has systemd check the project's unit files offline,
// for the tests of the packages whose daemons they run. For tests only.
package unitcheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Verify runs systemd-analyze verify on the unit file at path and fails
// the test on any output: a misspelt key or a bad value is only a warning
// there. verify checks that ExecStart is executable, and the program is
// not installed where the tests run, so program (the ExecStart binary
// followed by a blank) is replaced by /bin/true. For a template unit
// ("name@.service"), instance names the instance verified through it.
// It returns the unit's text for further checks.
func Verify(t testing.TB, path, program, instance string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("needs systemd-analyze (Debian package systemd; .ci/run installs it)")
	}
	dir := t.TempDir()
	name := filepath.Base(path)
	text := strings.ReplaceAll(string(data), program+" ", "/bin/true ")
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(dir, name)
	if instance != "" {
		unit = filepath.Join(dir, instance)
		if err := os.Symlink(name, unit); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(analyze, "verify", "--man=no", unit).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("systemd-analyze verify %s: %v\n%s", path, err, out)
	}
	return string(data)
}
