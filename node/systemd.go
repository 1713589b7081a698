package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"

	"github.com/storagegrid/storagegrid/internal/fail"
)

// UnitTemplate is the systemd template unit each node runs under, one
// instance per node: storagegrid-node@DC1-S3.service. The unit file is in
// contrib/systemd.
const UnitTemplate = "storagegrid-node@.service"

// errNoSuchProcess is what systemd answers when KillUnit finds nothing to
// signal: the unit already ended, which is what a kill wants anyway.
const errNoSuchProcess = "org.freedesktop.systemd1.NoSuchProcess"

// Systemd runs each node as an instance of the storagegrid-node@ template
// unit, driven over D-Bus. It connects on first use and reconnects when the
// bus connection was lost (systemd or dbus restarted). Safe for concurrent
// use.
type Systemd struct {
	address string // D-Bus address; "" is the system bus

	// settle is how long Start keeps watching a unit whose start job is
	// done: a payload that exits within it is reported as failing at once.
	settle time.Duration
	// killGrace bounds the wait for the stop job after SIGKILL.
	killGrace time.Duration
	// poll is how often a wait checks that the bus is still there, since
	// a job result can never arrive over a dead connection.
	poll time.Duration

	mu   sync.Mutex
	conn *sdbus.Conn
}

// NewSystemd returns the systemd runtime. busAddress is the D-Bus address
// on which systemd's manager is reached; "" means the system bus (and, as
// root, systemd's private socket when the bus daemon is down). Other
// addresses are for tests and sandboxes that serve a stand-in manager.
func NewSystemd(busAddress string) *Systemd {
	return &Systemd{
		address:   busAddress,
		settle:    500 * time.Millisecond,
		killGrace: 10 * time.Second,
		poll:      100 * time.Millisecond,
	}
}

// Close drops the bus connection. The runtime may be used again after.
func (s *Systemd) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
	return nil
}

// Start starts the node's unit and waits for its start job. A unit that
// is no longer running soon after is reported as exiting at once. A
// running unit is left alone; one being stopped is refused, as the process
// runtime does, rather than turned into a restart.
func (s *Systemd) Start(ctx context.Context, name string) error {
	unit, c, err := s.open(ctx, name)
	if err != nil {
		return err
	}
	switch st, err := s.State(ctx, name); {
	case err != nil:
		return err
	case st == Running || st == Starting:
		return nil
	case st == Stopping:
		return fmt.Errorf("node %s is stopping; start it once it has stopped", name)
	}
	ch := make(chan string, 1)
	if _, err := c.StartUnitContext(ctx, unit, "replace", ch); err != nil {
		s.forgetIfBroken(c, err)
		return fmt.Errorf("node %s: start %s: %w", name, unit, err)
	}
	res, err := s.await(ctx, c, ch, nil)
	if err != nil {
		return fmt.Errorf("node %s: start %s: %w", name, unit, err)
	}
	if err := jobResultError("start", unit, res); err != nil {
		return fmt.Errorf("node %s: %w", name, err)
	}
	return s.settled(ctx, c, name, unit)
}

// settled watches a freshly started unit for s.settle and fails when it
// drops back to inactive or failed: the payload exited at once.
func (s *Systemd) settled(ctx context.Context, c *sdbus.Conn, name, unit string) error {
	deadline := time.Now().Add(s.settle)
	for {
		active, sub, err := s.unitState(ctx, c, unit)
		if err != nil {
			return fmt.Errorf("node %s: %w", name, err)
		}
		if active == "inactive" || active == "failed" {
			return fmt.Errorf("node %s: payload exited at once: %s is %s (%s); see 'journalctl -u %s'",
				name, unit, active, sub, unit)
		}
		if !time.Now().Before(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(s.poll, time.Until(deadline))):
		}
	}
}

// Stop stops the node's unit. It waits up to opts.Timeout (0: no limit)
// for the stop job, then kills the unit with SIGKILL and reports the
// timeout. With opts.Force it kills at once and then stops the unit.
func (s *Systemd) Stop(ctx context.Context, name string, opts StopOptions) error {
	unit, c, err := s.open(ctx, name)
	if err != nil {
		return err
	}
	if opts.Force {
		if err := killUnit(ctx, c, unit); err != nil {
			return fmt.Errorf("node %s: %w", name, err)
		}
	}
	ch := make(chan string, 1)
	if _, err := c.StopUnitContext(ctx, unit, "replace", ch); err != nil {
		s.forgetIfBroken(c, err)
		return fmt.Errorf("node %s: stop %s: %w", name, unit, err)
	}
	var expired <-chan time.Time
	if opts.Timeout > 0 && !opts.Force {
		t := time.NewTimer(opts.Timeout)
		defer t.Stop()
		expired = t.C
	}
	res, err := s.await(ctx, c, ch, expired)
	if errors.Is(err, errWaitExpired) {
		return s.killAfterTimeout(ctx, c, ch, name, unit, opts.Timeout)
	}
	if err != nil {
		return fmt.Errorf("node %s: stop %s: %w", name, unit, err)
	}
	if err := jobResultError("stop", unit, res); err != nil {
		return fmt.Errorf("node %s: %w", name, err)
	}
	return nil
}

