package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/storagegrid/storagegrid/blockdev"
	"github.com/storagegrid/storagegrid/finding"
	"github.com/storagegrid/storagegrid/hostid"
	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/netcheck"
)

// MigrateOptions tune a migration.
type MigrateOptions struct {
	Target      Target
	StopTimeout time.Duration // for the stop on this host
	Wait        time.Duration // how long the node may take to be Running on the target
	ModelCheck  *ModelCheck   // step 0, when a model server is configured
	// Command is the command line that reruns this migration, as the
	// journal and the record's note name it for whoever finds the node
	// half-way.
	Command string
}

// MigrationStep is one runbook command a migration runs. Step 0 is the
// model server's check; restore steps put the node back after a failure.
type MigrationStep struct {
	N, Total int
	Host     string // "" for this host
	Command  string // as an operator would type it
	Restore  bool
	Skipped  string // why it was skipped, when it was
}

// MigrationReporter hears about a migration as it runs, so that the CLI
// can print each runbook step and the runbook lines of the steps that run
// on this host. Stdout and Stderr receive the target's output.
type MigrationReporter interface {
	Step(s MigrationStep)
	Checked(c CheckResult) // a check this host ran (the network comparison)
	// ModelChecked hears the model server's verdict; forced when it is not
	// safe and --force goes on.
	ModelChecked(v ModelVerdict, forced bool)
	Overridden(err error) // a refusal --force overrode
	Stopping(name string) // the stop is waiting for shutdown
	Exported(res ExportResult)
	Imported(res ImportResult)
	Starting(name string)
	Resuming(j Journal) // a rerun goes on from the journal
	// Await hears of a wait (what is awaited, for at most limit); the
	// Awaiter it returns hears each state seen, then the end.
	Await(what string, limit time.Duration) Awaiter
	Stdout() io.Writer
	Stderr() io.Writer
}

// MigrateResult is where a migration left the node.
type MigrateResult struct {
	Node     string   `json:"node"`
	Host     string   `json:"host"`
	Device   string   `json:"device"`
	RunState RunState `json:"run_state"` // on the target
	// ModelCheck is how step 0 went: passed, overridden, skipped, or
	// absent without a model server.
	ModelCheck string `json:"model_check,omitempty"`
}

// MigrationError is a migration that failed: the step, the cause and
// what was done to put the node back.
type MigrationError struct {
	Node    string
	Host    string
	Step    MigrationStep
	Err     error
	Outcome string // where the node is now, in words
}

func (e *MigrationError) Error() string {
	verb := "failed"
	if fail.KindOf(e.Err) == fail.Refused {
		verb = "refused"
	}
	return fmt.Sprintf("migration of node %s to %s %s at step %d (%s): %v\n%s",
		e.Node, e.Host, verb, e.Step.N, e.Step.Command, e.Err, e.Outcome)
}

func (e *MigrationError) Unwrap() error { return e.Err }

const migrationSteps = 7

// migration is one run of Migrate.
type migration struct {
	m          *Manager
	name       string
	device     string
	cfg        *Config
	config     []byte
	wasRunning bool
	opts       MigrateOptions
	rep        MigrationReporter
	step       MigrationStep
	journal    *Journal // from the stop on; nil before
	resumed    bool     // a rerun: the target may have done its steps
}

// Migrate moves a node to another host by the runbook: ask the model
// server whether the move is safe and validate the node's config on the
// target (both before anything changes), stop and export it
// here, import, validate and start it there, and wait until it runs. A
// failure after the stop puts the node back on this host (exported from
// the target if it got there, imported back, started if it ran before)
// and the error says exactly where the node was left.
//
// From the stop on, a journal in MigrationDir records the step under way
// and the exported record carries a migration note: a migration killed at
// any point is finished by running the same command again (resume), and
// node status and import on either host name that command meanwhile.
func (m *Manager) Migrate(ctx context.Context, name string, opts MigrateOptions, rep MigrationReporter) (MigrateResult, error) {
	if err := ValidName(name); err != nil {
		return MigrateResult{}, fail.With(fail.Usage, err)
	}
	j, err := m.Migration(name)
	if err != nil {
		return MigrateResult{}, err
	}
	if j != nil {
		return m.resume(ctx, *j, opts, rep)
	}
	mg, err := m.newMigration(ctx, name, opts, rep)
	if err != nil {
		return MigrateResult{}, err
	}
	unchanged := fmt.Sprintf("Nothing was changed: node %s is still on this host.", name)
	checked, err := mg.modelCheck(ctx)
	if err != nil {
		return MigrateResult{}, mg.fail(err, unchanged)
	}
	if err := mg.preflight(ctx); err != nil {
		return MigrateResult{}, mg.fail(err, unchanged)
	}
	if err := mg.beginJournal(); err != nil {
		return MigrateResult{}, mg.fail(err, unchanged)
	}
	return mg.finish(ctx, checked, true)
}

