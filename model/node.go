package model

import (
	"sort"
	"strings"
	"time"

	"github.com/storagegrid/storagegrid/nodekey"
	"github.com/storagegrid/storagegrid/wire"
)

// Node types, as NODE_TYPE spells them.
const (
	TypeStorage = "VM_Storage_Node"
	TypeAdmin   = "VM_Admin_Node"
	TypeArchive = "VM_Archive_Node"
	TypeGateway = "VM_API_Gateway"
)

// Running is the run state of a node in service.
const Running = "Running"

// Node is a grid node as the model derives it from a node entity.
type Node struct {
	Name        string `json:"name"`
	Host        string `json:"host"`
	Type        string `json:"type"`
	Site        string `json:"site"`
	RunState    string `json:"run_state"`
	ConfigState string `json:"config_state,omitempty"`
	// MaxRAM is MAXIMUM_RAM in bytes; 0 when not configured.
	MaxRAM     int64             `json:"maximum_ram_bytes,omitempty"`
	Devices    []NodeDevice      `json:"devices"`
	Interfaces []NodeInterface   `json:"interfaces"`
	Config     map[string]string `json:"config"`
	Since      time.Time         `json:"since"`
	// primaryAdmin: an admin node with ADMIN_ROLE = Primary.
	primaryAdmin bool
}

// NodeDevice is one BLOCK_DEVICE_* of a node.
type NodeDevice struct {
	Key  string `json:"key"`
	Path string `json:"path"`
}

// NodeInterface is one host interface a node needs, with the key that
// names it.
type NodeInterface struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

// InService reports whether the node is running.
func (n *Node) InService() bool { return n.RunState == Running }

// nodeFrom derives a node from its entity and its host's (nil when not
// known yet: its site setting). Upper-case fields are config keys;
// run_state and config_state are the agent's observations.
func nodeFrom(e, host *Entity) *Node {
	n := &Node{Name: e.ID, Host: e.Host, Config: map[string]string{}, Since: e.Since}
	for k, v := range e.Fields {
		if isConfigKey(k) {
			n.Config[k] = v
		}
	}
	n.Type = n.Config["NODE_TYPE"]
	n.primaryAdmin = n.Type == TypeAdmin && strings.EqualFold(n.Config["ADMIN_ROLE"], "Primary")
	n.Site = nodeSite(e, host)
	n.RunState = e.Fields[wire.FieldRunState]
	if n.RunState == "" {
		n.RunState = "Unknown"
	}
	n.ConfigState = e.Fields[wire.FieldConfigState]
	if v := n.Config["MAXIMUM_RAM"]; v != "" {
		n.MaxRAM, _ = nodekey.ParseRAM(v) // a bad value is validate's to report
	}
	for _, k := range sortedConfigKeys(n.Config) {
		v := n.Config[k]
		switch {
		case isBlockDeviceKey(k):
			n.Devices = append(n.Devices, NodeDevice{Key: k, Path: v})
		case strings.HasSuffix(k, "_NETWORK_TARGET") && networkEnabled(n.Config, strings.TrimSuffix(k, "_TARGET")):
			n.Interfaces = append(n.Interfaces, NodeInterface{Key: k, Name: v})
		case strings.HasPrefix(k, "INTERFACE_TARGET_"):
			name, _ := nodekey.InterfaceTarget(v)
			n.Interfaces = append(n.Interfaces, NodeInterface{Key: k, Name: name})
		}
	}
	return n
}

func isConfigKey(k string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return k != ""
}

func isBlockDeviceKey(k string) bool { return strings.HasPrefix(k, "BLOCK_DEVICE_") }

// networkEnabled: a network whose CONFIG is DISABLED needs no interface.
func networkEnabled(cfg map[string]string, network string) bool {
	return !strings.EqualFold(cfg[network+"_CONFIG"], "DISABLED")
}

// nodeSite is the node's SITE key when present, else the site its
// host's settings give, else the node name's prefix before the first '-'
// (DC1 for DC1-S3), else the whole name.
func nodeSite(e, host *Entity) string {
	if s := e.Fields["SITE"]; s != "" {
		return s
	}
	if host != nil && host.Fields[wire.FieldSite] != "" {
		return host.Fields[wire.FieldSite]
	}
	site, _, _ := strings.Cut(e.ID, "-")
	return site
}

func sortedConfigKeys(cfg map[string]string) []string {
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
