package node

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/storagegrid/storagegrid/finding"
	"github.com/storagegrid/storagegrid/nodekey"
)

var macPattern = regexp.MustCompile(`^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$`)

// checkNetworkValue checks the syntax of one {GRID,ADMIN,CLIENT}_NETWORK_* value.
func checkNetworkValue(k, v string) []finding.Finding {
	bad := func(format string, a ...any) []finding.Finding {
		return []finding.Finding{finding.Errorf(k, v, format, a...)}
	}
	net, field, _ := strings.Cut(k, "_NETWORK_")
	switch field {
	case "TARGET":
		if err := validInterfaceName(v); err != nil {
			return bad("%v", err)
		}
	case "IP", "GATEWAY":
		if !validIPv4(v) {
			return bad("%s is not a valid IPv4 address", v)
		}
	case "MASK":
		if _, ok := maskBits(v); !ok {
			return bad("%s is not a valid IPv4 subnet mask", v)
		}
	case "CONFIG":
		switch strings.ToUpper(v) {
		case nodekey.Static, nodekey.DHCP:
		case nodekey.Disabled:
			if net == "GRID" {
				return bad("%s is not a valid %s (STATIC or DHCP)", v, k)
			}
		default:
			allowed := "STATIC or DHCP"
			if net != "GRID" {
				allowed = "DHCP, STATIC or DISABLED"
			}
			return bad("%s is not a valid %s (%s)", v, k, allowed)
		}
	case "MTU":
		n, err := strconv.Atoi(v)
		if err != nil || n < 1280 || n > 9216 {
			return bad("%s is not a valid MTU (1280 to 9216)", v)
		}
	case "MAC":
		if !macPattern.MatchString(v) {
			return bad("%s is not a valid MAC address (6 pairs of hexadecimal digits separated by colons)", v)
		}
	case "TARGET_TYPE":
		if !strings.EqualFold(v, "Interface") {
			return bad("%s is not a valid %s (Interface is the only supported value)", v, k)
		}
	case "TARGET_TYPE_INTERFACE_CLONE_MAC":
		if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
			return bad("%s is not a valid %s (True or False)", v, k)
		}
	}
	return nil
}

// checkNetwork checks the keys of one network together, by its mode
// (nodekey.Mode: the Grid Network is STATIC, the others DISABLED when
// *_NETWORK_CONFIG is absent). A STATIC network needs an address and
// mask, the Grid Network a gateway, and the gateway must be on the
// subnet; an enabled Admin or Client Network needs its target; address
// keys of a network that is not STATIC are ignored, which is worth a
// warning ("don't specify it for other values").
func checkNetwork(c keyValues, net string) []finding.Finding {
	key := func(f string) string { return net + "_NETWORK_" + f }
	get := func(f string) (string, bool) { return c.Get(key(f)) }
	mode := nodekey.Mode(c.Get, net)
	var fs []finding.Finding
	if _, hasTarget := get("TARGET"); !hasTarget && net != "GRID" && (mode == nodekey.Static || mode == nodekey.DHCP) {
		fs = append(fs, finding.Errorf(key("TARGET"), "", "%s is required when %s is %s", key("TARGET"), key("CONFIG"), mode))
	}
	if net == "ADMIN" {
		if _, esl := get("ESL"); esl {
			if _, gw := get("GATEWAY"); !gw {
				fs = append(fs, finding.Errorf(key("GATEWAY"), "", "ADMIN_NETWORK_GATEWAY is required when ADMIN_NETWORK_ESL is specified"))
			}
		}
	}
	if mtu, ok := get("MTU"); ok && mode == nodekey.DHCP {
		fs = append(fs, finding.Warningf(key("MTU"), mtu, "%s is not used when %s is DHCP", key("MTU"), key("CONFIG")))
	}
	if mode != nodekey.Static {
		for _, f := range []string{"IP", "MASK", "GATEWAY"} {
			if v, ok := get(f); ok {
				fs = append(fs, finding.Warningf(key(f), v, "%s is ignored: %s is %s%s", key(f), key("CONFIG"), mode, defaulted(c, net)))
			}
		}
		return fs
	}
	ip, hasIP := get("IP")
	mask, hasMask := get("MASK")
	gw, hasGW := get("GATEWAY")
	if !hasIP {
		fs = append(fs, finding.Errorf(key("IP"), "", "%s is required when %s is STATIC", key("IP"), key("CONFIG")))
	}
	if hasIP && !hasMask {
		fs = append(fs, finding.Errorf(key("MASK"), "", "%s is required when %s is specified and %s is STATIC", key("MASK"), key("IP"), key("CONFIG")))
	}
	if net == "GRID" && !hasGW {
		fs = append(fs, finding.Errorf(key("GATEWAY"), "", "GRID_NETWORK_GATEWAY is required (a Grid Network without a gateway uses X.Y.Z.1 or this node's GRID_NETWORK_IP)"))
	}
	if !hasIP || !hasMask || !hasGW || !validIPv4(ip) || !validIPv4(gw) {
		return fs
	}
	bits, ok := maskBits(mask)
	if !ok {
		return fs
	}
	prefix := netip.PrefixFrom(netip.MustParseAddr(ip), bits).Masked()
	if !prefix.Contains(netip.MustParseAddr(gw)) {
		fs = append(fs, finding.Errorf(key("GATEWAY"), gw, "%s is not on the local subnet", gw))
	}
	return fs
}

