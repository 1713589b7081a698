package node

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/storagegrid/storagegrid/blockdev"
	"github.com/storagegrid/storagegrid/finding"
	"github.com/storagegrid/storagegrid/hostid"
	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/netcheck"
)

// CheckResult is one check of validate: a runbook line ("Confirming
// existence of node DC1-S3") and what it found. No findings prints PASSED.
type CheckResult struct {
	Check    string            `json:"check"` // existence, importable, misnamed, config, unique, network
	Title    string            `json:"title"`
	Node     string            `json:"node,omitempty"`
	Findings []finding.Finding `json:"findings"`
}

// Report is the outcome of one validate command.
type Report struct {
	Checks   []CheckResult `json:"checks"`
	Errors   int           `json:"errors"`
	Warnings int           `json:"warnings"`
}

// add counts c's findings and names c's node in those that name none,
// so that every finding about a node says which, as net check's do.
func (r *Report) add(c CheckResult) {
	c.Findings = c.withNode()
	for _, f := range c.Findings {
		if f.Severity == finding.Error {
			r.Errors++
		} else {
			r.Warnings++
		}
	}
	r.Checks = append(r.Checks, c)
}

func (c CheckResult) withNode() []finding.Finding {
	out := make([]finding.Finding, len(c.Findings))
	for i, f := range c.Findings {
		if f.Node == "" {
			f.Node = c.Node
		}
		out[i] = f
	}
	return out
}

// validator holds what the checks of one validate command share: the
// devices probed so far (each path is probed once) and this host's UUID.
type validator struct {
	m       *Manager
	opts    Ownership
	host    string
	probes  map[string]probe
	netView *netcheck.View
	netErr  error
	// noRecord leaves the var-local record to the caller: start's claim
	// decides about it, with --force.
	noRecord bool
}

type probe struct {
	dev blockdev.Device
	err error
}

func (m *Manager) validator() (*validator, error) {
	// Lookup, not Get: validate reads the host and must not change it.
	// A host without a UUID owns no record, so "" compares unequal to all.
	host, err := hostid.Lookup(m.root)
	if err != nil {
		return nil, err
	}
	return &validator{m: m, opts: m.ownership(), host: host, probes: map[string]probe{}}, nil
}

// validatorFor checks the name of the node to validate first: a name
// that could escape the config directory is a usage error.
func (m *Manager) validatorFor(name string) (*validator, error) {
	if err := ValidName(name); err != nil {
		return nil, usageIfUnknown(err)
	}
	return m.validator()
}

func (v *validator) probe(path string) (blockdev.Device, error) {
	p, ok := v.probes[path]
	if !ok {
		p.dev, p.err = blockdev.Probe(path, v.opts.Devices)
		v.probes[path] = p
	}
	return p.dev, p.err
}

// deviceID lets CheckUnique catch two paths to one device.
func (v *validator) deviceID(path string) (string, bool) {
	dev, err := v.probe(path)
	return dev.ID, err == nil
}

// Validate checks one node configured here, as `node validate NAME`: it
// exists, its config is valid on this host, and its unique values are not
// used by another node here. Only an invalid name is an error; problems
// are findings.
func (m *Manager) Validate(name string) (Report, error) {
	var r Report
	v, err := m.validatorFor(name)
	if err != nil {
		return r, err
	}
	exists := CheckResult{Check: "existence", Title: "Confirming existence of node " + name, Node: name}
	if err := m.reg.Exists(name); err != nil {
		exists.Findings = []finding.Finding{{Severity: finding.Error, Message: err.Error()}}
		r.add(exists)
		return r, nil
	}
	r.add(exists)
	cfg, err := m.reg.Load(name)
	return r, v.checkOne(&r, name, m.reg.Path(name), cfg, err, true)
}

// ValidationError is start's refusal of a node whose config validate
// finds errors in; Report holds validate's checks, for printing.
type ValidationError struct {
	Node   string
	Report Report
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("not starting node %s: its validation found %d error(s) (see 'storagegrid node validate %s')",
		e.Node, e.Report.Errors, e.Node)
}

