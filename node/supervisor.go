package node

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/storagegrid/storagegrid/internal/hostpath"
)

// DefaultSettle is how long a payload must keep running before start
// calls it running; one that ends sooner "exited at once".
const DefaultSettle = 500 * time.Millisecond

// SupervisorConfig configures Supervise.
type SupervisorConfig struct {
	Root    hostpath.Root
	Name    string
	Payload []string // the command to run, already substituted
	// StopTimeout applies when the supervisor is signalled without a stop
	// request (for example by a host shutdown).
	StopTimeout time.Duration
	Settle      time.Duration // 0 means DefaultSettle
	// Log receives the supervisor's notes and the payload's output. An
	// *os.File is handed to the payload directly.
	Log io.Writer
	// Renew, when set, is called every RenewEvery while the payload runs
	// (Manager.Renewer): it keeps the node's claim on its var-local
	// record fresh. When it reports ErrLeaseLost another host has taken
	// the node over, and the payload is stopped: it no longer owns its
	// devices.
	Renew      func() error
	RenewEvery time.Duration
}

type supervisor struct {
	cfg    SupervisorConfig
	rec    runRecord
	sigs   chan os.Signal
	exited chan error
}

// Supervise runs a node's payload in its own process group and stays with
// it until it ends: it records the run in the node's state file, stops the
// payload on SIGTERM or SIGINT (SIGTERM to the group, SIGKILL once the
// stop timeout passes) and records whether the shutdown was clean. It is
// meant to run in its own session, detached from the CLI that started it.
func Supervise(cfg SupervisorConfig) error {
	if err := ValidName(cfg.Name); err != nil {
		return err
	}
	if len(cfg.Payload) == 0 || cfg.Payload[0] == "" {
		return fmt.Errorf("node %s: no payload command", cfg.Name)
	}
	if cfg.Settle <= 0 {
		cfg.Settle = DefaultSettle
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	s := &supervisor{cfg: cfg, sigs: make(chan os.Signal, 8), exited: make(chan error, 1)}
	signal.Notify(s.sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(s.sigs)
	self, err := procOf(os.Getpid())
	if err != nil {
		return err
	}
	os.Remove(stopPath(cfg.Root, cfg.Name)) // left by an earlier run
	s.rec = runRecord{Node: cfg.Name, Phase: phaseStarting, Supervisor: self, StartedAt: time.Now().UTC()}
	if err := s.save(); err != nil {
		return err
	}
	return s.run()
}

func (s *supervisor) run() error {
	if err := s.launch(); err != nil {
		s.rec.Error = err.Error()
		return errors.Join(err, s.ended(err))
	}
	settle := time.NewTimer(s.cfg.Settle)
	defer settle.Stop()
	var renew <-chan time.Time
	if s.cfg.Renew != nil && s.cfg.RenewEvery > 0 {
		t := time.NewTicker(s.cfg.RenewEvery)
		defer t.Stop()
		renew = t.C
	}
	for {
		select {
		case <-renew:
			err := s.cfg.Renew()
			if errors.Is(err, ErrLeaseLost) {
				s.logf("%v; stopping the payload", err)
				return s.stop()
			}
			if err != nil {
				s.logf("%v", err)
			}
		case err := <-s.exited:
			return s.ended(err)
		case <-settle.C:
			s.rec.Phase = phaseRunning
			if err := s.save(); err != nil {
				s.logf("%v", err)
			}
		case sig := <-s.sigs:
			if sig != syscall.SIGHUP {
				return s.stop()
			}
		}
	}
}

func (s *supervisor) launch() error {
	p := s.cfg.Payload
	cmd := exec.Command(p[0], p[1:]...)
	cmd.Stdout, cmd.Stderr = s.cfg.Log, s.cfg.Log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("node %s: start payload: %w", s.cfg.Name, err)
	}
	// Until Wait reaps it, the PID stays ours even if the payload exits.
	s.rec.Payload, _ = procOf(cmd.Process.Pid)
	go func() { s.exited <- cmd.Wait() }()
	s.logf("started payload %q as pid %d", p, cmd.Process.Pid)
	if err := s.save(); err != nil {
		s.logf("%v", err)
	}
	return nil
}

// stop ends the payload as the pending stop request (or the default
// timeout) says.
func (s *supervisor) stop() error {
	req := readStopRequest(s.cfg.Root, s.cfg.Name, stopRequest{Timeout: s.cfg.StopTimeout})
	s.rec.Phase = phaseStopping
	if err := s.save(); err != nil {
		s.logf("%v", err)
	}
	s.logf("stopping payload (timeout %s, force %t)", req.Timeout, req.Force)
	if req.Force {
		s.kill()
	} else if err := s.rec.Payload.signalGroup(syscall.SIGTERM); err != nil {
		s.logf("%v", err)
	}
	deadline := time.NewTimer(req.Timeout)
	defer deadline.Stop()
	for {
		select {
		case err := <-s.exited:
			s.rec.Clean = !s.rec.Killed
			return s.ended(err)
		case <-deadline.C:
			s.logf("payload still running after %s; killing it", req.Timeout)
			s.kill()
		case <-s.sigs:
			if readStopRequest(s.cfg.Root, s.cfg.Name, req).Force {
				s.kill()
			}
		}
	}
}

func (s *supervisor) kill() {
	s.rec.Killed = true
	if err := s.rec.Payload.signalGroup(syscall.SIGKILL); err != nil {
		s.logf("%v", err)
	}
}

// ended records how the payload ended. Helpers it left in its process
// group end with it.
func (s *supervisor) ended(waitErr error) error {
	if pgid := s.rec.Payload.PID; pgid > 0 {
		syscall.Kill(-pgid, syscall.SIGKILL)
	}
	s.rec.Early = s.rec.Phase == phaseStarting
	s.rec.Exit = exitText(waitErr)
	s.rec.Phase = phaseStopped
	s.rec.StoppedAt = time.Now().UTC()
	s.logf("payload ended: %s (clean %t, killed %t)", s.rec.Exit, s.rec.Clean, s.rec.Killed)
	os.Remove(stopPath(s.cfg.Root, s.cfg.Name))
	return s.save()
}

func exitText(err error) string {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "exit status 0"
	case errors.As(err, &ee):
		return ee.Error()
	default:
		return err.Error()
	}
}

func (s *supervisor) save() error {
	return writeJSON(statePath(s.cfg.Root, s.cfg.Name), s.rec)
}

func (s *supervisor) logf(format string, a ...any) {
	fmt.Fprintf(s.cfg.Log, "%s storagegrid supervisor: node %s: %s\n",
		time.Now().UTC().Format(time.RFC3339), s.cfg.Name, fmt.Sprintf(format, a...))
}

// ExpandPayload substitutes the node name for "{node}" in every argument
// of a payload command template (settings runtime.process.payload).
func ExpandPayload(template []string, name string) []string {
	out := make([]string, len(template))
	for i, a := range template {
		out[i] = strings.ReplaceAll(a, "{node}", name)
	}
	return out
}