// killAfterTimeout ends a stop that outlived its timeout: SIGKILL to the
// whole unit, then a bounded wait for the stop job so its result is
// drained. The timeout is an error even when the kill worked, because the
// node did not shut down cleanly.
func (s *Systemd) killAfterTimeout(ctx context.Context, c *sdbus.Conn, ch <-chan string, name, unit string, timeout time.Duration) error {
	if err := killUnit(ctx, c, unit); err != nil {
		return fmt.Errorf("node %s: did not stop within %s seconds, and %w", name, Seconds(timeout), err)
	}
	grace := time.NewTimer(s.killGrace)
	defer grace.Stop()
	if _, err := s.await(ctx, c, ch, grace.C); err != nil {
		return fmt.Errorf("node %s: did not stop within %s seconds; sent SIGKILL to %s, still not stopped: %w",
			name, Seconds(timeout), unit, err)
	}
	return fmt.Errorf("node %s: did not stop within %s seconds; killed %s with SIGKILL", name, Seconds(timeout), unit)
}

// State maps the unit's ActiveState to a run state.
func (s *Systemd) State(ctx context.Context, name string) (RunState, error) {
	unit, c, err := s.open(ctx, name)
	if err != nil {
		return "", err
	}
	active, _, err := s.unitState(ctx, c, unit)
	if err != nil {
		return "", fmt.Errorf("node %s: %w", name, err)
	}
	switch active {
	case "active":
		return Running, nil
	case "activating", "reloading":
		return Starting, nil
	case "deactivating":
		return Stopping, nil
	case "inactive", "failed":
		return NotRunning, nil
	}
	return "", fmt.Errorf("node %s: %s has unexpected ActiveState %q", name, unit, active)
}

// unitState reads ActiveState and SubState, and fails for a unit systemd
// cannot load: the template is not installed.
func (s *Systemd) unitState(ctx context.Context, c *sdbus.Conn, unit string) (active, sub string, err error) {
	props, err := c.GetUnitPropertiesContext(ctx, unit)
	if err != nil {
		s.forgetIfBroken(c, err)
		return "", "", fmt.Errorf("read state of %s: %w", unit, err)
	}
	if load, _ := props["LoadState"].(string); load == "not-found" {
		return "", "", fmt.Errorf("%s not found: install contrib/systemd/%s and run 'systemctl daemon-reload'",
			unit, UnitTemplate)
	}
	active, _ = props["ActiveState"].(string)
	sub, _ = props["SubState"].(string)
	if active == "" {
		return "", "", fmt.Errorf("read state of %s: no ActiveState property", unit)
	}
	return active, sub, nil
}

// errWaitExpired marks a wait that ran out of its own time limit.
var errWaitExpired = errors.New("time limit reached")

// await waits for a job result on ch. A result can only come over a live
// connection, so it also gives up when the bus went away; expired (may be
// nil) ends the wait with errWaitExpired. ch is buffered, so an abandoned
// result never blocks go-systemd's signal dispatch.
func (s *Systemd) await(ctx context.Context, c *sdbus.Conn, ch <-chan string, expired <-chan time.Time) (string, error) {
	tick := time.NewTicker(s.poll)
	defer tick.Stop()
	for {
		select {
		case res := <-ch:
			return res, nil
		case <-expired:
			return "", errWaitExpired
		case <-ctx.Done():
			return "", ctx.Err()
		case <-tick.C:
			if !c.Connected() {
				return "", s.lostError()
			}
		}
	}
}

// jobResultError turns a job result into an error; "done" is success.
func jobResultError(verb, unit, result string) error {
	if result == "done" {
		return nil
	}
	return fmt.Errorf("%s job for %s ended with result %q; see 'journalctl -u %s'", verb, unit, result, unit)
}

// Reload sends SIGHUP to the unit's main process, the payload that
// 'node run-payload' became (as 'systemctl kill -s HUP --kill-who=main').
func (s *Systemd) Reload(ctx context.Context, name string) error {
	unit, c, err := s.open(ctx, name)
	if err != nil {
		return err
	}
	if err := c.KillUnitWithTarget(ctx, unit, sdbus.Main, int32(syscall.SIGHUP)); err != nil {
		s.forgetIfBroken(c, err)
		return fmt.Errorf("node %s: reload %s: %w", name, unit, err)
	}
	return nil
}

