package secretfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFirstLine(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name, content string
		mode          os.FileMode
		want, err     string
	}{
		{"lf", "s3cret\nignored\n", 0o600, "s3cret", ""},
		{"crlf", "s3cret\r\n", 0o400, "s3cret", ""},
		{"no-newline", "s3cret", 0o600, "s3cret", ""},
		{"empty-first", "\nsecond-line-secret\n", 0o600, "", "password file /etc/x: first line is empty"},
		{"group", "s3cret\n", 0o640, "", "password file /etc/x: mode 0640 lets others read it; chmod 600 /etc/x"},
		{"world", "s3cret\n", 0o604, "", "password file /etc/x: mode 0604 lets others read it; chmod 600 /etc/x"},
	} {
		got, err := FirstLine(write(c.name, c.content, c.mode), "/etc/x")
		if got != c.want || (err == nil) != (c.err == "") || err != nil && err.Error() != c.err {
			t.Errorf("%s: got %q, %v; want %q, %s", c.name, got, err, c.want, c.err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the error shows the secret", c.name)
		}
	}
	if _, err := FirstLine(filepath.Join(dir, "missing"), "/etc/x"); err == nil || err.Error() != "password file /etc/x: no such file or directory" {
		t.Errorf("missing: %v", err)
	}
	if _, err := FirstLine(dir, "/etc/x"); err == nil || err.Error() != "password file /etc/x: not a regular file" {
		t.Errorf("directory: %v", err)
	}
}
