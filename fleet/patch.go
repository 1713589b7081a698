// Package fleet carries out maintenance across the hosts of a fleet: the
// rolling OS patch that the model server plans (model.PatchPlan), host
// by host, checking the live model before each host goes down, and
// keeping a journal so that a run killed at any point resumes where it
// was without repeating a migration or a patch that finished.
package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/storagegrid/storagegrid/model"
	"github.com/storagegrid/storagegrid/node"
	"github.com/storagegrid/storagegrid/wire"
)

// Model is what the run asks the model server: the live checks and each
// host's reported state. *model.Client is one.
type Model interface {
	CheckMigrate(ctx context.Context, node, to string) (model.Verdict, error)
	OkToStop(ctx context.Context, host string) (model.Verdict, error)
	State(ctx context.Context, at time.Time, host string) (model.State, error)
}

// Options is how a run reaches the hosts and how long it waits.
type Options struct {
	// Target runs storagegrid on a host (node stop, start, migrate).
	Target func(host string) (node.Target, error)
	// Patch is the patch command for a host, argv ready to run.
	Patch       func(host string) []string
	StepTimeout time.Duration // each step; the patch and the wait for the reboot included
	// ResumeWait is how long a resumed run waits for a new boot id
	// before running again a patch that an earlier run started and did
	// not see finish (the host may be rebooting from it).
	ResumeWait time.Duration
	Pause      time.Duration // between hosts
	Poll       time.Duration // how often the model is asked while waiting; 0 is 1 s
	DryRun     bool          // report the steps, run nothing, journal nothing
}

// Event is one step of the run starting, finishing, being skipped (done
// before a restart) or failing.
type Event struct {
	Time   time.Time `json:"time"`
	Host   string    `json:"host"`
	Step   string    `json:"step"`
	State  string    `json:"state"` // start, done, skipped, failed, dry-run
	Detail string    `json:"detail,omitempty"`
}

// The steps of a host, in order. A move and a move back carry the node
// name: "move DC1-ADM1".
const (
	StepCheckMoves  = "check-moves"  // check-migrate of each planned move, live
	StepMove        = "move"         // node migrate NODE --to TO, on the host
	StepOkToStop    = "ok-to-stop"   // live, after the moves
	StepStop        = "stop"         // node stop NODES, on the host
	StepPatch       = "patch"        // the patch command
	StepWaitBoot    = "wait-boot"    // until the agent reports a new boot id
	StepStart       = "start"        // node start NODES, on the host
	StepWaitRunning = "wait-running" // until the model has them Running there
	StepMoveBack    = "move-back"    // node migrate NODE --to HOST, on the node's host
)

// StepError is a run stopped by a failed step: where the fleet was left,
// and what to do.
type StepError struct {
	Host, Step string
	Err        error
	Left       string // the state of the fleet, in words
}

func (e *StepError) Error() string {
	return fmt.Sprintf("host %s, step %s: %v; %s", e.Host, e.Step, e.Err, e.Left)
}

func (e *StepError) Unwrap() error { return e.Err }

