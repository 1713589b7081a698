package agent

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// listenNotify is systemd's end of NOTIFY_SOCKET: a real unixgram socket.
func listenNotify(t *testing.T) *net.UnixConn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return conn
}

func readDatagram(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no datagram: %v", err)
	}
	return string(buf[:n])
}

func TestNotifyReadyAndStopping(t *testing.T) {
	sock := listenNotify(t)
	var n Notifier
	if err := n.Ready(); err != nil {
		t.Fatal(err)
	}
	if got := readDatagram(t, sock); got != "READY=1" {
		t.Fatalf("got %q", got)
	}
	n.Status("spool 0 events")
	if got := readDatagram(t, sock); got != "STATUS=spool 0 events" {
		t.Fatalf("got %q", got)
	}
	n.Stopping()
	if got := readDatagram(t, sock); got != "STOPPING=1" {
		t.Fatalf("got %q", got)
	}
}

func TestWatchdogPingsAtHalfInterval(t *testing.T) {
	sock := listenNotify(t)
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
		sock.SetReadDeadline(deadline)
		n, err := sock.Read(buf)
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
	sock := listenNotify(t)
	t.Setenv("WATCHDOG_USEC", "100000")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Notifier{}.Watchdog(ctx, func() bool { return false })
	sock.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := sock.Read(make([]byte, 64)); err == nil {
		t.Fatalf("pinged while unhealthy (%d bytes)", n)
	}
}
