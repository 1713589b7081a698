package sdnotify

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestNotifyReadyAndStopping(t *testing.T) {
	sock := Listen(t)
	var n Notifier
	if err := n.Ready(); err != nil {
		t.Fatal(err)
	}
	if got := sock.Next(t); got != "READY=1" {
		t.Fatalf("got %q", got)
	}
	n.Status("spool 0 events")
	if got := sock.Next(t); got != "STATUS=spool 0 events" {
		t.Fatalf("got %q", got)
	}
	n.Stopping()
	if got := sock.Next(t); got != "STOPPING=1" {
		t.Fatalf("got %q", got)
	}
}

func TestWatchdogPingsAtHalfInterval(t *testing.T) {
	sock := Listen(t)
	t.Setenv("WATCHDOG_USEC", "400000")
	t.Setenv("WATCHDOG_PID", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Notifier{}.Watchdog(ctx, func() bool { return true })
	// At half of 400 ms a second holds five pings; at the full interval
	// it would hold two. Four leaves room for a loaded machine.
	deadline := time.Now().Add(1100 * time.Millisecond)
	pings := 0
	buf := make([]byte, 64)
	for {
		sock.conn.SetReadDeadline(deadline)
		n, err := sock.conn.Read(buf)
		if err != nil {
			break
		}
		if !strings.HasPrefix(string(buf[:n]), "WATCHDOG=1") {
			t.Fatalf("got %q", buf[:n])
		}
		pings++
	}
	if pings < 4 {
		t.Fatalf("%d watchdog pings in 1.1 s, want at least 4", pings)
	}
}

func TestWatchdogSilentWhenUnhealthy(t *testing.T) {
	sock := Listen(t)
	t.Setenv("WATCHDOG_USEC", "100000")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Notifier{}.Watchdog(ctx, func() bool { return false })
	sock.conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := sock.conn.Read(make([]byte, 64)); err == nil {
		t.Fatalf("pinged while unhealthy (%d bytes)", n)
	}
}
