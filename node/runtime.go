// Package node holds everything about grid nodes on one host: their
// configuration files under /etc/storagegrid/nodes, the registry of nodes
// configured here, and their lifecycle (status, start, stop, export,
// import, validate) under a runtime that runs each node's payload.
package node

import (
	"context"
	"time"
)

// RunState is what the runtime reports for a node, spelt as the runbook
// prints it.
type RunState string

// The run states.
const (
	Running    RunState = "Running"
	NotRunning RunState = "Not-Running"
	Starting   RunState = "Starting"
	Stopping   RunState = "Stopping"
	// Orphaned: the payload runs but its controller died; start refuses.
	Orphaned RunState = "Orphaned"
)

// StopOptions tune a stop.
type StopOptions struct {
	Timeout time.Duration // how long to wait after SIGTERM before SIGKILL
	Force   bool          // kill at once, without waiting
}

// Runtime runs node payloads. Implementations: the process supervisor
// (process.go) and systemd over D-Bus (systemd.go).
type Runtime interface {
	// Start launches the named node's payload and returns once it is
	// running, or with an error when it could not be started or exited
	// at once.
	Start(ctx context.Context, name string) error
	// Stop ends the payload, waiting up to opts.Timeout for a clean
	// shutdown. Reaching the timeout is an error.
	Stop(ctx context.Context, name string, opts StopOptions) error
	// State reports the node's run state.
	State(ctx context.Context, name string) (RunState, error)
	// Reload asks the running payload to re-read its config (SIGHUP to
	// its main process).
	Reload(ctx context.Context, name string) error
}
