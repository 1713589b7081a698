package netcheck

import (
	"fmt"

	"github.com/storagegrid/storagegrid/finding"
)

// NotAnInterface is the message for a target that names no link, worded
// as the StorageGRID tools word it.
func NotAnInterface(name string) string {
	return fmt.Sprintf("%s is not a valid interface.  See `ip link show`", name)
}

// Check runs the interface checks of each requirement against v: the
// interface exists, is up with carrier, is not itself a bond or bridge
// (nor a member of one), its MTU fits the node's, and a VLAN's parent is
// up.
func Check(v *View, reqs []Requirement) []finding.Finding {
	var out []finding.Finding
	for _, r := range reqs {
		out = append(out, checkOne(v, r)...)
	}
	return out
}

func checkOne(v *View, r Requirement) []finding.Finding {
	about := func(sev finding.Severity, format string, a ...any) finding.Finding {
		return finding.Finding{Severity: sev, Node: r.Node, Key: r.Key, Value: r.Interface, Message: fmt.Sprintf(format, a...)}
	}
	if err := ValidName(r.Interface); err != nil {
		return []finding.Finding{about(finding.Error, "%v", err)}
	}
	l := v.Link(r.Interface)
	if l == nil {
		return []finding.Finding{about(finding.Error, "%s", NotAnInterface(r.Interface))}
	}
	var out []finding.Finding
	switch {
	case l.Type == Bond || l.Type == Bridge:
		out = append(out, about(finding.Error, "%s is a %s; do not use a bond or bridge directly, use a VLAN (or veth) on top of it, e.g. %s.100", l.Name, l.Type, l.Name))
	case l.Master != "":
		out = append(out, about(finding.Error, "%s is a member of %s and carries no traffic of its own; use a VLAN on top of %s", l.Name, l.Master, l.Master))
	}
	parent := v.LinkByIndex(l.ParentIndex)
	parentDown := l.Type == VLAN && l.Parent != "" && parent != nil && !(parent.AdminUp && parent.Carrier)
	switch {
	case !l.AdminUp:
		out = append(out, about(finding.Warning, "%s is down (ip link set %s up)", l.Name, l.Name))
	case parentDown:
		// The VLAN cannot have carrier without its parent; the error
		// below says why.
	case !l.Carrier:
		out = append(out, about(finding.Warning, "%s is up but has no carrier (cable, switch port or peer down)", l.Name))
	}
	if parentDown {
		out = append(out, about(finding.Error, "VLAN parent %s of %s is down or has no carrier", parent.Name, l.Name))
	}
	if r.MTU > l.MTU && r.Network != "" {
		f := about(finding.Error, "%s %d is above the MTU %d of interface %s", r.networkKey("MTU"), r.MTU, l.MTU, l.Name)
		if r.MTUDefaulted {
			f.Message = fmt.Sprintf("the default %s %d is above the MTU %d of interface %s; set %s or raise the interface MTU",
				r.networkKey("MTU"), r.MTU, l.MTU, l.Name, r.networkKey("MTU"))
		} else {
			f.Key, f.Value = r.networkKey("MTU"), fmt.Sprint(r.MTU)
		}
		out = append(out, f)
	}
	return out
}
