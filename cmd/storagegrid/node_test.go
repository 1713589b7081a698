package main

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
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
