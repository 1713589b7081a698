package netcheck

import (
	"fmt"

	"github.com/storagegrid/storagegrid/finding"
)

// Compare tells whether the nodes behind reqs could run on the host
// whose view is other: every interface they need must exist there and
// pass the interface checks (Check against other), and where this host
// (local) has the interface too, the MTU and VLAN id should match.
// Findings about other carry Host = other.Host. `node migrate` runs this
// in its preflight.
func Compare(reqs []Requirement, local, other *View) []finding.Finding {
	var out []finding.Finding
	for _, f := range Check(other, reqs) {
		f.Host = other.Host
		out = append(out, f)
	}
	where := other.Host
	if where == "" {
		where = "the other host"
	}
	for _, r := range reqs {
		if ValidName(r.Interface) != nil {
			continue // reported by Check already
		}
		here, there := local.Link(r.Interface), other.Link(r.Interface)
		if here == nil || there == nil {
			continue
		}
		add := func(sev finding.Severity, format string, a ...any) {
			out = append(out, finding.Finding{Severity: sev, Node: r.Node, Host: other.Host, Key: r.Key, Value: r.Interface,
				Message: fmt.Sprintf(format, a...)})
		}
		if here.Type == VLAN && there.Type == VLAN && here.VLANID != there.VLANID {
			add(finding.Error, "%s is VLAN %d here but VLAN %d on %s", r.Interface, here.VLANID, there.VLANID, where)
		} else if here.Type != there.Type {
			add(finding.Warning, "%s is a %s here but a %s on %s", r.Interface, describe(here), describe(there), where)
		}
		if here.MTU != there.MTU {
			add(finding.Warning, "%s has MTU %d here but MTU %d on %s", r.Interface, here.MTU, there.MTU, where)
		}
	}
	return out
}

func describe(l *Link) string {
	if l.Type == VLAN {
		return fmt.Sprintf("VLAN %d", l.VLANID)
	}
	return fmt.Sprintf("%s interface", l.Type)
}
