package main

import (
	"os"
	"path/filepath"

	"github.com/dustin/go-humanize"
	"github.com/rogpeppe/go-internal/testscript"
)

// devices SIZE FILE... makes each FILE a sparse regular file of SIZE
// (e.g. 2MiB), standing in for a block device under [devices] allow_files.
// The node record needs the last MiB, so the txtar's empty files will not do.
func devices(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: devices SIZE FILE...")
	}
	size, err := humanize.ParseBytes(args[0])
	if err != nil {
		ts.Fatalf("devices: %v", err)
	}
	for _, f := range args[1:] {
		p := ts.MkAbs(f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			ts.Fatalf("devices: %v", err)
		}
		file, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE, 0o644)
		if err == nil {
			err = file.Truncate(int64(size))
			file.Close()
		}
		if err != nil {
			ts.Fatalf("devices: %v", err)
		}
	}
}
