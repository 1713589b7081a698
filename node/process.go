package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/storagegrid/storagegrid/internal/hostpath"
)

// ErrStopTimeout is matched (errors.Is) when a payload did not shut down
// within the stop timeout and had to be killed.
var ErrStopTimeout = errors.New("stop timeout reached")

// ErrExitedAtOnce is matched (errors.Is) when a started payload ended
// before it settled.
var ErrExitedAtOnce = errors.New("payload exited at once")

const (
	// startLimit bounds how long start waits for a supervisor to report.
	startLimit = 30 * time.Second
	// killGrace is how long stop waits beyond the timeout for SIGKILL to
	// take effect and the supervisor to record it.
	killGrace = 10 * time.Second
	pollEvery = 20 * time.Millisecond
)

// ProcessConfig configures the process runtime.
type ProcessConfig struct {
	Root hostpath.Root
	// Supervisor is the command that runs Supervise for one node; the node
	// name is appended. storagegrid uses itself:
	// storagegrid --root R node supervise NAME.
	Supervisor []string
}

// Process is the runtime that runs each node's payload under a detached
// supervisor process (see Supervise), with state under RunDir.
type Process struct {
	cfg ProcessConfig
}

// NewProcess returns the process runtime.
func NewProcess(cfg ProcessConfig) *Process { return &Process{cfg: cfg} }

var _ Runtime = (*Process)(nil)

// State reports the node's run state from its run record and the
// processes the record names.
func (p *Process) State(_ context.Context, name string) (RunState, error) {
	rec, ok, err := readRecord(p.cfg.Root, name)
	if err != nil || !ok {
		return NotRunning, err
	}
	return rec.runState(), nil
}

// Reload sends SIGHUP to the node's payload.
func (p *Process) Reload(_ context.Context, name string) error {
	rec, ok, err := readRecord(p.cfg.Root, name)
	if err != nil {
		return err
	}
	if !ok || rec.runState() != Running {
		return fmt.Errorf("node %s: no running payload to reload", name)
	}
	if err := rec.Payload.signal(syscall.SIGHUP); err != nil {
		return fmt.Errorf("node %s: reload: %w", name, err)
	}
	return nil
}

