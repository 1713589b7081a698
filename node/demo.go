package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/storagegrid/storagegrid/internal/hostpath"
	"github.com/storagegrid/storagegrid/netcheck"
)

// Health is the demo payload's answer on its health socket.
type Health struct {
	Node     string    `json:"node"`
	Status   string    `json:"status"` // "ok"
	PID      int       `json:"pid"`
	VarLocal string    `json:"var_local"` // host path of the device it holds open
	Since    time.Time `json:"since"`
	// Interfaces are the host interfaces its config attaches, as of its
	// start or last reload (SIGHUP); Reloads counts the reloads.
	Interfaces []string `json:"interfaces"`
	Reloads    int      `json:"reloads"`
	// Recovery: it was started by force-recovery (RecoveryEnv).
	Recovery bool `json:"recovery,omitempty"`
}

// HealthSocket is the host path of a node's health socket.
func HealthSocket(name string) string { return RunDir + "/nodes/" + name + "/health.sock" }

// RunDemoPayload simulates a grid node until ctx ends: it holds the node's
// BLOCK_DEVICE_VAR_LOCAL open (as a real node keeps its volume mounted)
// and answers health checks on HealthSocket. SIGHUP (node reload) makes
// it re-read its config and attach the interfaces it names. When ctx ends
// (SIGTERM) it shuts down gracefully: stops answering, removes the socket,
// closes the device, and returns nil.
func RunDemoPayload(ctx context.Context, root hostpath.Root, name string) error {
	// First: until then a SIGHUP would end the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
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
	h := &demoHealth{h: Health{Node: name, Status: "ok", PID: os.Getpid(), VarLocal: varLocal, Since: time.Now().UTC(),
		Interfaces: interfacesOf(name, cfg), Recovery: os.Getenv(RecoveryEnv) == "1"}}
	go func() {
		for {
			select {
			case <-ctx.Done():
				ln.Close()
				return
			case <-hup:
				h.reload(root, name)
			}
		}
	}()
	serveHealth(ln, h)
	return nil
}

// demoHealth is the demo payload's Health, changed by reloads while the
// health socket reads it.
type demoHealth struct {
	mu sync.Mutex
	h  Health
}

func (d *demoHealth) get() Health {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.h
}

// reload re-reads the node's config; one that no longer parses leaves the
// interfaces as they were, as a node keeps running on its old config.
func (d *demoHealth) reload(root hostpath.Root, name string) {
	cfg, err := NewRegistry(root).Load(name)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err == nil {
		d.h.Interfaces = interfacesOf(name, cfg)
	}
	d.h.Reloads++
}

// interfacesOf lists the host interfaces a node's config attaches.
func interfacesOf(name string, cfg *Config) []string {
	reqs, _ := netcheck.Requirements(name, cfg, true)
	out := []string{}
	for _, r := range reqs {
		out = append(out, r.Interface)
	}
	return out
}

// serveHealth answers every connection with h until ln is closed.
func serveHealth(ln net.Listener, h *demoHealth) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		conn.SetDeadline(time.Now().Add(time.Second))
		json.NewEncoder(conn).Encode(h.get())
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