// killUnit sends SIGKILL to every process of the unit. A unit with nothing
// left to kill is fine.
func killUnit(ctx context.Context, c *sdbus.Conn, unit string) error {
	err := c.KillUnitWithTarget(ctx, unit, sdbus.All, int32(syscall.SIGKILL))
	var de dbus.Error
	if errors.As(err, &de) && de.Name == errNoSuchProcess {
		return nil
	}
	if err != nil {
		return fmt.Errorf("kill %s: %w", unit, err)
	}
	return nil
}

// systemdUnit checks the node name, which becomes part of a unit name and
// a D-Bus object path, and returns its unit name.
func systemdUnit(name string) (string, error) {
	if err := ValidName(name); err != nil {
		return "", fail.With(fail.Usage, err)
	}
	return "storagegrid-node@" + name + ".service", nil
}

// open checks the node name and returns its unit and a live connection.
func (s *Systemd) open(ctx context.Context, name string) (string, *sdbus.Conn, error) {
	unit, err := systemdUnit(name)
	if err != nil {
		return "", nil, err
	}
	c, err := s.connect(ctx, name)
	return unit, c, err
}

// connect returns the shared connection, dialling anew when there is none
// or the bus dropped it.
func (s *Systemd) connect(ctx context.Context, name string) (*sdbus.Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil && s.conn.Connected() {
		return s.conn, nil
	}
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := s.dial()
	if err != nil {
		return nil, fmt.Errorf("node %s: connect to systemd on %s: %w", name, s.busName(), err)
	}
	s.conn = c
	return c, nil
}

// dial opens a new connection to systemd's manager.
func (s *Systemd) dial() (*sdbus.Conn, error) {
	if s.address == "" {
		// The connection outlives the call that asked for it, so it
		// must not be bound to a context: godbus closes a connection
		// when its context ends.
		return sdbus.NewWithContext(context.Background())
	}
	return sdbus.NewConnection(func() (*dbus.Conn, error) { return dialSystemdBus(s.address) })
}

// dialSystemdBus opens and authenticates a private connection to address, as
// go-systemd does for the system bus.
func dialSystemdBus(address string) (*dbus.Conn, error) {
	conn, err := dbus.Dial(address)
	if err != nil {
		return nil, err
	}
	if err := conn.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
		conn.Close()
		return nil, err
	}
	if err := conn.Hello(); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// forgetIfBroken drops c when err says its socket is gone, so that the
// next call dials anew. godbus marks a connection closed only once its
// reader goroutine sees the end, which can come after a write has
// already failed with EPIPE.
func (s *Systemd) forgetIfBroken(c *sdbus.Conn, err error) {
	if !brokenConn(err) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == c {
		c.Close()
		s.conn = nil
	}
}

func brokenConn(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, dbus.ErrClosed)
}

func (s *Systemd) lostError() error {
	return fmt.Errorf("lost the connection to systemd on %s before the job finished", s.busName())
}

func (s *Systemd) busName() string {
	if s.address == "" {
		return "the system bus"
	}
	return s.address
}

var _ StateWatcher = (*Systemd)(nil)

// WatchState subscribes to systemd's signals and calls changed whenever a
// storagegrid-node@ unit's properties change (ActiveState, SubState: a
// start, a stop, a crash). It uses a connection of its own, since
// subscribers belong to a connection, and returns an error when the bus
// drops it: the agent then falls back to collecting at each interval.
func (s *Systemd) WatchState(ctx context.Context, changed, ready func()) error {
	c, err := s.dial()
	if err != nil {
		return fmt.Errorf("watch node units: connect to systemd on %s: %w", s.busName(), err)
	}
	defer c.Close()
	updates := make(chan *sdbus.PropertiesUpdate, 256)
	overflow := make(chan error, 1)
	c.SetPropertiesSubscriber(updates, overflow)
	if err := c.Subscribe(); err != nil {
		return fmt.Errorf("watch node units: subscribe on %s: %w", s.busName(), err)
	}
	ready()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case u := <-updates:
			if strings.HasPrefix(u.UnitName, "storagegrid-node@") {
				changed()
			}
		case <-overflow:
			changed() // updates were dropped: one of them may be a node's
		case <-tick.C:
			if !c.Connected() {
				return fmt.Errorf("watch node units: lost the connection to systemd on %s", s.busName())
			}
		}
	}
}