// finish runs the steps from the stop on; here says whether the node is
// still configured on this host.
func (mg *migration) finish(ctx context.Context, checked string, here bool) (MigrateResult, error) {
	if here {
		if err := mg.stop(ctx); err != nil {
			return MigrateResult{}, mg.fail(err, mg.describeHere(ctx))
		}
		if err := mg.export(ctx); err != nil {
			return MigrateResult{}, mg.fail(err, mg.restore(ctx, false))
		}
	}
	if err := mg.onTarget(ctx); err != nil {
		return MigrateResult{}, mg.fail(err, mg.restore(ctx, true))
	}
	if err := mg.m.dropJournal(mg.name, RoleSource); err != nil {
		return MigrateResult{}, mg.fail(err, fmt.Sprintf("Node %s runs on %s; remove %s/%s.json here.",
			mg.name, mg.opts.Target.Host, MigrationDir, mg.name))
	}
	return MigrateResult{Node: mg.name, Host: mg.opts.Target.Host, Device: mg.device, RunState: Running, ModelCheck: checked}, nil
}

// resume goes on with the migration journal j left: the steps already
// done are skipped as the state found says (a node still configured here
// is stopped and exported; the target is asked whether it has the node
// and whether it runs), and a step that fails puts the node back here, as
// in a first run.
func (m *Manager) resume(ctx context.Context, j Journal, opts MigrateOptions, rep MigrationReporter) (MigrateResult, error) {
	if j.Role != RoleSource {
		return MigrateResult{}, fail.With(fail.Refused, &MigrationPendingError{Journal: j, Doing: "migrate node " + j.Node + " from here"})
	}
	if j.To != opts.Target.Host {
		return MigrateResult{}, fail.With(fail.Refused, &MigrationPendingError{Journal: j, Doing: "migrate node " + j.Node + " to " + opts.Target.Host})
	}
	rep.Resuming(j)
	mg := &migration{m: m, name: j.Node, device: j.Device, opts: opts, rep: rep, wasRunning: j.WasRunning, journal: &j, resumed: true}
	here := m.reg.Exists(j.Node) == nil
	if here {
		cfg, err := m.reg.Load(j.Node)
		if err != nil {
			return MigrateResult{}, err
		}
		mg.cfg, mg.config = cfg, cfg.Bytes()
	} else {
		mg.skip(2, "", "storagegrid node stop "+j.Node, "done before")
		mg.skip(3, "", "storagegrid node export "+j.Node, "done before")
	}
	return mg.finish(ctx, "resumed", here)
}

// beginJournal writes the journal before the first step that changes
// anything.
func (mg *migration) beginJournal() error {
	host, err := hostid.Get(mg.m.root)
	if err != nil {
		return err
	}
	from, _ := os.Hostname()
	mg.journal = &Journal{Role: RoleSource, Node: mg.name, Device: mg.device, WasRunning: mg.wasRunning,
		Migration: blockdev.Migration{From: from, FromUUID: host, To: mg.opts.Target.Host,
			Command: mg.opts.Command, Started: time.Now().UTC().Truncate(time.Second)}}
	if mg.journal.Command == "" {
		mg.journal.Command = "storagegrid node migrate " + mg.name + " --to " + mg.opts.Target.Host
	}
	return mg.m.writeJournal(mg.journal)
}

// skip reports a step a resumed migration finds done.
func (mg *migration) skip(n int, host, command, why string) {
	mg.rep.Step(MigrationStep{N: n, Total: migrationSteps, Host: host, Command: command, Skipped: why})
}