// Run carries out plan, wave after wave, recording each step in j and
// reporting it to report. The hosts of a wave are taken down one after
// another (each checked live with the wave's earlier hosts down, as the
// plan was), patched and brought back together, and their nodes moved
// back one after another.
func Run(ctx context.Context, plan model.PatchPlan, m Model, j *Journal, o Options, report func(Event)) error {
	if !plan.Feasible {
		return errors.New("the plan is not feasible: plan again once the fleet allows it")
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	r := &run{plan: plan, m: m, j: j, o: o, report: report}
	for i, w := range plan.Waves {
		if i > 0 && o.Pause > 0 && !o.DryRun && !slices.ContainsFunc(w.Hosts, func(h model.PatchHost) bool { return j.hostDone(h.Host) }) {
			if err := sleep(ctx, o.Pause); err != nil {
				return err
			}
		}
		if err := r.wave(ctx, w); err != nil {
			return err
		}
	}
	return nil
}

type run struct {
	plan   model.PatchPlan
	m      Model
	j      *Journal
	o      Options
	report func(Event)
	mu     sync.Mutex // report, called by the hosts of a wave at once
	// waveStops are the nodes the current wave stops: the live checks
	// of its later hosts do not count them against it.
	waveStops map[string]bool
}

// The phases of a host in a wave: down (checks, moves, stop), patched
// (patch, reboot, start, running), home (moves back).
func phaseOf(step string) int {
	switch {
	case step == StepPatch || step == StepWaitBoot || step == StepStart || step == StepWaitRunning:
		return 1
	case strings.HasPrefix(step, StepMoveBack):
		return 2
	}
	return 0
}

// wave takes a wave's hosts down one by one, patches them together and
// brings them home one by one.
func (r *run) wave(ctx context.Context, w model.PatchWave) error {
	r.waveStops = map[string]bool{}
	for _, h := range w.Hosts {
		for _, n := range h.Stops {
			r.waveStops[n] = true
		}
	}
	for _, h := range w.Hosts {
		if err := r.host(ctx, h, 0); err != nil {
			return err
		}
	}
	errs := make([]error, len(w.Hosts))
	var wg sync.WaitGroup
	for i, h := range w.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = r.host(ctx, h, 1)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, e := range errs {
			if e != nil {
				return e // the first host's: each says where its host was left
			}
		}
	}
	for _, h := range w.Hosts {
		if err := r.host(ctx, h, 2); err != nil {
			return err
		}
		if err := r.finish(h); err != nil {
			return err
		}
	}
	return nil
}

// step is one step of a host: its name and what it does.
type step struct {
	name string
	do   func(ctx context.Context) (string, error) // returns a detail for the done event
	// left says where the fleet is when this step fails.
	left string
}

// host runs the steps of one phase of host h.
func (r *run) host(ctx context.Context, h model.PatchHost, phase int) error {
	if r.j.hostDone(h.Host) {
		if phase == 0 {
			r.emit(h.Host, hostStep, "skipped", "patched before")
		}
		return nil
	}
	for _, s := range r.steps(h) {
		if phaseOf(s.name) != phase {
			continue
		}
		if r.j.done(h.Host, s.name) {
			r.emit(h.Host, s.name, "skipped", "done before")
			continue
		}
		if r.o.DryRun {
			r.emit(h.Host, s.name, "dry-run", "")
			continue
		}
		if err := r.j.record(h.Host, s.name, "start"); err != nil {
			return err
		}
		r.emit(h.Host, s.name, "start", "")
		sctx, cancel := context.WithTimeout(ctx, r.o.StepTimeout)
		detail, err := s.do(sctx)
		timedOut := errors.Is(sctx.Err(), context.DeadlineExceeded)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			} else if timedOut {
				err = fmt.Errorf("timed out after %s: %w", r.o.StepTimeout, err)
			}
			r.emit(h.Host, s.name, "failed", err.Error())
			return &StepError{Host: h.Host, Step: s.name, Err: err, Left: s.left}
		}
		if err := r.j.record(h.Host, s.name, "done"); err != nil {
			return err
		}
		r.emit(h.Host, s.name, "done", detail)
	}
	return nil
}

// finish records a host patched.
func (r *run) finish(h model.PatchHost) error {
	if r.o.DryRun || r.j.hostDone(h.Host) {
		return nil
	}
	if err := r.j.record(h.Host, hostStep, "done"); err != nil {
		return err
	}
	r.emit(h.Host, hostStep, "done", "patched")
	return nil
}

func (r *run) emit(host, step, state, detail string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.report != nil {
		r.report(Event{Time: time.Now().UTC(), Host: host, Step: step, State: state, Detail: detail})
	}
}

