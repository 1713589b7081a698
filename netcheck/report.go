package netcheck

import (
	"context"

	"github.com/storagegrid/storagegrid/finding"
)

// Report is the outcome of checking one node's network on a host.
type Report struct {
	Node    string `json:"node"`
	Host    string `json:"host,omitempty"` // the other host, for a comparison
	Running bool   `json:"running"`
	// Interfaces holds the interface findings (Check, or Compare).
	Interfaces []finding.Finding `json:"interfaces"`
	// Addresses holds the duplicate-address findings; Probed says
	// whether the probes ran at all.
	Addresses []finding.Finding `json:"addresses"`
	Probed    bool              `json:"probed"`
}

// HasErrors reports whether a check of the node found an error; warnings
// alone do not fail a node.
func (r Report) HasErrors() bool {
	return finding.HasErrors(r.Interfaces) || finding.HasErrors(r.Addresses)
}

// CheckNode checks one node (its config cfg, running or not) against
// this host's view v: the interface checks, then, when probe is not nil
// and the node is not running, duplicate-address probes for its static
// addresses. Only a failure to
// probe at all (not root, cancelled) is an error.
func CheckNode(ctx context.Context, v *View, node string, cfg KeyValues, running bool, probe *ProbeOptions) (Report, error) {
	rep := Report{Node: node, Running: running, Interfaces: []finding.Finding{}, Addresses: []finding.Finding{}}
	reqs, err := Requirements(node, cfg, running)
	if err != nil {
		rep.Interfaces = append(rep.Interfaces, noTargets(node, err))
		return rep, nil
	}
	rep.Interfaces = append(rep.Interfaces, Check(v, reqs)...)
	if probe == nil || running {
		// A running node answers for its own addresses.
		return rep, nil
	}
	dups, err := Duplicates(ctx, v, reqs, *probe)
	if err != nil {
		return rep, err
	}
	rep.Addresses = append(rep.Addresses, dups...)
	rep.Probed = true
	return rep, nil
}

// CompareNode tells whether node (config cfg) could run on the host of
// view other, given this host's view local; see Compare.
func CompareNode(node string, cfg KeyValues, local, other *View) Report {
	rep := Report{Node: node, Host: other.Host, Interfaces: []finding.Finding{}, Addresses: []finding.Finding{}}
	reqs, err := Requirements(node, cfg, false)
	if err != nil {
		rep.Interfaces = append(rep.Interfaces, noTargets(node, err))
		return rep
	}
	rep.Interfaces = append(rep.Interfaces, Compare(reqs, local, other)...)
	return rep
}

// noTargets reports Requirements' only error, ErrNoTargets, against the
// key every node must set.
func noTargets(node string, err error) finding.Finding {
	return finding.Finding{Severity: finding.Error, Node: node, Key: "GRID_NETWORK_TARGET", Message: err.Error()}
}
