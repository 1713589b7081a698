package main

import (
	"os"
	"runtime/debug"
	"testing"
)

// TestTightenGC: the daemon runs at daemonGCPercent unless the operator
// set GOGC, which then wins.
func TestTightenGC(t *testing.T) {
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)

	t.Setenv("GOGC", "")
	tightenGC()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set, tightenGC changed the GC percent to %d", got)
	}

	// t.Setenv restores GOGC afterwards; unset it for the default case.
	t.Setenv("GOGC", "x")
	os.Unsetenv("GOGC")
	tightenGC()
	if got := debug.SetGCPercent(100); got != daemonGCPercent {
		t.Errorf("without GOGC the GC percent is %d, want %d", got, daemonGCPercent)
	}
}