// steps lists a host's steps.
func (r *run) steps(h model.PatchHost) []step {
	var out []step
	moved := func(upTo int) string {
		var s []string
		for _, m := range h.Moves[:upTo] {
			s = append(s, m.Node+" on "+m.To)
		}
		if len(s) == 0 {
			return ""
		}
		return " (moved: " + strings.Join(s, ", ") + ")"
	}
	intact := "nothing changed on " + h.Host + moved(0)
	out = append(out, step{name: StepCheckMoves, left: intact, do: func(ctx context.Context) (string, error) {
		for _, mv := range h.Moves {
			v, err := r.m.CheckMigrate(ctx, mv.Node, mv.To)
			if err != nil {
				return "", err
			}
			if !r.safe(v) {
				return "", fmt.Errorf("the fleet changed since the plan: moving %s to %s is not safe now: %s", mv.Node, mv.To, blockers(v))
			}
		}
		return fmt.Sprintf("%d move(s) safe", len(h.Moves)), nil
	}})
	for i, mv := range h.Moves {
		out = append(out, step{name: StepMove + " " + mv.Node, left: h.Host + " still up" + moved(i) + "; node migrate resumes an interrupted move",
			do: func(ctx context.Context) (string, error) {
				// node migrate reaches the target its own way (ssh by
				// default) and asks the model server its settings name.
				return "", r.storagegrid(ctx, h.Host, "node", "migrate", mv.Node, "--to", mv.To)
			}})
	}
	out = append(out, step{name: StepOkToStop, left: h.Host + " still up" + moved(len(h.Moves)), do: func(ctx context.Context) (string, error) {
		v, err := r.m.OkToStop(ctx, h.Host)
		if err != nil {
			return "", err
		}
		if !r.safe(v) {
			return "", fmt.Errorf("the fleet changed since the plan: stopping %s is not safe now: %s", h.Host, blockers(v))
		}
		return "safe", nil
	}})
	down := h.Host + "'s nodes " + strings.Join(h.Stops, ", ") + " stopped" + moved(len(h.Moves))
	if len(h.Stops) > 0 {
		out = append(out, step{name: StepStop, left: down + " (some perhaps still running)", do: func(ctx context.Context) (string, error) {
			return "", r.storagegrid(ctx, h.Host, append([]string{"node", "stop"}, h.Stops...)...)
		}})
	}
	out = append(out, step{name: StepPatch, left: down + "; the patch command may have run in part", do: func(ctx context.Context) (string, error) {
		// A patch an earlier run started: if the host comes back with
		// a new boot id, it finished and is not run again.
		wait := time.Duration(0)
		if r.j.interrupted(h.Host, StepPatch) {
			wait = r.o.ResumeWait
		}
		for deadline := time.Now().Add(wait); ; {
			if st, err := r.hostState(ctx, h.Host); err == nil && rebooted(h, st) {
				return "already done: the host has a new boot id", nil
			}
			if !time.Now().Before(deadline) {
				break
			}
			if err := sleep(ctx, r.o.Poll); err != nil {
				return "", err
			}
		}
		return "", r.patch(ctx, h.Host)
	}})
	out = append(out, step{name: StepWaitBoot, left: down + "; the host patched but not yet seen back", do: func(ctx context.Context) (string, error) {
		if h.BootID == "" && h.Kernel == "" {
			return "", fmt.Errorf("the plan has no boot id or kernel of %s (its agent reported none): its reboot cannot be seen", h.Host)
		}
		for {
			st, err := r.hostState(ctx, h.Host)
			if err == nil && rebooted(h, st) {
				return fmt.Sprintf("boot id %s, kernel %s", st.bootID, st.kernel), nil
			}
			if serr := sleep(ctx, r.o.Poll); serr != nil {
				return "", fmt.Errorf("%s has not reported a new boot id: %w%s", h.Host, serr, lastQuery(err))
			}
		}
	}})
	if len(h.Stops) > 0 {
		out = append(out, step{name: StepStart, left: down + "; the host is back, patched", do: func(ctx context.Context) (string, error) {
			return "", r.storagegrid(ctx, h.Host, append([]string{"node", "start"}, h.Stops...)...)
		}})
		out = append(out, step{name: StepWaitRunning, left: h.Host + " patched, its nodes started" + moved(len(h.Moves)), do: func(ctx context.Context) (string, error) {
			for {
				st, err := r.hostState(ctx, h.Host)
				if err == nil && st.running(h.Stops) {
					return strings.Join(h.Stops, ", ") + " Running", nil
				}
				if serr := sleep(ctx, r.o.Poll); serr != nil {
					return "", fmt.Errorf("%s not all Running: %w%s", strings.Join(h.Stops, ", "), serr, lastQuery(err))
				}
			}
		}})
	}
	for i, mv := range h.Moves {
		out = append(out, step{name: StepMoveBack + " " + mv.Node, left: h.Host + " patched and running" + moved(len(h.Moves)-i) + "; node migrate resumes an interrupted move",
			do: func(ctx context.Context) (string, error) {
				return "", r.storagegrid(ctx, mv.To, "node", "migrate", mv.Node, "--to", h.Host)
			}})
	}
	return out
}

