package vmware

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

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

// userInfo matches the user-info part of any URL in a message.
var userInfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s"'@]*@`)

// redactURL removes user info from a URL-like string without parsing it
// (it may not parse).
func redactURL(s string) string { return userInfo.ReplaceAllString(s, "$1") }

// redactedError keeps the wrapped error for errors.As and fail.KindOf but
// shows a message from which user info and the password are removed.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact is the last step of every exported function: whatever an error
// quotes (URLs from net/http, server messages), the password and any
// URL user info do not reach the caller.
func redact(err error, password string) error {
	if err == nil {
		return nil
	}
	msg := redactURL(err.Error())
	if password != "" {
		for _, form := range []string{password, url.QueryEscape(password), url.PathEscape(password), url.UserPassword("", password).String()[1:]} {
			msg = strings.ReplaceAll(msg, form, "********")
		}
	}
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}
