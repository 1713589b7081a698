package node

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/storagegrid/storagegrid/finding"
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
			return bad("%s is not a valid IPv4 netmask", v)
		}
	case "CONFIG":
		if v != "STATIC" && v != "DHCP" && (net == "GRID" || v != "DISABLED") {
			allowed := "STATIC or DHCP"
			if net != "GRID" {
				allowed = "STATIC, DHCP or DISABLED"
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
			return bad("%s is not a valid MAC address", v)
		}
	case "TARGET_TYPE":
		if v != "Interface" {
			return bad("%s is not a valid %s (Interface)", v, k)
		}
	case "TARGET_TYPE_INTERFACE_CLONE_MAC":
		if v != "true" && v != "false" {
			return bad("%s is not a valid %s (true or false)", v, k)
		}
	}
	return nil
}

// checkNetwork checks the keys of one network together: a static network
// needs an address and mask, and its gateway must be inside its subnet.
func checkNetwork(c keyValues, net string) []finding.Finding {
	get := func(f string) (string, bool) { return c.Get(net + "_NETWORK_" + f) }
	mode, ok := get("CONFIG")
	if !ok {
		mode = "STATIC"
	}
	_, hasTarget := get("TARGET")
	if mode != "STATIC" || (!hasTarget && net != "GRID") {
		return nil
	}
	var fs []finding.Finding
	ip, hasIP := get("IP")
	mask, hasMask := get("MASK")
	// A slice, not a map: findings must come out in the same order every run.
	for _, f := range []struct {
		name string
		has  bool
	}{{"IP", hasIP}, {"MASK", hasMask}} {
		if !f.has {
			k := net + "_NETWORK_" + f.name
			fs = append(fs, finding.Errorf(k, "", "%s is required when %s_NETWORK_CONFIG is STATIC", k, net))
		}
	}
	gw, hasGW := get("GATEWAY")
	if !hasIP || !hasMask || !hasGW || !validIPv4(ip) || !validIPv4(gw) {
		return fs
	}
	bits, ok := maskBits(mask)
	if !ok {
		return fs
	}
	prefix := netip.PrefixFrom(netip.MustParseAddr(ip), bits).Masked()
	if !prefix.Contains(netip.MustParseAddr(gw)) {
		k := net + "_NETWORK_GATEWAY"
		fs = append(fs, finding.Errorf(k, gw, "%s is not inside the subnet %s of %s_NETWORK_IP", gw, prefix, net))
	}
	return fs
}

// checkESL checks ADMIN_NETWORK_ESL: a comma-separated list of CIDR subnets.
func checkESL(k, v string) []finding.Finding {
	var fs []finding.Finding
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		p, err := netip.ParsePrefix(s)
		if err != nil || !p.Addr().Is4() {
			fs = append(fs, finding.Errorf(k, v, "%s is not a valid IPv4 subnet in CIDR form (e.g. 10.0.0.0/16)", s))
		}
	}
	return fs
}

var ramPattern = regexp.MustCompile(`^([0-9]+)([kKmMgGtT]?)$`)

// checkRAM checks MAXIMUM_RAM: a positive number with an optional
// k/m/g/t suffix, at least 1 GiB since no node type runs in less.
func checkRAM(k, v string) []finding.Finding {
	m := ramPattern.FindStringSubmatch(v)
	if m == nil {
		return []finding.Finding{finding.Errorf(k, v, "%s is not a valid amount of memory (e.g. 24g, 24576m)", v)}
	}
	n, err := strconv.ParseUint(m[1], 10, 64)
	shift := map[string]uint{"": 0, "k": 10, "m": 20, "g": 30, "t": 40}[strings.ToLower(m[2])]
	if err != nil || n == 0 || n > (1<<62)>>shift || n<<shift < 1<<30 {
		return []finding.Finding{finding.Errorf(k, v, "%s is out of range (at least 1g)", v)}
	}
	return nil
}

// checkPortRemap checks PORT_REMAP and PORT_REMAP_INBOUND: comma-separated
// NETWORK/PROTOCOL/PORT/REMAPPED entries.
func checkPortRemap(k, v string) []finding.Finding {
	var fs []finding.Finding
	for _, e := range strings.Split(v, ",") {
		e = strings.TrimSpace(e)
		if msg := remapProblem(e); msg != "" {
			fs = append(fs, finding.Errorf(k, v, "%s", msg))
		}
	}
	return fs
}

func remapProblem(e string) string {
	parts := strings.Split(e, "/")
	if len(parts) != 4 {
		return e + " is not of the form network/protocol/port/remapped-port (e.g. client/tcp/18082/443)"
	}
	switch parts[0] {
	case "grid", "admin", "client":
	default:
		return parts[0] + " is not a network (grid, admin or client) in " + e
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