// Start launches a supervisor for the node in a new session, so that it
// outlives this process and its terminal, then waits until the payload
// has settled or ended. A node already running is left alone; one being
// stopped or orphaned is refused, as a second supervisor would fight it.
func (p *Process) Start(ctx context.Context, name string) error {
	switch st, err := p.State(ctx, name); {
	case err != nil:
		return err
	case st == Running || st == Starting:
		return nil
	case st == Orphaned:
		return fmt.Errorf("node %s: %w", name, ErrOrphaned)
	case st == Stopping:
		return fmt.Errorf("node %s is stopping; start it once it has stopped", name)
	}
	if len(p.cfg.Supervisor) == 0 {
		return fmt.Errorf("node %s: no supervisor command configured", name)
	}
	log, err := openLog(p.cfg.Root, name)
	if err != nil {
		return err
	}
	sup := p.cfg.Supervisor
	cmd := exec.Command(sup[0], append(sup[1:len(sup):len(sup)], name)...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Dir = "/" // as daemons do: hold no directory of the caller's busy
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	log.Close()
	if err != nil {
		return fmt.Errorf("node %s: start supervisor: %w", name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }() // reap it if it ends while we run
	return p.awaitStarted(ctx, name, cmd.Process.Pid, done)
}

func openLog(root hostpath.Root, name string) (*os.File, error) {
	dir := root.Join(LogDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("node %s: log directory %s: %w", name, LogDir, unwrapPath(err))
	}
	f, err := os.OpenFile(filepath.Join(dir, name+".log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("node %s: log %s/%s.log: %w", name, LogDir, name, unwrapPath(err))
	}
	return f, nil
}

// awaitStarted polls the run record written by the supervisor with PID
// pid until the payload is running or has ended.
func (p *Process) awaitStarted(ctx context.Context, name string, pid int, done <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, startLimit)
	defer cancel()
	for {
		supervisorGone := isClosed(done)
		rec, ok, err := readRecord(p.cfg.Root, name)
		if err != nil {
			return err
		}
		if ok && rec.Supervisor.PID == pid {
			switch rec.Phase {
			case phaseRunning:
				return nil
			case phaseStopped:
				return startFailure(name, rec)
			}
		}
		if supervisorGone {
			return fmt.Errorf("node %s: supervisor exited before the payload ran; see %s/%s.log", name, LogDir, name)
		}
		if err := sleepCtx(ctx, pollEvery); err != nil {
			return fmt.Errorf("node %s: waiting for the payload to start: %w", name, err)
		}
	}
}

func startFailure(name string, rec runRecord) error {
	log := fmt.Sprintf("see %s/%s.log", LogDir, name)
	if rec.Error != "" {
		return fmt.Errorf("%s; %s", rec.Error, log)
	}
	if rec.Early {
		return fmt.Errorf("node %s: %w (%s); %s", name, ErrExitedAtOnce, rec.Exit, log)
	}
	return fmt.Errorf("node %s: payload ended while starting (%s); %s", name, rec.Exit, log)
}

// Stop asks the supervisor to stop the payload and waits for it, or stops
// an orphaned payload itself. A node that is not running is left alone.
func (p *Process) Stop(ctx context.Context, name string, opts StopOptions) error {
	rec, ok, err := readRecord(p.cfg.Root, name)
	switch {
	case err != nil || !ok:
		return err
	case rec.Supervisor.alive():
		return p.stopSupervised(ctx, name, opts)
	case rec.Payload.alive():
		return p.stopOrphan(ctx, name, rec, opts)
	}
	return nil
}

func (p *Process) stopSupervised(ctx context.Context, name string, opts StopOptions) error {
	req := stopRequest{Timeout: opts.Timeout, Force: opts.Force}
	if err := writeJSON(stopPath(p.cfg.Root, name), req); err != nil {
		return fmt.Errorf("node %s: stop request: %w", name, unwrapPath(err))
	}
	rec, _, err := readRecord(p.cfg.Root, name)
	if err != nil {
		return err
	}
	if err := rec.Supervisor.signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("node %s: %w", name, err)
	}
	if err := waitGone(ctx, rec.Supervisor, waitLimit(opts)); err != nil {
		return fmt.Errorf("node %s: supervisor (pid %d) did not finish: %w", name, rec.Supervisor.PID, err)
	}
	if rec, _, err = readRecord(p.cfg.Root, name); err != nil {
		return err
	}
	return stopOutcome(name, rec, opts)
}

// stopOrphan stops a payload whose supervisor died, as the supervisor
// would have, and records the run as ended.
func (p *Process) stopOrphan(ctx context.Context, name string, rec runRecord, opts StopOptions) error {
	rec.Phase = phaseStopping
	if opts.Force {
		rec.Killed = true
		rec.Payload.signalGroup(syscall.SIGKILL)
	} else if err := rec.Payload.signalGroup(syscall.SIGTERM); err != nil {
		return fmt.Errorf("node %s: %w", name, err)
	}
	if !opts.Force && waitGone(ctx, rec.Payload, opts.Timeout) != nil && ctx.Err() == nil {
		rec.Killed = true
		rec.Payload.signalGroup(syscall.SIGKILL)
	}
	if err := waitGone(ctx, rec.Payload, killGrace); err != nil {
		return fmt.Errorf("node %s: orphaned payload (pid %d) did not end: %w", name, rec.Payload.PID, err)
	}
	rec.Phase, rec.Clean, rec.StoppedAt = phaseStopped, !rec.Killed, time.Now().UTC()
	rec.Exit = "stopped without its supervisor"
	if err := writeJSON(statePath(p.cfg.Root, name), rec); err != nil {
		return fmt.Errorf("node %s: %w", name, unwrapPath(err))
	}
	return stopOutcome(name, rec, opts)
}

func stopOutcome(name string, rec runRecord, opts StopOptions) error {
	if rec.Killed && !opts.Force {
		return fmt.Errorf("node %s did not shut down within %s and was killed: %w",
			name, opts.Timeout, ErrStopTimeout)
	}
	return nil
}

func waitLimit(opts StopOptions) time.Duration {
	if opts.Force {
		return killGrace
	}
	return opts.Timeout + killGrace
}

// waitGone polls until p has exited, for at most limit.
func waitGone(ctx context.Context, p proc, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for p.alive() {
		if err := sleepCtx(ctx, pollEvery); err != nil {
			return err
		}
	}
	return nil
}

// Seconds formats d as the runbook does: "630", or "0.5" below a second.
func Seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