// preflight runs node validate NAME's checks before start runs anything,
// so that a node never starts on a missing device or interface. The
// record's owner is left to the claim, which refuses with the ownership
// lines. Managers without host checks (SetOwnership), as the runtimes'
// tests use, skip it.
func (m *Manager) preflight(name string) error {
	if m.own == nil {
		return nil
	}
	var r Report
	v, err := m.validatorFor(name)
	if err != nil {
		return err
	}
	v.noRecord = true
	cfg, err := m.reg.Load(name)
	if err := v.checkOne(&r, name, m.reg.Path(name), cfg, err, false); err != nil {
		return err
	}
	if r.Errors > 0 {
		return fail.With(fail.Invalid, &ValidationError{Node: name, Report: r})
	}
	return nil
}

// ValidateAll checks every node configured here, as `node validate all`.
func (m *Manager) ValidateAll() (Report, error) {
	var r Report
	v, err := m.validator()
	if err != nil {
		return r, err
	}
	names, warnings, err := m.reg.Names()
	if err != nil {
		return r, err
	}
	misnamed := CheckResult{Check: "misnamed", Title: "Checking for misnamed node configuration files"}
	for _, w := range warnings {
		misnamed.Findings = append(misnamed.Findings, finding.Finding{Severity: finding.Warning, Message: w.String()})
	}
	r.add(misnamed)
	var nodes []Named
	for _, name := range names {
		cfg, err := m.reg.Load(name)
		c := v.configCheck(name, m.reg.Path(name), cfg, err, true)
		c.Title = "Checking configuration file for node " + name
		r.add(c)
		if err == nil {
			nodes = append(nodes, Named{Name: name, Config: cfg})
		}
	}
	r.add(CheckResult{Check: "unique", Title: "Checking for duplication of unique values between nodes",
		Findings: CheckUnique(nodes, v.deviceID)})
	return r, nil
}

// ValidateFile checks a config that is not installed here as if it had
// been imported as node name (`node validate --file PATH|- NAME`), so that
// a target host can be checked before the source stops the node. file
// names the config in messages. The record's owner is not checked: before
// a migration the source host still owns it.
func (m *Manager) ValidateFile(name, file string, config io.Reader) (Report, error) {
	var r Report
	v, err := m.validatorFor(name)
	if err != nil {
		return r, err
	}
	importable := CheckResult{Check: "importable", Title: fmt.Sprintf("Confirming node %s can be imported", name), Node: name}
	if err := m.reg.Exists(name); err == nil {
		importable.Findings = []finding.Finding{{Severity: finding.Error,
			Message: fmt.Sprintf("node %s is already configured on this host (%s): import would refuse it", name, m.reg.Path(name))}}
	} else if !errors.Is(err, ErrUnknownNode) {
		return r, err
	}
	r.add(importable)
	cfg, err := ParseConfig(file, config)
	return r, v.checkOne(&r, name, file, cfg, err, false)
}

// checkOne adds the checks of one node's config (read from file, or
// failed with parseErr) and of its unique values against the other nodes
// here.
func (v *validator) checkOne(r *Report, name, file string, cfg *Config, parseErr error, installed bool) error {
	self := v.configCheck(name, file, cfg, parseErr, installed)
	self.Title = fmt.Sprintf("Checking configuration file %s for node %s", file, name)
	r.add(self)
	others, err := v.installed(name)
	if err != nil {
		return err
	}
	r.add(CheckResult{Check: "unique", Title: "Checking for duplication of unique values",
		Node: name, Findings: uniqueFor(cfg, name, others, v.deviceID)})
	return nil
}

// installed loads the nodes configured here other than skip; configs
// that do not parse are left out (their own check reports them).
func (v *validator) installed(skip string) ([]Named, error) {
	names, _, err := v.m.reg.Names()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // a host with no nodes yet: a migration target, say
	}
	if err != nil {
		return nil, err
	}
	var nodes []Named
	for _, n := range names {
		if n == skip {
			continue
		}
		if cfg, err := v.m.reg.Load(n); err == nil {
			nodes = append(nodes, Named{Name: n, Config: cfg})
		}
	}
	return nodes, nil
}

