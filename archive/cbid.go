// Package archive automates the runbook for objects an Archive Node can no
// longer retrieve from tape: it talks to the ARC service's ADE console
// (cancel the retrieval, declare the object lost), queries TSM through
// dsmadmc to confirm the loss, and runs the whole recovery from a journal
// so that a rerun after a crash or a dropped session never declares an
// object lost twice.
//
// The package never prints; cmd/storagegrid turns its results into output.
package archive

import (
	"fmt"
	"strconv"
	"strings"
)

// CBID is an object's content block identifier, always 16 upper-case hex
// digits without a 0x prefix (the form the ADE console and TSM print).
type CBID string

// ParseCBID accepts 16 hex digits, with or without 0x, in either case.
// Nothing that is not exactly a CBID may reach the console: a typo there
// declares the wrong object lost.
func ParseCBID(s string) (CBID, error) {
	h := strings.TrimSpace(s)
	if len(h) > 2 && (h[:2] == "0x" || h[:2] == "0X") {
		h = h[2:]
	}
	if len(h) != 16 {
		return "", fmt.Errorf("invalid CBID %q: want 16 hex digits (0x optional)", s)
	}
	for _, r := range h {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return "", fmt.Errorf("invalid CBID %q: %q is not a hex digit", s, r)
		}
	}
	return CBID(strings.ToUpper(h)), nil
}

// ParseCBIDs parses every argument, reporting all bad ones at once so
// that the operator fixes the list in one go.
func ParseCBIDs(args []string) ([]CBID, error) {
	out := make([]CBID, 0, len(args))
	var bad []string
	for _, a := range args {
		c, err := ParseCBID(a)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		out = append(out, c)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return out, nil
}

// ParseNodeID checks an Archive Node ID (the audit field ANID, a UI32
// printed in decimal, e.g. 13959984) and returns it canonical.
func ParseNodeID(s string) (string, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	if err != nil || n == 0 {
		return "", fmt.Errorf("invalid node ID %q: want the Archive Node's decimal ID (e.g. 13959984)", s)
	}
	return strconv.FormatUint(n, 10), nil
}
