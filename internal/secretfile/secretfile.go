// Package secretfile reads the files that hold a password for storagegrid
// to pass on (vSphere, the TSM administrator): the first line is the
// secret, the file must not be readable by group or others (mode 0600 or
// 0400, as ssh demands of a key), and its content never appears in an
// error. Errors name the file as the caller shows it (the host's path,
// not the sandbox path under --root).
package secretfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// FirstLine returns the first line of the file at path, without its line
// end; shown is how errors name the file.
func FirstLine(path, shown string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("password file %s: %w", shown, unwrapPath(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("password file %s: %w", shown, unwrapPath(err))
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("password file %s: not a regular file", shown)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("password file %s: mode %04o lets others read it; chmod 600 %s", shown, perm, shown)
	}
	data, err := io.ReadAll(io.LimitReader(f, 64<<10)) // a password line, not a document
	if err != nil {
		return "", fmt.Errorf("password file %s: %w", shown, unwrapPath(err))
	}
	line, _, _ := strings.Cut(string(data), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", fmt.Errorf("password file %s: first line is empty", shown)
	}
	return line, nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