func (m *Manager) newMigration(ctx context.Context, name string, opts MigrateOptions, rep MigrationReporter) (*migration, error) {
	cfg, err := m.reg.Load(name)
	if err != nil {
		return nil, usageIfUnknown(err)
	}
	device, ok := cfg.Get(VarLocalKey)
	if !ok || device == "" {
		return nil, fail.Invalidf("%s: %s is not set: node %s cannot be exported", cfg.File(), VarLocalKey, name)
	}
	st, err := m.rt.State(ctx, name)
	if err != nil {
		return nil, err
	}
	return &migration{m: m, name: name, device: device, cfg: cfg, config: cfg.Bytes(), opts: opts, rep: rep,
		wasRunning: st != NotRunning}, nil
}

// begin reports step n and, from the stop on, records it in the journal
// first: a kill from here on leaves the journal at this step.
func (mg *migration) begin(n int, host, command string) error {
	mg.step = MigrationStep{N: n, Total: migrationSteps, Host: host, Command: command}
	mg.rep.Step(mg.step)
	if mg.journal == nil {
		return nil
	}
	mg.journal.Step = n
	return mg.m.writeJournal(mg.journal)
}

func (mg *migration) remote(ctx context.Context, stdin io.Reader, args ...string) error {
	return mg.opts.Target.Run(ctx, stdin, mg.rep.Stdout(), mg.rep.Stderr(), args...)
}

// fail wraps the error of a step: a refusal of the model check or a
// preflight that does not validate keep their kind, anything else failed.
func (mg *migration) fail(err error, outcome string) error {
	kind := fail.Failed
	if k := fail.KindOf(err); (mg.step.N == 0 && k == fail.Refused) || (mg.step.N == 1 && k == fail.Invalid) {
		kind = k
	}
	return fail.With(kind, &MigrationError{Node: mg.name, Host: mg.opts.Target.Host, Step: mg.step, Err: err, Outcome: outcome})
}

// preflight validates the config on the target before anything changes,
// then compares the target's interfaces with this host's.
func (mg *migration) preflight(ctx context.Context) error {
	host := mg.opts.Target.Host
	_ = mg.begin(1, host, "storagegrid node validate --file - "+mg.name) // no journal yet
	err := mg.remote(ctx, bytes.NewReader(mg.config), "node", "validate", "--file", "-", mg.name)
	var re *RemoteError
	if errors.As(err, &re) && re.Code == 3 {
		return fail.With(fail.Invalid, fmt.Errorf("node %s does not validate on %s: %w", mg.name, host, err))
	}
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := mg.opts.Target.Run(ctx, nil, &out, mg.rep.Stderr(), "--output", "json", "net", "show"); err != nil {
		return err
	}
	view, err := netcheck.DecodeView(&out)
	if err != nil {
		return fmt.Errorf("on %s: 'storagegrid --output json net show': %w", host, err)
	}
	view.Host = host
	c, err := mg.m.CompareNetwork(mg.name, mg.cfg, view)
	if err != nil {
		return err
	}
	mg.rep.Checked(c)
	if finding.HasErrors(c.Findings) {
		return fail.Invalidf("the network interfaces of node %s do not match on %s", mg.name, host)
	}
	return nil
}

func (mg *migration) stop(ctx context.Context) error {
	if err := mg.begin(2, "", "storagegrid node stop "+mg.name); err != nil {
		return err
	}
	// The stop may wait minutes: its progress is reported each second.
	aw := mg.rep.Await("node "+mg.name+" to shut down", mg.opts.StopTimeout)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if st, err := mg.m.Status(ctx, mg.name); err == nil {
					aw.Show(string(st.RunState))
				}
			}
		}
	}()
	_, err := mg.m.Stop(ctx, mg.name, StopOptions{Timeout: mg.opts.StopTimeout}, func() { mg.rep.Stopping(mg.name) })
	close(done)
	wg.Wait()
	aw.Done()
	return err
}

func (mg *migration) export(ctx context.Context) error {
	if err := mg.begin(3, "", "storagegrid node export "+mg.name); err != nil {
		return err
	}
	note := mg.journal.Migration
	res, err := mg.m.export(ctx, mg.name, &note)
	if err == nil {
		mg.rep.Exported(res)
	}
	return err
}

