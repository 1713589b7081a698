// Package systemdtest runs a private dbus-daemon and, on it, a stand-in for
// systemd's manager that serves the org.freedesktop.systemd1 calls the
// systemd runtime makes. systemd itself cannot run where the tests run, so
// this is the closest real thing: the runtime talks D-Bus through a real
// bus daemon to a peer that keeps a unit state machine. For tests only.
package systemdtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// DaemonPath is where the tests expect dbus-daemon (Debian package
// dbus-daemon).
const DaemonPath = "/usr/bin/dbus-daemon"

// Available reports whether dbus-daemon is installed; tests skip without it.
func Available() bool {
	_, err := os.Stat(DaemonPath)
	return err == nil
}

// busConfig lets any local client own any name and talk to anyone: the
// bus is private to one test.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
`

// Bus is a private dbus-daemon.
type Bus struct {
	Address string // the daemon's address, unix:path=...

	dir    string
	cmd    *exec.Cmd
	stderr bytes.Buffer
	exited chan struct{}
	once   sync.Once
}

// StartBus starts a dbus-daemon listening on a socket in a new temporary
// directory and returns once it accepts connections. Kill ends it.
func StartBus() (*Bus, error) {
	// Short path: a unix socket path must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "sgbus")
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, busConfig, filepath.Join(dir, "bus.sock")), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	b := &Bus{dir: dir, exited: make(chan struct{})}
	b.cmd = exec.Command(DaemonPath, "--config-file="+cfg, "--print-address", "--nofork", "--nosyslog")
	b.cmd.Stderr = &b.stderr
	out, err := b.cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := b.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", DaemonPath, err)
	}
	go func() { b.cmd.Wait(); close(b.exited) }()
	addr, err := readAddress(out, 10*time.Second)
	if err != nil {
		b.Kill()
		return nil, fmt.Errorf("%s: %w (stderr: %s)", DaemonPath, err, strings.TrimSpace(b.stderr.String()))
	}
	b.Address = addr
	return b, nil
}

// readAddress reads the address line dbus-daemon prints once it listens.
func readAddress(out io.Reader, limit time.Duration) (string, error) {
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case s := <-line:
		if s == "" {
			return "", errors.New("exited without printing its address")
		}
		return s, nil
	case <-time.After(limit):
		return "", fmt.Errorf("printed no address within %v", limit)
	}
}

// Kill ends the daemon, waits for it and removes its directory. Clients
// see their connections close. Safe to call more than once.
func (b *Bus) Kill() {
	b.once.Do(func() {
		b.cmd.Process.Kill()
		<-b.exited
		os.RemoveAll(b.dir)
	})
}