// safe: the verdict has no blocker but the wave's own stopped nodes.
func (r *run) safe(v model.Verdict) bool {
	return !slices.ContainsFunc(v.Blockers, func(b model.Blocker) bool {
		return b.Rule != model.RuleOthersInService || !r.waveStops[b.Node]
	})
}

func blockers(v model.Verdict) string {
	var s []string
	for _, b := range v.Blockers {
		s = append(s, b.Rule+": "+b.Message)
	}
	return strings.Join(s, "; ")
}

// storagegrid runs a storagegrid command on host, keeping its output for
// the error.
func (r *run) storagegrid(ctx context.Context, host string, args ...string) error {
	t, err := r.o.Target(host)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := t.Run(ctx, nil, &out, &out, args...); err != nil {
		return fmt.Errorf("%w%s", err, tail(out.String()))
	}
	return nil
}

// patch runs the patch command for host.
func (r *run) patch(ctx context.Context, host string) error {
	argv := r.o.Patch(host)
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("the patch command %s: %w%s", node.JoinCommand(argv), err, tail(out.String()))
	}
	return nil
}

// tail is the end of a command's output, for an error.
func tail(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	return ": " + strings.Join(lines[max(0, len(lines)-3):], " / ")
}

// hostState is what the model has of a host now.
type hostState struct {
	bootID, kernel string
	nodes          map[string]string // node -> run state
}

func (r *run) hostState(ctx context.Context, host string) (hostState, error) {
	st, err := r.m.State(ctx, time.Time{}, host)
	if err != nil {
		return hostState{}, err
	}
	hs := hostState{nodes: map[string]string{}}
	for _, e := range st.Entities {
		switch {
		case e.Kind == wire.KindHost && e.ID == host:
			hs.bootID, hs.kernel = e.Fields[wire.FieldBootID], e.Fields[wire.FieldKernel]
		case e.Kind == wire.KindNode:
			hs.nodes[e.ID] = e.Fields[wire.FieldRunState]
		}
	}
	return hs, nil
}

func (s hostState) running(names []string) bool {
	return !slices.ContainsFunc(names, func(n string) bool { return s.nodes[n] != model.Running })
}

// rebooted: the host reports another boot id (or, without one, another
// kernel) than when the plan was made.
func rebooted(h model.PatchHost, st hostState) bool {
	if h.BootID != "" {
		return st.bootID != "" && st.bootID != h.BootID
	}
	return h.Kernel != "" && st.kernel != "" && st.kernel != h.Kernel
}

// lastQuery tells a wait's timeout from a model server that could not
// be asked.
func lastQuery(err error) string {
	if err == nil {
		return ""
	}
	return " (the model server's last answer: " + err.Error() + ")"
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
