// Package finding is the one shape of a problem that a check reports about
// a node's configuration on a host. node validate, net check and net
// compare (and migrate's preflight, which runs both) report the same kind
// of thing, "this KEY = VALUE will not work here, because ...", so they
// share one type: their findings combine into one list, print the same
// runbook lines and give scripts the same JSON fields.
package finding

import (
	"fmt"
	"strings"
)

// Severity says whether a finding stops a node (error) or deserves a
// look (warning). JSON carries it in lower case, like every other value
// the tool prints for scripts; Text spells it as the runbook does.
type Severity string

// The severities.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Finding is one problem, usually about one config key. Node names the
// node it is about, empty only when it is about none (a misnamed file);
// Host names the other host when it is about one (a comparison).
type Finding struct {
	Severity Severity `json:"severity"`
	Node     string   `json:"node,omitempty"`
	Host     string   `json:"host,omitempty"` // set when the finding is about another host
	Key      string   `json:"key"`
	Value    string   `json:"value"`
	Message  string   `json:"message"`
}

// Errorf and Warningf build a finding about key = value.
func Errorf(key, value, format string, a ...any) Finding {
	return Finding{Severity: Error, Key: key, Value: value, Message: fmt.Sprintf(format, a...)}
}

// Warningf builds a warning about key = value.
func Warningf(key, value, format string, a ...any) Finding {
	return Finding{Severity: Warning, Key: key, Value: value, Message: fmt.Sprintf(format, a...)}
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

// Text is the finding as the runbook prints it under its check line,
// indented by two spaces:
//
//	ERROR: GRID_NETWORK_TARGET = bond0.1001
//	       bond0.1001 is not a valid interface.  See `ip link show`
//
// The reason is aligned under the key. A finding without a value names
// only the key; one about no key (a misnamed file) is one line. The text
// ends with a newline.
func (f Finding) Text() string {
	label := "  " + strings.ToUpper(string(f.Severity)) + ": "
	if f.Key == "" {
		return label + f.Message + "\n"
	}
	subject := f.Key
	if f.Value != "" {
		subject += " = " + f.Value
	}
	return label + subject + "\n" + strings.Repeat(" ", len(label)) + f.Message + "\n"
}
