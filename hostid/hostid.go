// Package hostid gives the host its identity in the grid: a random UUID
// kept in /var/lib/storagegrid/host-uuid, created on first use. Node
// records name their owning host by it, so it must never change once
// created and two processes using it for the first time must agree.
package hostid

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"

	"github.com/storagegrid/storagegrid/internal/atomicfile"
	"github.com/storagegrid/storagegrid/internal/hostpath"
)

// Path is where the host UUID lives (under the --root prefix).
const Path = "/var/lib/storagegrid/host-uuid"

// Get returns the host UUID in canonical lower-case form, creating it when
// the file does not exist yet. Creation never replaces a file, so when two
// first uses race, the loser reads the winner's UUID.
func Get(root hostpath.Root) (string, error) {
	id, err := read(root)
	if !errors.Is(err, fs.ErrNotExist) {
		return id, err
	}
	file := root.Join(Path)
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return "", fmt.Errorf("create host UUID: %w", err)
	}
	fresh, err := uuid.NewRandom()
	if err != nil {
		return "", fmt.Errorf("create host UUID: %w", err)
	}
	err = atomicfile.Create(file, []byte(fresh.String()+"\n"), 0o644)
	if errors.Is(err, fs.ErrExist) {
		return read(root)
	}
	if err != nil {
		return "", fmt.Errorf("create host UUID %s: %w", Path, err)
	}
	return fresh.String(), nil
}

// Lookup returns the host UUID without creating it: "" when this host has
// none yet (it has never started or imported a node). Read-only commands
// such as validate use it, so that looking does not change the host.
func Lookup(root hostpath.Root) (string, error) {
	id, err := read(root)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	return id, err
}

// read returns the stored UUID; an error wrapping fs.ErrNotExist when
// there is none yet.
func read(root hostpath.Root) (string, error) {
	b, err := os.ReadFile(root.Join(Path))
	if errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err != nil {
		return "", fmt.Errorf("read host UUID %s: %w", Path, err)
	}
	text := strings.TrimSuffix(string(b), "\n")
	id, err := uuid.Parse(text)
	// uuid.Parse also takes urn: and {braced} forms; only our own is valid.
	if err != nil || len(text) != 36 || id == uuid.Nil {
		if len(text) > 40 {
			text = text[:40] + "..."
		}
		return "", fmt.Errorf("malformed host UUID in %s: %q is not a UUID", Path, text)
	}
	return id.String(), nil
}
