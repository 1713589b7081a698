//go:build !agentonly

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The manual page has the sections a manual page has, the global options
// once (not under every command), the environment and exit codes, and
// man(1) renders it without a warning.
func TestManPage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"storagegrid", "man"}, nil, &out, &errb); code != 0 {
		t.Fatalf("storagegrid man: exit %d: %s", code, errb.String())
	}
	page := filepath.Join(t.TempDir(), "storagegrid.8")
	if err := os.WriteFile(page, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	manBin, err := exec.LookPath("man")
	if err != nil {
		t.Fatal("needs man (Debian package man-db)")
	}
	cmd := exec.Command(manBin, "--warnings", "-l", page)
	cmd.Env = append(os.Environ(), "MANPAGER=cat", "MANWIDTH=100", "LANG=C.UTF-8")
	var text, warnings bytes.Buffer
	cmd.Stdout, cmd.Stderr = &text, &warnings
	if err := cmd.Run(); err != nil || warnings.Len() > 0 {
		t.Fatalf("man --warnings -l: %v\n%s", err, warnings.String())
	}
	rendered := text.String()
	for _, section := range []string{"NAME", "SYNOPSIS", "DESCRIPTION", "GLOBAL OPTIONS", "COMMANDS", "FILES",
		"ENVIRONMENT", "EXIT STATUS", "EXAMPLES"} {
		if !regexp.MustCompile(`(?m)^` + section + `$`).MatchString(rendered) {
			t.Errorf("no %s section", section)
		}
	}
	words := strings.Join(strings.Fields(rendered), " ") // justification pads with blanks
	if n := strings.Count(words, "--root DIR"); n != 1 {
		t.Errorf("--root DIR appears %d times, want once (the global options)", n)
	}
	for _, want := range []string{"STORAGEGRID_ROOT", "storagegrid node migrate", "/etc/storagegrid/storagegrid.toml",
		"Refused for safety", "--timeout D"} {
		if !strings.Contains(words, want) {
			t.Errorf("the page does not say %q", want)
		}
	}
}