// onTarget runs the steps on the target: import, validate, start, wait.
// A resumed migration first asks the target whether it has the node and
// whether it runs, and skips what is done.
func (mg *migration) onTarget(ctx context.Context) error {
	host := mg.opts.Target.Host
	var st RunState
	configured := false
	if mg.resumed {
		var err error
		if st, configured, err = mg.targetState(ctx); err != nil {
			return err
		}
	}
	importCmd := "storagegrid node import " + mg.device
	if configured {
		mg.skip(4, host, importCmd, "node "+mg.name+" is configured there")
	} else if err := mg.remoteStep(ctx, 4, importCmd, "node", "import", mg.device); err != nil {
		return err
	}
	if err := mg.remoteStep(ctx, 5, "storagegrid node validate "+mg.name, "node", "validate", mg.name); err != nil {
		return err
	}
	startCmd := "storagegrid node start " + mg.name
	if st == Running {
		mg.skip(6, host, startCmd, "node "+mg.name+" runs there")
	} else if err := mg.remoteStep(ctx, 6, startCmd, "node", "start", mg.name); err != nil {
		return err
	}
	if err := mg.begin(7, host, "storagegrid node status "+mg.name); err != nil {
		return err
	}
	return mg.awaitRunning(ctx)
}

// remoteStep begins step n and runs its command on the target.
func (mg *migration) remoteStep(ctx context.Context, n int, command string, args ...string) error {
	if err := mg.begin(n, mg.opts.Target.Host, command); err != nil {
		return err
	}
	return mg.remote(ctx, nil, args...)
}

// targetState asks the target whether it has the node (configured) and
// how it runs.
func (mg *migration) targetState(ctx context.Context) (RunState, bool, error) {
	st, err := mg.remoteState(ctx)
	if errors.Is(err, errNotThere) {
		return "", false, nil
	}
	return st, err == nil, err
}

// Awaiter hears the states a wait sees (for progress lines), then Done.
type Awaiter interface {
	Show(state string)
	Done()
}

// awaitRunning polls the node's status on the target until it is Running.
func (mg *migration) awaitRunning(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, mg.opts.Wait)
	defer cancel()
	aw := mg.rep.Await(fmt.Sprintf("node %s to run on %s", mg.name, mg.opts.Target.Host), mg.opts.Wait)
	defer aw.Done()
	for {
		st, err := mg.remoteState(ctx)
		if err == nil && st == Running {
			return nil
		}
		aw.Show(describeState(st, err))
		if err := sleepCtx(ctx, 10*pollEvery); err != nil {
			return fmt.Errorf("node %s is not Running on %s after %s (last: %s)", mg.name, mg.opts.Target.Host,
				mg.opts.Wait, describeState(st, err))
		}
	}
}

func describeState(st RunState, err error) string {
	if err != nil {
		return err.Error()
	}
	return string(st)
}