// defaulted explains a mode that comes from the default, not the file.
func defaulted(c keyValues, net string) string {
	if _, ok := c.Get(net + "_NETWORK_CONFIG"); ok {
		return ""
	}
	return " (the default when " + net + "_NETWORK_CONFIG is absent)"
}

// checkESL checks ADMIN_NETWORK_ESL: a comma-separated list of IPv4
// subnets in CIDR notation.
func checkESL(k, v string) []finding.Finding {
	for _, s := range strings.Split(v, ",") {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil || !p.Addr().Is4() {
			return []finding.Finding{finding.Errorf(k, v, "Could not parse subnet list")}
		}
	}
	return nil
}

// remapForms are the documented forms of the two remap keys: PORT_REMAP
// names the port the node uses, then the port it becomes; the inbound
// key the other way round.
var remapForms = map[string]string{
	"PORT_REMAP":         "network type/protocol/default port used by grid node/new port (e.g. client/tcp/18082/443)",
	"PORT_REMAP_INBOUND": "network type/protocol/remapped port/default port used by grid node (e.g. grid/tcp/3022/22)",
}

// checkPortRemap checks PORT_REMAP and PORT_REMAP_INBOUND: a
// comma-separated list of remaps in the key's own form, no port remapped
// twice. An empty value removes every remap (the documented procedure).
func checkPortRemap(k, v string) []finding.Finding {
	var fs []finding.Finding
	if strings.TrimSpace(v) == "" {
		return nil
	}
	seen := map[string]string{}
	for _, e := range strings.Split(v, ",") {
		e = strings.TrimSpace(e)
		msg := remapProblem(k, e)
		if msg == "" {
			// The port a remap is for: the node's own port for
			// PORT_REMAP, the port that arrives for the inbound key.
			parts := strings.Split(e, "/")
			from := strings.Join(parts[:3], "/")
			if prev, dup := seen[from]; dup {
				msg = fmt.Sprintf("%s remaps %s again (after %s)", e, from, prev)
			}
			seen[from] = e
		}
		if msg != "" {
			fs = append(fs, finding.Errorf(k, v, "%s", msg))
		}
	}
	return fs
}

func remapProblem(k, e string) string {
	parts := strings.Split(e, "/")
	if len(parts) != 4 {
		return fmt.Sprintf("%q is not of the form %s", e, remapForms[k])
	}
	switch parts[0] {
	case "grid", "admin", "client":
	default:
		return parts[0] + " is not a network type (grid, admin or client) in " + e
	}
	if parts[1] != "tcp" && parts[1] != "udp" {
		return parts[1] + " is not a protocol (tcp or udp) in " + e
	}
	for _, p := range parts[2:] {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return p + " is not a port number (1 to 65535) in " + e
		}
	}
	return ""
}

func validIPv4(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4()
}

// maskBits turns a dotted netmask into a prefix length; the mask's ones
// must be contiguous.
func maskBits(s string) (int, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return 0, false
	}
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	bits := 0
	for v&0x80000000 != 0 {
		bits++
		v <<= 1
	}
	return bits, v == 0 && bits > 0
}

// validInterfaceName applies the kernel's rules (IFNAMSIZ 16 with the NUL,
// no '/', no whitespace, not "." or "..").
func validInterfaceName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("%q is not a valid interface name", name)
	case len(name) > 15:
		return fmt.Errorf("%s is not a valid interface name (longer than 15 characters)", name)
	case strings.ContainsAny(name, "/: \t\n"):
		return fmt.Errorf("%s is not a valid interface name (contains '/', ':' or white space)", name)
	}
	return nil
}