// uniqueFor reports the duplicated unique values that involve node name:
// the findings over all nodes less those among the others alone. The node
// goes last so that each finding shows its own key and value.
func uniqueFor(cfg *Config, name string, others []Named, id DeviceID) []finding.Finding {
	if cfg == nil {
		return nil
	}
	rest := map[finding.Finding]int{}
	for _, f := range CheckUnique(others, id) {
		rest[f]++
	}
	var out []finding.Finding
	for _, f := range CheckUnique(append(others[:len(others):len(others)], Named{Name: name, Config: cfg}), id) {
		if rest[f] > 0 {
			rest[f]--
			continue
		}
		out = append(out, f)
	}
	return out
}

// configCheck checks one node's config: every key (CheckKeys), every
// block device and every network interface on this host. installed says the node is configured here,
// so its record's owner matters.
func (v *validator) configCheck(name, file string, cfg *Config, parseErr error, installed bool) CheckResult {
	c := CheckResult{Check: "config", Node: name}
	if parseErr != nil {
		c.Findings = []finding.Finding{{Severity: finding.Error, Message: parseErr.Error()}}
		return c
	}
	c.Findings = append(CheckKeys(cfg), v.deviceFindings(name, cfg, installed)...)
	c.Findings = append(c.Findings, notAgain(c.Findings, v.networkFindings(name, cfg))...)
	return c
}

// deviceFindings checks every BLOCK_DEVICE_* path: it exists, is a block
// device (a file only with allow_files, and then with a warning), and the
// var-local device can hold the node's record and holds no other node's.
func (v *validator) deviceFindings(name string, cfg *Config, installed bool) []finding.Finding {
	var fs []finding.Finding
	for _, k := range cfg.Keys() {
		path, _ := cfg.Get(k)
		if !strings.HasPrefix(k, "BLOCK_DEVICE_") || !strings.HasPrefix(path, "/") {
			continue // not a device, or a path CheckKeys already rejects
		}
		bad := func(sev finding.Severity, format string, a ...any) {
			fs = append(fs, finding.Finding{Severity: sev, Key: k, Value: path, Message: fmt.Sprintf(format, a...)})
		}
		dev, err := v.probe(path)
		if err != nil {
			bad(finding.Error, "%v", err)
			continue
		}
		if dev.Kind == blockdev.File {
			bad(finding.Warning, "%s is a regular file, not a block device: accepted only because "+
				"[devices] allow_files is set (sandboxes and demos)", path)
		}
		if k == VarLocalKey && !v.noRecord {
			if msg := v.recordProblem(name, dev, installed); msg != "" {
				bad(finding.Error, "%s", msg)
			}
		}
	}
	return fs
}

// recordProblem says what stops dev from carrying node name's record.
func (v *validator) recordProblem(name string, dev blockdev.Device, installed bool) string {
	if dev.Size < blockdev.RegionSize {
		return fmt.Sprintf("%s is too small for the node record: need at least %d bytes, found %d",
			dev.Path, blockdev.RegionSize, dev.Size)
	}
	rec, found, err := readNodeRecord(dev)
	switch {
	case err != nil:
		return err.Error()
	case !found:
		return ""
	case rec.Node != name:
		return fmt.Sprintf("%s holds the record of node %s: it is another node's var-local device", dev.Path, rec.Node)
	case installed && rec.HostUUID != v.host && rec.State == blockdev.Active:
		return fmt.Sprintf("the record on %s says node %s is active on another host (UUID %s): start will refuse it",
			dev.Path, name, rec.HostUUID)
	}
	return ""
}

// notAgain drops the findings about keys that already have an error: an
// MTU of 9300 is invalid, and need not also be too large for the link.
func notAgain(have, more []finding.Finding) []finding.Finding {
	bad := map[string]bool{}
	for _, f := range have {
		if f.Severity == finding.Error && f.Key != "" {
			bad[f.Key] = true
		}
	}
	var out []finding.Finding
	for _, f := range more {
		if !bad[f.Key] {
			out = append(out, f)
		}
	}
	return out
}