// remoteState asks the target for the node's run state.
func (mg *migration) remoteState(ctx context.Context) (RunState, error) {
	var out, stderr bytes.Buffer
	if err := mg.opts.Target.Run(ctx, nil, &out, &stderr, "--output", "json", "node", "status", mg.name); err != nil {
		return "", mg.unknownThere(err, &stderr)
	}
	var rows []struct {
		Name     string   `json:"name"`
		RunState RunState `json:"run_state"`
	}
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil || len(rows) != 1 || rows[0].Name != mg.name {
		return "", fmt.Errorf("on %s: unexpected node status output %q", mg.opts.Target.Host, truncate(out.String(), 200))
	}
	return rows[0].RunState, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// describeHere says where the node is when the migration stopped before
// exporting it.
func (mg *migration) describeHere(ctx context.Context) string {
	st, err := mg.m.rt.State(ctx, mg.name)
	if err != nil {
		return fmt.Sprintf("Node %s is still configured on this host; its run state is unknown: %v", mg.name, err)
	}
	return fmt.Sprintf("Node %s is still configured on this host and is %s.", mg.name, st)
}

// restore puts the node back on this host after a failed step: it takes
// it off the target when it may have got there (stop, export), imports it
// here unless it is still configured here, and starts it when it ran
// before the migration. It returns where the node ends up, in words.
func (mg *migration) restore(ctx context.Context, targetTouched bool) string {
	failed := mg.step
	if targetTouched {
		if msg := mg.clearTarget(ctx); msg != "" {
			return msg
		}
	}
	if mg.m.reg.Exists(mg.name) != nil {
		mg.restoreStep("", "storagegrid node import "+mg.device)
		res, err := mg.m.importFrom(ctx, mg.device, true)
		if err != nil {
			return fmt.Sprintf("Could not import node %s back: %v\nNode %s is exported to %s (copy in %s/%s.conf) "+
				"and configured on no host.", mg.name, err, mg.name, mg.device, ExportDir, mg.name)
		}
		mg.rep.Imported(res)
	}
	mg.step = failed
	// Back: the migration is over, whatever the start below does.
	if err := mg.m.dropJournal(mg.name, RoleSource); err != nil {
		return fmt.Sprintf("Node %s is configured on this host again, but its migration journal stays: %v", mg.name, err)
	}
	if !mg.wasRunning {
		return fmt.Sprintf("Restored: node %s is configured on this host again and Not-Running, as before.", mg.name)
	}
	mg.restoreStep("", "storagegrid node start "+mg.name)
	_, err := mg.m.Start(ctx, mg.name, func() { mg.rep.Starting(mg.name) })
	mg.step = failed
	if err != nil {
		return fmt.Sprintf("Node %s is configured on this host again but did not start: %v", mg.name, err)
	}
	return fmt.Sprintf("Restored: node %s is configured and Running on this host again.", mg.name)
}

func (mg *migration) restoreStep(host, command string) {
	mg.rep.Step(MigrationStep{Total: migrationSteps, Host: host, Command: command, Restore: true})
}

// clearTarget stops and exports the node on the target, if it is there,
// so that this host can import it back. It returns "" when the target no
// longer has the node, or where the node was left.
func (mg *migration) clearTarget(ctx context.Context) string {
	host := mg.opts.Target.Host
	mg.restoreStep(host, "storagegrid node stop "+mg.name)
	err := mg.remoteUnlessUnknown(ctx, "node", "stop", mg.name)
	if errors.Is(err, errNotThere) {
		return ""
	}
	if err == nil {
		mg.restoreStep(host, "storagegrid node export "+mg.name)
		if err = mg.remoteUnlessUnknown(ctx, "node", "export", mg.name); err == nil || errors.Is(err, errNotThere) {
			return ""
		}
	}
	return fmt.Sprintf("Could not take node %s off %s: %v\nNode %s is exported from this host to %s; on %s it may be "+
		"configured. Check there with 'storagegrid node status %s' before importing it anywhere.",
		mg.name, host, err, mg.name, mg.device, host, mg.name)
}

// errNotThere is a target command that failed because the node is not
// configured there.
var errNotThere = errors.New("node not configured on the target")

// remoteUnlessUnknown runs a node command on the target and tells from its
// exit status (2, usage) and message when it failed because the node is
// not configured there: a target whose import failed has nothing to undo.
func (mg *migration) remoteUnlessUnknown(ctx context.Context, args ...string) error {
	var stderr bytes.Buffer
	err := mg.opts.Target.Run(ctx, nil, mg.rep.Stdout(), io.MultiWriter(mg.rep.Stderr(), &stderr), args...)
	return mg.unknownThere(err, &stderr)
}

// unknownThere is errNotThere for a target command that failed because
// the node is not configured there (exit status 2, usage, and the unknown
// node message), else err.
func (mg *migration) unknownThere(err error, stderr *bytes.Buffer) error {
	var re *RemoteError
	if errors.As(err, &re) && re.Code == 2 && strings.Contains(stderr.String(), "unknown node "+mg.name+":") {
		return errNotThere
	}
	return err
}

// String spells a step as the CLI prints it.
func (s MigrationStep) String() string {
	where := "this host"
	if s.Host != "" {
		where = s.Host
	}
	switch {
	case s.Restore:
		return fmt.Sprintf("Restore on %s: %s", where, s.Command)
	case s.Skipped != "":
		return fmt.Sprintf("Step %d/%d on %s: %s... SKIPPED (%s)", s.N, s.Total, where, s.Command, s.Skipped)
	}
	return fmt.Sprintf("Step %d/%d on %s: %s", s.N, s.Total, where, strings.TrimSpace(s.Command))
}
