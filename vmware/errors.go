package vmware

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/vim25/types"
)

// NotFoundError says no VM or host has the name; Suggestions are the
// closest names in the inventory.
type NotFoundError struct {
	Kind        string // "VM" or "host"
	Name        string
	Suggestions []string
}

func (e *NotFoundError) Error() string {
	msg := fmt.Sprintf("%s %q not found", e.Kind, e.Name)
	if len(e.Suggestions) > 0 {
		msg += "; did you mean " + orList(e.Suggestions) + "?"
	}
	return msg
}

// AmbiguousError says several objects have the name; Paths are their
// inventory paths, any of which names one exactly.
type AmbiguousError struct {
	Kind  string
	Name  string
	Paths []string
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("%s name %q is ambiguous: it matches %s; give the inventory path instead",
		e.Kind, e.Name, strings.Join(e.Paths, ", "))
}

// HostDisconnectedError says vSphere cannot reach the host a VM runs on.
type HostDisconnectedError struct {
	Host  string
	State string // disconnected or notResponding; empty when only a fault said so
	VM    string // empty when the host itself was asked for
}

func (e *HostDisconnectedError) Error() string {
	msg := fmt.Sprintf("host %s is not connected to vSphere", e.Host)
	if e.VM != "" {
		msg = fmt.Sprintf("VM %s: its host %s is not connected to vSphere", e.VM, e.Host)
	}
	if e.State != "" {
		msg += fmt.Sprintf(" (connection state %s)", e.State)
	}
	return msg
}

// PermissionError is vSphere's NoPermission fault, with the object named.
type PermissionError struct {
	User      string
	Privilege string
	Object    string
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("permission denied: user %s lacks privilege %s on %s", e.User, e.Privilege, e.Object)
}

// ThumbprintError says the server's certificate is not the pinned one.
type ThumbprintError struct {
	Host       string // host:port
	Want       string
	GotSHA1    string
	GotSHA256  string
	wantSHA256 bool
}

func (e *ThumbprintError) Error() string {
	got := e.GotSHA1
	if e.wantSHA256 {
		got = e.GotSHA256
	}
	return fmt.Sprintf("TLS thumbprint mismatch for %s: the server presents %s, expected %s; not connecting", e.Host, got, e.Want)
}

// permissionError turns a NoPermission fault anywhere in err into a
// PermissionError, naming the object through name.
func permissionError(err error, user string, name func(types.ManagedObjectReference) string) (*PermissionError, bool) {
	var np *types.NoPermission
	if _, ok := fault.As(err, &np); !ok {
		return nil, false
	}
	pe := &PermissionError{User: user, Privilege: np.PrivilegeId, Object: "the requested object"}
	if np.Object != nil {
		pe.Object = name(*np.Object)
	}
	if len(np.MissingPrivileges) > 0 {
		mp := np.MissingPrivileges[0]
		if pe.Privilege == "" && len(mp.PrivilegeIds) > 0 {
			pe.Privilege = strings.Join(mp.PrivilegeIds, ", ")
		}
		if np.Object == nil && mp.Entity.Value != "" {
			pe.Object = name(mp.Entity)
		}
	}
	if pe.Privilege == "" {
		pe.Privilege = "(not named by the server)"
	}
	return pe, true
}

// orList joins names as "a", "a or b", "a, b or c".
func orList(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// TimeoutError is a vSphere server that did not answer in time.
type TimeoutError struct {
	Server string        // host:port
	Step   string        // what was being done, e.g. "reading the inventory"
	After  time.Duration // the deadline that passed
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("vSphere server %s did not answer within %s while %s (--timeout, vmware.timeout)", e.Server, e.After, e.Step)
}

// isTimeout reports whether err is a deadline that passed (the client's
// per-call timeout or a dial timeout), not a cancellation.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// finish is the last step of every exported function: a call that
// timed out becomes a TimeoutError naming the server and the step. No
// error needs a password taken out: the URL the client uses has no user
// info (Resolve cuts it off by structure), and the password is sent only
// in the login body.
func (c *Client) finish(err error, step string) error {
	if err != nil && isTimeout(err) {
		return &TimeoutError{Server: c.host, Step: step, After: c.cfg.Timeout}
	}
	return err
}
