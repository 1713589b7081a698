//go:build !agentonly

package main

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/storagegrid/storagegrid/settings"
)

// killNodes ends every node a transcript started under root: first as an
// operator would (--force node stop all, which also handles orphans and
// payloads of any kind), then by killing any process still naming the
// root on its command line, for scripts that broke their own settings.
func killNodes(root string) {
	run([]string{"storagegrid", "--root", root, "--force", "node", "stop", "all"}, nil, io.Discard, io.Discard)
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, path := range paths {
		b, _ := os.ReadFile(path)
		if !slices.Contains(strings.Split(string(b), "\x00"), root) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// TestExampleSettingsDocumentDefaults keeps contrib/storagegrid.toml honest:
// it parses, and the runtime and device values it shows are the defaults.
func TestExampleSettingsDocumentDefaults(t *testing.T) {
	s, err := settings.Load("../../contrib/storagegrid.toml", false)
	if err != nil {
		t.Fatal(err)
	}
	// The example is the reference: every section, every value the default.
	if d := settings.Defaults(); !reflect.DeepEqual(normalize(s), normalize(d)) {
		t.Errorf("contrib/storagegrid.toml differs from the defaults:\n example %+v\ndefaults %+v", s, d)
	}
}

// normalize treats an empty list like an absent one, as TOML cannot tell
// "payload = []" from no payload.
func normalize(s settings.Settings) settings.Settings {
	for _, l := range []*[]string{&s.Runtime.Process.Payload, &s.Agent.Enable, &s.Agent.Disable} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	return s
}
