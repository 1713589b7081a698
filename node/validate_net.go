package node

import (
	"strings"

	"github.com/storagegrid/storagegrid/finding"
	"github.com/storagegrid/storagegrid/netcheck"
)

// networkFindings checks, on this host, every interface the node's config
// names (*_NETWORK_TARGET, INTERFACE_TARGET_nnnn): it exists, is up with
// carrier, is no bond or bridge, and its MTU fits (netcheck.Check).
// Names that are not interface names at all are CheckKeys' to report.
func (v *validator) networkFindings(name string, cfg *Config) []finding.Finding {
	reqs, err := netcheck.Requirements(name, cfg, false)
	if err != nil {
		return nil // no target at all: CheckKeys reports GRID_NETWORK_TARGET
	}
	valid := reqs[:0]
	for _, r := range reqs {
		if netcheck.ValidName(r.Interface) == nil {
			valid = append(valid, r)
		}
	}
	view, err := v.view()
	if err != nil {
		return []finding.Finding{{Severity: finding.Error, Message: "cannot read this host's network interfaces: " + err.Error()}}
	}
	return netcheck.Check(view, valid)
}

// view reads this host's network view once per validate command.
func (v *validator) view() (*netcheck.View, error) {
	if v.netView == nil && v.netErr == nil {
		read := v.opts.NetworkView
		if read == nil {
			read = netcheck.ReadView
		}
		v.netView, v.netErr = read()
	}
	return v.netView, v.netErr
}

// CompareNetwork tells whether the node could run on the host whose
// network view is other, as far as interfaces go (netcheck.CompareNode
// against this host's view): migrate's preflight.
func (m *Manager) CompareNetwork(name string, cfg *Config, other *netcheck.View) (CheckResult, error) {
	v, err := m.validator()
	if err != nil {
		return CheckResult{}, err
	}
	local, err := v.view()
	if err != nil {
		return CheckResult{}, err
	}
	where := other.Host
	if strings.TrimSpace(where) == "" {
		where = "the target host"
	}
	rep := netcheck.CompareNode(name, cfg, local, other)
	return CheckResult{Check: "network", Node: name, Title: "Comparing network interfaces of node " + name + " with " + where,
		Findings: append(rep.Interfaces, rep.Addresses...)}, nil
}
