package sdnotify

import (
	"net"
	"path/filepath"
	"testing"
	"time"
)

// Listener is systemd's end of NOTIFY_SOCKET, for tests: a real unixgram
// socket that the daemon under test notifies.
type Listener struct{ conn *net.UnixConn }

// Listen makes a Listener and points NOTIFY_SOCKET at it for the test.
func Listen(t testing.TB) *Listener {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return &Listener{conn: conn}
}

// Next returns the next notification, failing the test after 5 s.
func (l *Listener) Next(t testing.TB) string {
	t.Helper()
	l.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := l.conn.Read(buf)
	if err != nil {
		t.Fatalf("no datagram: %v", err)
	}
	return string(buf[:n])
}
