package node

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/storagegrid/storagegrid/internal/atomicfile"
	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/internal/hostpath"
)

// ConfigDir is where a host keeps one NAME.conf per node.
const ConfigDir = "/etc/storagegrid/nodes"

// MaxNameLen is the longest node name allowed.
const MaxNameLen = 32

// ErrUnknownNode is matched (errors.Is) by the error for a node that has
// no config file on this host.
var ErrUnknownNode = errors.New("unknown node")

// ErrInvalidName is matched (errors.Is) by the error for a name that
// breaks the node-name rules.
var ErrInvalidName = errors.New("invalid node name")

// UnknownNodeError names the node asked for and the nodes configured here.
type UnknownNodeError struct {
	Name  string
	Known []string
}

func (e *UnknownNodeError) Error() string {
	known := "none"
	if len(e.Known) > 0 {
		known = strings.Join(e.Known, ", ")
	}
	return fmt.Sprintf("unknown node %s: no %s/%s.conf (nodes configured here: %s)", e.Name, ConfigDir, e.Name, known)
}

// Is makes errors.Is(err, ErrUnknownNode) true.
func (e *UnknownNodeError) Is(target error) bool { return target == ErrUnknownNode }

// ValidName checks the node-name rules: a letter first, then letters,
// digits and '-', at most MaxNameLen characters. A valid name is also safe
// as a path element.
func ValidName(name string) error {
	bad := name == "" || len(name) > MaxNameLen || !isLetter(rune(name[0]))
	for _, r := range name {
		if !isLetter(r) && !(r >= '0' && r <= '9') && r != '-' {
			bad = true
		}
	}
	if bad {
		return fmt.Errorf("%w %q: must start with a letter, contain only letters, digits and '-', "+
			"and have at most %d characters", ErrInvalidName, name, MaxNameLen)
	}
	return nil
}

func isLetter(r rune) bool { return (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') }

// IgnoredFile is an entry of the config directory that is not a node
// config (not NAME.conf with a valid name); commands warn about it.
type IgnoredFile struct {
	Path   string // host path
	Reason string
}

// String reads like the runbook: "ignoring /etc/storagegrid/nodes/my-file.txt".
func (w IgnoredFile) String() string { return "ignoring " + w.Path }

// Registry is the set of nodes configured on a host: the NAME.conf files
// in ConfigDir under a root.
type Registry struct {
	root hostpath.Root
}

// NewRegistry returns the registry of the host at root.
func NewRegistry(root hostpath.Root) *Registry { return &Registry{root: root} }

// Path is the host path of a node's config file.
func (r *Registry) Path(name string) string { return ConfigDir + "/" + name + ".conf" }

// Names lists the configured nodes, sorted, and a warning for every entry
// of the config directory that is not NAME.conf with a valid name. A
// missing or unreadable directory is an error.
func (r *Registry) Names() ([]string, []IgnoredFile, error) {
	entries, err := os.ReadDir(r.root.Join(ConfigDir))
	if err != nil {
		return nil, nil, fmt.Errorf("node config directory %s: %w", ConfigDir, unwrapPath(err))
	}
	var names []string
	var warnings []IgnoredFile
	for _, e := range entries {
		if _, ok := tempOf(e.Name()); ok {
			continue // a config being written, or left by a writer killed mid-way (Tidy)
		}
		name, ok := strings.CutSuffix(e.Name(), ".conf")
		if !ok || !e.Type().IsRegular() || ValidName(name) != nil {
			w := IgnoredFile{Path: ConfigDir + "/" + e.Name(), Reason: misnamedReason(e, name, ok)}
			warnings = append(warnings, w)
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return names, warnings, nil
}

// tempOf recognises the temporary file of an atomic write of a node's
// config (internal/atomicfile: ".NAME.conf.tmp-RANDOM") and returns NAME.
func tempOf(file string) (string, bool) {
	rest, ok := strings.CutPrefix(file, ".")
	if !ok {
		return "", false
	}
	i := strings.LastIndex(rest, ".conf.tmp-")
	if i < 0 || ValidName(rest[:i]) != nil {
		return "", false
	}
	return rest[:i], true
}

func misnamedReason(e fs.DirEntry, name string, hasSuffix bool) string {
	switch {
	case !hasSuffix:
		return "not named NAME.conf"
	case !e.Type().IsRegular():
		return "not a regular file"
	default:
		return ValidName(name).Error()
	}
}

// Exists reports whether name has a config file, and an error when name
// is invalid or unknown (UnknownNodeError).
func (r *Registry) Exists(name string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	fi, err := os.Stat(r.root.Join(r.Path(name)))
	if err == nil && fi.Mode().IsRegular() {
		return nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", r.Path(name), unwrapPath(err))
	}
	known, _, _ := r.Names()
	return &UnknownNodeError{Name: name, Known: known}
}

// Load reads and parses a node's config file.
func (r *Registry) Load(name string) (*Config, error) {
	if err := r.Exists(name); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(r.root.Join(r.Path(name)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.Path(name), unwrapPath(err))
	}
	return ParseConfig(r.Path(name), bytes.NewReader(data))
}

// Write stores a node's config atomically, creating the config directory
// when needed.
func (r *Registry) Write(name string, c *Config) error {
	if err := ValidName(name); err != nil {
		return err
	}
	dir := r.root.Join(ConfigDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("node config directory %s: %w", ConfigDir, unwrapPath(err))
	}
	if err := atomicfile.Write(filepath.Join(dir, name+".conf"), c.Bytes(), c.FileMode()); err != nil {
		return fmt.Errorf("%s: %w", r.Path(name), unwrapPath(err))
	}
	return nil
}

// Remove deletes a node's config file.
func (r *Registry) Remove(name string) error {
	if err := r.Exists(name); err != nil {
		return err
	}
	if err := os.Remove(r.root.Join(r.Path(name))); err != nil {
		return fmt.Errorf("%s: %w", r.Path(name), unwrapPath(err))
	}
	return atomicfile.SyncDir(r.root.Join(ConfigDir))
}

// unwrapPath drops the sandbox path from *fs.PathError so that messages
// show the host path the caller prints instead.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Resolve turns the names on a command line into node names: none, or the
// single word "all", means every configured node (with the warnings of
// Names); otherwise the names as given, without repeats. Each name is
// checked when it is used, so that one bad name does not stop the others.
func (r *Registry) Resolve(args []string) ([]string, []IgnoredFile, error) {
	if len(args) == 0 || (len(args) == 1 && args[0] == "all") {
		return r.Names()
	}
	var names []string
	seen := map[string]bool{}
	for _, a := range args {
		if a == "all" {
			return nil, nil, fail.Usagef("\"all\" cannot be combined with node names")
		}
		if !seen[a] {
			seen[a] = true
			names = append(names, a)
		}
	}
	return names, nil, nil
}
