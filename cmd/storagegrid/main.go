// Command storagegrid is the host-level tool for the Linux hosts of a
// storage grid: node lifecycle, audit-log searches, archive recovery,
// VMware autostart, and the per-host agent and fleet model server.
package main

import "os"

func main() {
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}
