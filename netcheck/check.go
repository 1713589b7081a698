package netcheck

import "fmt"

// Severity says whether a finding stops a node (error) or deserves a
// look (warning).
type Severity string

// The severities.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Finding is one problem, about one config key. `node validate` prints
// it as `  ERROR: KEY = VALUE` / `         MESSAGE`.
type Finding struct {
	Severity Severity `json:"severity"`
	Node     string   `json:"node,omitempty"`
	Host     string   `json:"host,omitempty"` // set when the finding is about another host's view
	Key      string   `json:"key"`
	Value    string   `json:"value"`
	Message  string   `json:"message"`
}

// HasErrors reports whether any finding is an error.
func HasErrors(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == Error {
			return true
		}
	}
	return false
}

// NotAnInterface is the message for a target that names no link, worded
// as the StorageGRID tools word it.
func NotAnInterface(name string) string {
	return fmt.Sprintf("%s is not a valid interface.  See `ip link show`", name)
}

// Check runs the interface checks of each requirement against v: the
// interface exists, is up with carrier, is not itself a bond or bridge
// (nor a member of one), its MTU fits the node's, and a VLAN's parent is
// up.
func Check(v *View, reqs []Requirement) []Finding {
	var out []Finding
	for _, r := range reqs {
		out = append(out, checkOne(v, r)...)
	}
	return out
}

func checkOne(v *View, r Requirement) []Finding {
	finding := func(sev Severity, format string, a ...any) Finding {
		return Finding{Severity: sev, Node: r.Node, Key: r.Key, Value: r.Interface, Message: fmt.Sprintf(format, a...)}
	}
	if err := ValidName(r.Interface); err != nil {
		return []Finding{finding(Error, "%v", err)}
	}
	l := v.Link(r.Interface)
	if l == nil {
		return []Finding{finding(Error, "%s", NotAnInterface(r.Interface))}
	}
	var out []Finding
	switch {
	case l.Type == Bond || l.Type == Bridge:
		out = append(out, finding(Error, "%s is a %s; do not use a bond or bridge directly, use a VLAN (or veth) on top of it, e.g. %s.100", l.Name, l.Type, l.Name))
	case l.Master != "":
		out = append(out, finding(Error, "%s is a member of %s and carries no traffic of its own; use a VLAN on top of %s", l.Name, l.Master, l.Master))
	}
	parent := v.LinkByIndex(l.ParentIndex)
	parentDown := l.Type == VLAN && l.Parent != "" && parent != nil && !(parent.AdminUp && parent.Carrier)
	switch {
	case !l.AdminUp:
		out = append(out, finding(Warning, "%s is down (ip link set %s up)", l.Name, l.Name))
	case parentDown:
		// The VLAN cannot have carrier without its parent; the error
		// below says why.
	case !l.Carrier:
		out = append(out, finding(Warning, "%s is up but has no carrier (cable, switch port or peer down)", l.Name))
	}
	if parentDown {
		out = append(out, finding(Error, "VLAN parent %s of %s is down or has no carrier", parent.Name, l.Name))
	}
	if r.MTU > l.MTU && r.Network != "" {
		f := finding(Error, "%s %d is above the MTU %d of interface %s", r.networkKey("MTU"), r.MTU, l.MTU, l.Name)
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
