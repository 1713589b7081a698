package node

import (
	"context"
	"fmt"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/wire"
)

// ModelChecker asks a model server's check-migrate whether node may move
// to host to.
type ModelChecker interface {
	CheckMigrate(ctx context.Context, node, to string) (ModelVerdict, error)
}

// ModelVerdict is what a migration reads of the model server's answer.
// The CLI adapts model.Verdict: node cannot import model, whose tests
// import node.
type ModelVerdict interface {
	// About is the question answered, as the server spelled it.
	About() (check, node, to string)
	// Err is nil when the move is safe, else a refusal naming the blockers.
	Err() error
}

// ModelCheck is step 0 of a migration: the fleet model's check-migrate,
// asked before anything changes. The model sees what neither host can:
// the other nodes' states, the placement rules, the target's LUNs by
// WWID.
type ModelCheck struct {
	Server  string       // the server's address, named in the step and in errors
	Checker ModelChecker // not needed when Skip
	Host    string       // the target's host id in the model
	Force   bool         // go on when the check says not safe or cannot be made
	Skip    bool         // the operator skips the check (--no-model-check): only say so
}

// The outcomes of step 0, as MigrateResult.ModelCheck spells them.
const (
	ModelCheckPassed     = "passed"
	ModelCheckOverridden = "overridden"
	ModelCheckSkipped    = "skipped"
)

// NewModelCheck checks the target's host id and returns the check.
func NewModelCheck(server string, checker ModelChecker, host string) (*ModelCheck, error) {
	if err := wire.ValidHostID(host); err != nil {
		return nil, fmt.Errorf("target host in the model: %w", err)
	}
	return &ModelCheck{Server: server, Checker: checker, Host: host}, nil
}

// command is the check as an operator would type it to ask it again.
func (mc *ModelCheck) command(name string) string {
	cmd := "storagegrid model check-migrate " + name + " --to " + mc.Host
	if mc.Server != "" {
		cmd += " --server " + mc.Server
	}
	return cmd
}

// modelCheck runs step 0 and returns its outcome ("" without a check). A
// verdict that is not safe, or no verdict at all, refuses the migration
// unless Force.
func (mg *migration) modelCheck(ctx context.Context) (string, error) {
	mc := mg.opts.ModelCheck
	if mc == nil {
		return "", nil
	}
	if mc.Skip {
		mg.step = MigrationStep{Total: migrationSteps, Command: mc.command(mg.name), Skipped: "--no-model-check"}
		mg.rep.Step(mg.step)
		return ModelCheckSkipped, nil
	}
	mg.begin(0, "", mc.command(mg.name))
	v, err := mc.Checker.CheckMigrate(ctx, mg.name, mc.Host)
	if err == nil {
		err = mc.answers(v, mg.name)
	}
	if err != nil {
		return mc.refuse(mg.rep, fmt.Errorf("model server %s could not check the migration: %v", mc.Server, err),
			"the global --force goes on without the check; --no-model-check skips it")
	}
	notSafe := v.Err()
	mg.rep.ModelChecked(v, notSafe != nil && mc.Force)
	if notSafe != nil {
		return mc.refuse(mg.rep, fmt.Errorf("model server %s: %w", mc.Server, notSafe), "the global --force overrides")
	}
	return ModelCheckPassed, nil
}

// answers makes sure the verdict is the one asked for, so that a server
// answering something else with 200 OK is not taken as a pass.
func (mc *ModelCheck) answers(v ModelVerdict, name string) error {
	if check, node, to := v.About(); check != "check-migrate" || node != name || to != mc.Host {
		return fmt.Errorf("unexpected answer: a verdict on %q for node %q to %q", check, node, to)
	}
	return nil
}

// refuse refuses the migration for err, saying how to override it, unless
// Force turns the refusal into a warning.
func (mc *ModelCheck) refuse(rep MigrationReporter, err error, hint string) (string, error) {
	if mc.Force {
		rep.Overridden(err)
		return ModelCheckOverridden, nil
	}
	return "", fail.With(fail.Refused, fmt.Errorf("%w (%s)", err, hint))
}
