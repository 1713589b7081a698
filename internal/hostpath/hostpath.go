// Package hostpath resolves the host's absolute paths under a root prefix,
// so that tests, the demo and two-host simulations run in sandbox
// directories while printing paths exactly as a real host would.
package hostpath

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

// Root is a directory that stands in for "/". The zero value and "/" mean
// the real root.
type Root string

// Join returns where the absolute host path p lives under the root.
// A relative p is returned unchanged (it is relative to the working
// directory, not the host).
func (r Root) Join(p string) string {
	if !filepath.IsAbs(p) || r == "" || r == "/" {
		return p
	}
	return filepath.Join(string(r), p)
}

// Strip turns a path under the root back into the host path it stands
// for. Paths outside the root are returned unchanged.
func (r Root) Strip(p string) string {
	if r == "" || r == "/" {
		return p
	}
	rel, err := filepath.Rel(string(r), p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return p
	}
	return "/" + filepath.ToSlash(rel)
}

// StripError returns err with the path of an *fs.PathError (what os
// calls return) turned back into the host path, so that "open FILE: no
// such file" names the file as a real host would. Other errors, and path
// errors wrapped in further context, are returned unchanged.
func (r Root) StripError(err error) error {
	var pe *fs.PathError
	if !errors.As(err, &pe) || err != error(pe) {
		return err
	}
	return &fs.PathError{Op: pe.Op, Path: r.Strip(pe.Path), Err: pe.Err}
}

// SafeName reports an error when name cannot be used as one path element:
// empty, ".", "..", or containing a slash or NUL.
func SafeName(what, name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("invalid %s %q: must be a single path element without '/' or '..'", what, name)
	}
	return nil
}
