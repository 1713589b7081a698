package netcheck

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/storagegrid/storagegrid/nodekey"
)

// DefaultMTU is the MTU a node uses on a network whose *_NETWORK_MTU
// key is absent.
const DefaultMTU = nodekey.DefaultMTU

// ErrNoTargets is returned for a node that names no interface at all.
var ErrNoTargets = errors.New("no network targets")

// Requirement is one host interface a node needs, with what the node
// will do on it. It is neutral data: node configs, a model server or a
// test can produce it.
type Requirement struct {
	Node      string `json:"node"`
	Key       string `json:"key"`       // GRID_NETWORK_TARGET, INTERFACE_TARGET_0001, ...
	Interface string `json:"interface"` // host interface name
	// Network is GRID, ADMIN or CLIENT; empty for INTERFACE_TARGET_nnnn,
	// which carry no MTU or address.
	Network string `json:"network,omitempty"`
	MTU     int    `json:"mtu,omitempty"` // the node's MTU on this network; 0: no MTU check
	// MTUDefaulted: MTU is DefaultMTU because *_NETWORK_MTU is absent.
	MTUDefaulted bool         `json:"mtu_defaulted,omitempty"`
	Address      netip.Prefix `json:"address,omitzero"` // the node's static address and mask
	Static       bool         `json:"static,omitempty"`
	Running      bool         `json:"running,omitempty"` // the node runs now, so it answers for Address itself
}

// Key of the setting a finding about the requirement's MTU or address
// refers to, e.g. GRID_NETWORK_MTU.
func (r Requirement) networkKey(suffix string) string {
	return r.Network + "_NETWORK_" + suffix
}

var interfaceTargetKey = regexp.MustCompile(`^INTERFACE_TARGET_[0-9]{4}$`)

// KeyValues is a node configuration as read from its config file; the
// node package's config satisfies it, and Map adapts a plain map.
type KeyValues interface {
	Keys() []string
	Get(key string) (string, bool)
}

// Map is a KeyValues held in a map.
type Map map[string]string

// Keys returns the keys in sorted order.
func (m Map) Keys() []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Get returns the value of key.
func (m Map) Get(key string) (string, bool) {
	v, ok := m[key]
	return v, ok
}

// Requirements turns one node's configuration (KEY = VALUE, as in its
// node config file) into the interfaces it needs: GRID, ADMIN and CLIENT
// targets in that order, then INTERFACE_TARGET_nnnn by key. Malformed
// values (an MTU that is not a number, a bad IP) are left out of the
// requirement: reporting them is the config validator's job, and the
// interface checks still apply. A node without any target gets an error
// wrapping ErrNoTargets.
func Requirements(node string, cfg KeyValues, running bool) ([]Requirement, error) {
	get := func(key string) string {
		v, _ := cfg.Get(key)
		return strings.TrimSpace(v)
	}
	var out []Requirement
	for _, nw := range nodekey.Networks {
		target := get(nw + "_NETWORK_TARGET")
		if target == "" {
			continue
		}
		out = append(out, networkRequirement(node, nw, target, cfg.Get, running))
	}
	var extra []string
	for _, k := range cfg.Keys() {
		if interfaceTargetKey.MatchString(k) {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		// The value is "IFNAME" or "IFNAME, description".
		name, _ := nodekey.InterfaceTarget(get(k))
		out = append(out, Requirement{Node: node, Key: k, Interface: name, Running: running})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("node %s: %w (set GRID_NETWORK_TARGET to the host interface for its Grid Network)", node, ErrNoTargets)
	}
	return out, nil
}

func networkRequirement(node, nw, target string, getKey nodekey.Getter, running bool) Requirement {
	r := Requirement{Node: node, Key: nw + "_NETWORK_TARGET", Interface: target, Network: nw, Running: running}
	get := func(suffix string) string {
		v, _ := getKey(r.networkKey(suffix))
		return strings.TrimSpace(v)
	}
	if v := get("MTU"); v == "" {
		r.MTU, r.MTUDefaulted = DefaultMTU, true
	} else if mtu, err := strconv.Atoi(v); err == nil && mtu > 0 {
		r.MTU = mtu
	}
	ip := get("IP")
	r.Static = nodekey.Mode(getKey, nw) == nodekey.Static
	if addr, err := netip.ParseAddr(ip); err == nil && addr.Is4() && r.Static {
		r.Address = netip.PrefixFrom(addr, maskBits(get("MASK")))
	}
	return r
}

// maskBits converts a dotted netmask to a prefix length; an absent or
// non-contiguous mask yields a host prefix (/32).
func maskBits(mask string) int {
	m, err := netip.ParseAddr(mask)
	if err != nil || !m.Is4() {
		return 32
	}
	b := m.As4()
	ones, bits := net.IPMask(b[:]).Size()
	if bits == 0 {
		return 32
	}
	return ones
}
