package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/storagegrid/storagegrid/internal/hostpath"
)

// Health is the demo payload's answer on its health socket.
type Health struct {
	Node     string    `json:"node"`
	Status   string    `json:"status"` // "ok"
	PID      int       `json:"pid"`
	VarLocal string    `json:"var_local"` // host path of the device it holds open
	Since    time.Time `json:"since"`
}

// HealthSocket is the host path of a node's health socket.
func HealthSocket(name string) string { return RunDir + "/nodes/" + name + "/health.sock" }

// RunDemoPayload simulates a grid node until ctx ends: it holds the node's
// BLOCK_DEVICE_VAR_LOCAL open (as a real node keeps its volume mounted)
// and answers health checks on HealthSocket. When ctx ends (SIGTERM) it
// shuts down gracefully: stops answering, removes the socket, closes the
// device, and returns nil.
func RunDemoPayload(ctx context.Context, root hostpath.Root, name string) error {
	cfg, err := NewRegistry(root).Load(name)
	if err != nil {
		return err
	}
	varLocal, ok := cfg.Get("BLOCK_DEVICE_VAR_LOCAL")
	if !ok || varLocal == "" {
		return fmt.Errorf("%s: BLOCK_DEVICE_VAR_LOCAL is not set", cfg.File())
	}
	dev, err := os.OpenFile(root.Join(varLocal), os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("node %s: open var-local %s: %w", name, varLocal, unwrapPath(err))
	}
	defer dev.Close()
	ln, err := listenHealth(root, name)
	if err != nil {
		return err
	}
	defer os.Remove(root.Join(HealthSocket(name)))
	h := Health{Node: name, Status: "ok", PID: os.Getpid(), VarLocal: varLocal, Since: time.Now().UTC()}
	go func() { <-ctx.Done(); ln.Close() }()
	serveHealth(ln, h)
	return nil
}

// serveHealth answers every connection with h until ln is closed.
func serveHealth(ln net.Listener, h Health) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		conn.SetDeadline(time.Now().Add(time.Second))
		json.NewEncoder(conn).Encode(h)
		conn.Close()
	}
}

func listenHealth(root hostpath.Root, name string) (*net.UnixListener, error) {
	path := root.Join(HealthSocket(name))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("node %s: %w", name, unwrapPath(err))
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("node %s: health socket %s: %w", name, HealthSocket(name), unwrapPath(err))
	}
	var ln *net.UnixListener
	err := viaDir(path, func(addr string) (err error) {
		ln, err = net.ListenUnix("unix", &net.UnixAddr{Name: addr, Net: "unix"})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("node %s: health socket %s: %w", name, HealthSocket(name), err)
	}
	ln.SetUnlinkOnClose(false) // the name it bound may be a /proc/self/fd alias
	return ln, nil
}

// CheckHealth asks a node's payload for its health over HealthSocket.
func CheckHealth(ctx context.Context, root hostpath.Root, name string) (Health, error) {
	var h Health
	var conn net.Conn
	err := viaDir(root.Join(HealthSocket(name)), func(addr string) (err error) {
		conn, err = (&net.Dialer{}).DialContext(ctx, "unix", addr)
		return err
	})
	if err != nil {
		return h, fmt.Errorf("node %s: health check on %s: %w", name, HealthSocket(name), err)
	}
	defer conn.Close()
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	if err := json.NewDecoder(conn).Decode(&h); err != nil {
		return h, fmt.Errorf("node %s: health check on %s: %w", name, HealthSocket(name), err)
	}
	return h, nil
}

// viaDir calls f with an address for the socket at path that fits in a
// sockaddr_un (108 bytes): the directory is opened and named through
// /proc/self/fd, since sandbox roots make paths long.
func viaDir(path string, f func(addr string) error) error {
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return unwrapPath(err)
	}
	defer d.Close()
	return f(fmt.Sprintf("/proc/self/fd/%d/%s", d.Fd(), filepath.Base(path)))
}
