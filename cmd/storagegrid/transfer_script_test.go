//go:build !agentonly

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

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

// loopdev SIZE FILE LINK... attaches a zeroed FILE of SIZE to a free loop
// device, detached when the script ends, and makes each LINK (e.g.
// root/dev/mapper/sgws-dc1-s3-var-local) a symlink to it: two roots
// linking one device are two hosts sharing storage.
func loopdev(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 {
		ts.Fatalf("usage: loopdev SIZE FILE LINK...")
	}
	devices(ts, false, args[:2])
	var out []byte
	var err error
	for try := 0; try < 5; try++ { // other tests race for free loop devices
		if out, err = exec.Command("losetup", "--find", "--show", ts.MkAbs(args[1])).CombinedOutput(); err == nil {
			break
		}
	}
	if err != nil {
		ts.Fatalf("losetup: %v: %s", err, out)
	}
	dev := strings.TrimSpace(string(out))
	ts.Defer(func() { exec.Command("losetup", "-d", dev).Run() })
	for _, l := range args[2:] {
		p := ts.MkAbs(l)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			ts.Fatalf("loopdev: %v", err)
		}
		ts.Check(os.Symlink(dev, p))
	}
}

// scriptCondition adds [root]: loop devices need root.
func scriptCondition(cond string) (bool, error) {
	if cond == "root" {
		return os.Geteuid() == 0, nil
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}
