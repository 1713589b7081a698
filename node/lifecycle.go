package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/internal/flock"
	"github.com/storagegrid/storagegrid/internal/hostpath"
)

// ConfigState says whether a node's config file can be used.
type ConfigState string

// The config states, spelt as status prints them.
const (
	Configured ConfigState = "Configured"
	// Invalid: the config file exists but does not parse.
	Invalid ConfigState = "Invalid"
)

// ErrOrphaned is matched (errors.Is) when start refuses a node whose
// payload runs without its supervisor.
var ErrOrphaned = errors.New("orphaned")

// Outcome is what a start or stop did to a node.
type Outcome string

// The outcomes.
const (
	Started        Outcome = "started"
	AlreadyRunning Outcome = "already-running"
	Stopped        Outcome = "stopped"
	Killed         Outcome = "killed" // stopped with Force
	WasNotRunning  Outcome = "not-running"
)

// Status is one row of `node status`.
type Status struct {
	Name        string
	ConfigState ConfigState
	RunState    RunState
	ConfigErr   error // why ConfigState is Invalid
}

// Manager runs the node lifecycle on one host: the registry of configured
// nodes, a runtime, and the per-node locks that serialise state changes.
type Manager struct {
	root hostpath.Root
	reg  *Registry
	rt   Runtime
	own  *Ownership // see SetOwnership (ownership.go)
}

// NewManager returns the lifecycle manager for the host at root.
func NewManager(root hostpath.Root, rt Runtime) *Manager {
	return &Manager{root: root, reg: NewRegistry(root), rt: rt}
}

// Registry returns the manager's registry.
func (m *Manager) Registry() *Registry { return m.reg }

// LockNode takes the node's lock under LockDir, blocking until it is free
// or ctx ends. Every command that changes a node's state holds it.
func LockNode(ctx context.Context, root hostpath.Root, name string) (*flock.Lock, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	return flock.Acquire(ctx, root, LockDir, "node-"+name)
}

// Status reports a configured node's config and run state. A config that
// does not parse is reported as Invalid, not as an error, so that status
// still shows whether the node runs.
func (m *Manager) Status(ctx context.Context, name string) (Status, error) {
	st := Status{Name: name, ConfigState: Configured}
	if _, err := m.reg.Load(name); isNameError(err) {
		return st, fail.With(fail.Usage, err)
	} else if err != nil {
		st.ConfigState, st.ConfigErr = Invalid, err
	}
	rs, err := m.rt.State(ctx, name)
	if err != nil {
		return st, err
	}
	st.RunState = rs
	return st, nil
}

// Start starts a configured node unless it already runs. announce is
// called once the node is known to need starting, just before the runtime
// starts it (the CLI prints "Starting node NAME" there). An orphaned node
// is refused (fail.Refused, ErrOrphaned); so is a node that node validate
// finds errors in (fail.Invalid, *ValidationError), --force or not.
func (m *Manager) Start(ctx context.Context, name string, announce func()) (Outcome, error) {
	if _, err := m.reg.Load(name); err != nil {
		return "", usageIfUnknown(err)
	}
	lock, err := LockNode(ctx, m.root, name)
	if err != nil {
		return "", err
	}
	defer lock.Unlock()
	switch st, err := m.rt.State(ctx, name); {
	case err != nil:
		return "", err
	case st == Orphaned:
		return "", fail.With(fail.Refused, fmt.Errorf("node %s is %w: its payload runs without its supervisor; "+
			"stop it first with 'storagegrid node stop %s'", name, ErrOrphaned, name))
	case st == Running || st == Starting:
		return AlreadyRunning, nil
	}
	if err := m.preflight(name); err != nil {
		return "", err
	}
	undo, err := m.claim(name)
	if err != nil {
		return "", err
	}
	announce()
	if err := m.rt.Start(ctx, name); err != nil {
		undo()
		return "", err
	}
	// A node that runs on a host is no longer half-way between hosts: on
	// the target the move is done, on the source it was given up.
	return Started, m.dropJournal(name, "")
}

// Stop stops a configured node if it runs. announce is called once the
// node is known to run, just before waiting for it (the CLI prints
// "Waiting up to N seconds for node shutdown" there). A config that does
// not parse does not prevent stopping.
func (m *Manager) Stop(ctx context.Context, name string, opts StopOptions, announce func()) (Outcome, error) {
	if err := m.reg.Exists(name); err != nil {
		return "", usageIfUnknown(err)
	}
	lock, err := LockNode(ctx, m.root, name)
	if err != nil {
		return "", err
	}
	defer lock.Unlock()
	if st, err := m.rt.State(ctx, name); err != nil || st == NotRunning {
		return WasNotRunning, err
	}
	announce()
	if err := m.rt.Stop(ctx, name, opts); err != nil {
		return "", err
	}
	if opts.Force {
		return Killed, nil
	}
	return Stopped, m.release(name)
}

// usageIfUnknown classifies a bad or unknown node name as a usage error.
func usageIfUnknown(err error) error {
	if isNameError(err) {
		return fail.With(fail.Usage, err)
	}
	return err
}

func isNameError(err error) bool {
	return errors.Is(err, ErrUnknownNode) || errors.Is(err, ErrInvalidName)
}
