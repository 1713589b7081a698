// Package nodekey holds what the keys of a node configuration file mean,
// as NetApp's node configuration key table defines them
// (docs/node-config-keys.md lists every key with its source): the
// defaults of the network keys, the syntax of values that more than one
// package reads (MAXIMUM_RAM, INTERFACE_TARGET_nnnn), and which keys hold
// secrets. validate (package node), the interface checks (netcheck), the
// agent and the model server all read node configs; they take these
// meanings from here so that they cannot disagree about them.
package nodekey

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The networks of a node, in the order the docs list their keys.
var Networks = []string{"GRID", "ADMIN", "CLIENT"}

// The values of *_NETWORK_CONFIG.
const (
	Static   = "STATIC"
	DHCP     = "DHCP"
	Disabled = "DISABLED"
)

// DefaultMTU is the MTU of a network whose *_NETWORK_MTU is absent ("If
// omitted, 1500 is used"; VMware's deploy script uses 1400, but node
// configs are the Linux host service's).
const DefaultMTU = 1500

// Getter reads one key of a node config.
type Getter func(key string) (string, bool)

// Mode is the effective *_NETWORK_CONFIG of network net: the value as
// written, in upper case, or the documented default when the key is
// absent: STATIC for the Grid Network, DISABLED for the Admin and Client
// Networks (a *_NETWORK_TARGET alone attaches the interface for later).
func Mode(get Getter, net string) string {
	if v, ok := get(net + "_NETWORK_CONFIG"); ok && strings.TrimSpace(v) != "" {
		return strings.ToUpper(strings.TrimSpace(v))
	}
	if net == "GRID" {
		return Static
	}
	return Disabled
}

// Secret reports whether key holds a secret (a password or its hash): its
// value is never printed, logged or sent to the model server.
func Secret(key string) bool {
	return key == "CUSTOM_TEMPORARY_PASSWORD" || key == "CUSTOM_TEMPORARY_PASSWORD_HASH"
}

var ramPattern = regexp.MustCompile(`^([0-9]+)([bBkKmMgG]?)$`)

// ParseRAM reads MAXIMUM_RAM: a number with a unit b, k, m or g (binary
// multiples; "24g", "38654705664b"). A bare number is bytes.
func ParseRAM(s string) (int64, error) {
	m := ramPattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%s is not an amount of memory (a number and a unit b, k, m or g, e.g. 24g)", s)
	}
	shift := map[string]uint{"": 0, "b": 0, "k": 10, "m": 20, "g": 30}[strings.ToLower(m[2])]
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n > (1<<62)>>shift {
		return 0, fmt.Errorf("%s is too large an amount of memory", s)
	}
	return n << shift, nil
}

// InterfaceTarget splits an INTERFACE_TARGET_nnnn value, "ens256, Trunk":
// the host interface, then an optional description after a comma.
func InterfaceTarget(v string) (name, description string) {
	name, description, _ = strings.Cut(v, ",")
	return strings.TrimSpace(name), strings.TrimSpace(description)
}
