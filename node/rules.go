package node

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/storagegrid/storagegrid/finding"
	"github.com/storagegrid/storagegrid/nodekey"
)

// The rules below follow NetApp's node configuration key table
// (docs/node-config-keys.md names the source of each); the messages the
// docs or their screenshots show are used word for word.

// keyValues is what the rules read: a node config file.
type keyValues interface {
	Keys() []string
	Get(key string) (string, bool)
}

// The node types and what each one needs.
const (
	AdminNode   = "VM_Admin_Node"
	StorageNode = "VM_Storage_Node"
	ArchiveNode = "VM_Archive_Node"
	APIGateway  = "VM_API_Gateway"
)

var networkKey = regexp.MustCompile(`^(GRID|ADMIN|CLIENT)_NETWORK_(TARGET|IP|MASK|GATEWAY|CONFIG|MTU|MAC|TARGET_TYPE|TARGET_TYPE_INTERFACE_CLONE_MAC)$`)
var rangedbKey = regexp.MustCompile(`^BLOCK_DEVICE_RANGEDB_(\d{2,3})$`)
var interfaceTargetKey = regexp.MustCompile(`^INTERFACE_TARGET_\d{4}$`)

// seeSample ends the messages about NODE_TYPE and ADMIN_ROLE, as the
// StorageGRID host service words them.
const seeSample = ".  See *.conf.sample"

// nodeKind is what the per-key rules need to know about the whole file.
type nodeKind struct {
	typ     string // NODE_TYPE as written
	primary bool   // a primary Admin Node
}

func kindOf(c keyValues) nodeKind {
	typ, _ := c.Get("NODE_TYPE")
	role, _ := c.Get("ADMIN_ROLE")
	return nodeKind{typ: typ, primary: typ == AdminNode && strings.EqualFold(role, "Primary")}
}

// CheckKeys checks every key's syntax and allowed value, and the keys each
// node type requires. It does not look at the host (devices, interfaces).
func CheckKeys(c keyValues) []finding.Finding {
	var fs []finding.Finding
	kind := kindOf(c)
	for _, k := range c.Keys() {
		v, _ := c.Get(k)
		fs = append(fs, checkKeyValue(kind, k, v)...)
	}
	fs = append(fs, checkRequired(c, kind.typ)...)
	fs = append(fs, checkRangeDBs(c, kind.typ)...)
	for _, net := range nodekey.Networks {
		fs = append(fs, checkNetwork(c, net)...)
	}
	return append(fs, checkPasswords(c, kind)...)
}

const unknownKey = "is not a known key; it is kept but ignored"

func checkKeyValue(kind nodeKind, k, v string) []finding.Finding {
	bad := func(format string, a ...any) []finding.Finding {
		f := finding.Errorf(k, v, format, a...)
		if nodekey.Secret(k) {
			f.Value = ""
		}
		return []finding.Finding{f}
	}
	onlyFor := func(typ string) []finding.Finding {
		if kind.typ != "" && kind.typ != typ {
			return bad("%s is only valid for %s nodes", k, typ)
		}
		return nil
	}
	if v == "" && k != "PORT_REMAP" && k != "PORT_REMAP_INBOUND" && KnownKey(k) {
		return bad("%s has no value; give it one or remove the line", k)
	}
	switch {
	case k == "NODE_TYPE":
		if !knownType(v) {
			return bad("%s is not a valid node type%s", v, seeSample)
		}
	case k == "ADMIN_ROLE":
		if !strings.EqualFold(v, "Primary") && !strings.EqualFold(v, "Non-Primary") {
			return bad("%s is not a valid admin role%s", v, seeSample)
		}
		return onlyFor(AdminNode)
	case k == "ADMIN_IP":
		if !validIPv4(v) {
			return bad("%s is not a valid IPv4 address", v)
		}
		if kind.primary {
			return []finding.Finding{finding.Warningf(k, v, "ADMIN_IP is ignored on the primary Admin Node")}
		}
	case k == "STORAGE_TYPE":
		switch strings.ToLower(v) {
		case "combined", "data", "metadata":
		default:
			return bad("%s is not a valid storage type (combined, data or metadata)", v)
		}
		return onlyFor(StorageNode)
	case k == "BLOCK_DEVICE_AUDIT_LOGS" || k == "BLOCK_DEVICE_TABLES":
		if fs := onlyFor(AdminNode); fs != nil {
			return fs
		}
		return checkDevicePath(k, v)
	case k == "BLOCK_DEVICE_VAR_LOCAL":
		return checkDevicePath(k, v)
	case rangedbKey.MatchString(k):
		if fs := onlyFor(StorageNode); fs != nil {
			return fs
		}
		return checkDevicePath(k, v)
	case networkKey.MatchString(k):
		return checkNetworkValue(k, v)
	case k == "ADMIN_NETWORK_ESL":
		return checkESL(k, v)
	case k == "MAXIMUM_RAM":
		if _, err := nodekey.ParseRAM(v); err != nil {
			return bad("%v", err)
		}
	case k == "PORT_REMAP" || k == "PORT_REMAP_INBOUND":
		return checkPortRemap(k, v)
	case interfaceTargetKey.MatchString(k):
		name, _ := nodekey.InterfaceTarget(v)
		if err := validInterfaceName(name); err != nil {
			return bad("%v", err)
		}
	case k == "CUSTOM_TEMPORARY_PASSWORD_HASH":
		if !sha512Crypt.MatchString(v) {
			return bad("%s is not a crypt() SHA-512 password hash ($6$salt$hash, as 'openssl passwd -6' makes)", k)
		}
	case k == "CUSTOM_TEMPORARY_PASSWORD":
		if n := len([]rune(v)); n < 8 || n > 32 {
			return bad("%s must be 8 to 32 characters long (it has %d)", k, n)
		}
	case k == "TEMPORARY_PASSWORD_TYPE":
		if _, ok := passwordTypes[strings.ToLower(v)]; !ok {
			return bad("%s is not a valid %s (Use node name, Disable password or Use custom password)", v, k)
		}
	default:
		// The value is not shown: an unknown key may be a misspelt
		// password key.
		return []finding.Finding{finding.Warningf(k, "", "%s %s", k, unknownKey)}
	}
	return nil
}

// KnownKey reports whether the key table documents key (a RANGEDB or
// INTERFACE_TARGET key of any number counts), whatever its value.
func KnownKey(key string) bool {
	switch key {
	case "NODE_TYPE", "ADMIN_ROLE", "ADMIN_IP", "STORAGE_TYPE", "BLOCK_DEVICE_AUDIT_LOGS",
		"BLOCK_DEVICE_TABLES", "BLOCK_DEVICE_VAR_LOCAL", "ADMIN_NETWORK_ESL", "MAXIMUM_RAM",
		"PORT_REMAP", "PORT_REMAP_INBOUND", "CUSTOM_TEMPORARY_PASSWORD_HASH",
		"CUSTOM_TEMPORARY_PASSWORD", "TEMPORARY_PASSWORD_TYPE":
		return true
	}
	return rangedbKey.MatchString(key) || networkKey.MatchString(key) || interfaceTargetKey.MatchString(key)
}

// sha512Crypt is crypt(3)'s SHA-512 form: $6$, optional rounds=N$, a salt
// of up to 16 characters, $, 86 characters of hash.
var sha512Crypt = regexp.MustCompile(`^\$6\$(rounds=[0-9]+\$)?[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{86}$`)

// passwordTypes are TEMPORARY_PASSWORD_TYPE's values (any case, as the
// docs write both "Use custom password" and "Use Custom Password"), and
// whether each uses CUSTOM_TEMPORARY_PASSWORD.
var passwordTypes = map[string]bool{"use node name": false, "disable password": false, "use custom password": true}

// checkPasswords applies the temporary installation password rules: a
// password (or its hash) is set on the primary Admin Node only ("validation
// of the node configuration file will fail" elsewhere), and a custom
// password type needs a password.
func checkPasswords(c keyValues, kind nodeKind) []finding.Finding {
	var fs []finding.Finding
	for _, k := range []string{"CUSTOM_TEMPORARY_PASSWORD_HASH", "CUSTOM_TEMPORARY_PASSWORD"} {
		if _, ok := c.Get(k); ok && !kind.primary {
			fs = append(fs, finding.Errorf(k, "", "%s may be set on the primary Admin Node only", k))
		}
	}
	typ, ok := c.Get("TEMPORARY_PASSWORD_TYPE")
	_, hasPassword := c.Get("CUSTOM_TEMPORARY_PASSWORD")
	_, hasHash := c.Get("CUSTOM_TEMPORARY_PASSWORD_HASH")
	if custom, known := passwordTypes[strings.ToLower(typ)]; ok && known && custom && !hasPassword && !hasHash {
		fs = append(fs, finding.Errorf("TEMPORARY_PASSWORD_TYPE", typ,
			"%s needs CUSTOM_TEMPORARY_PASSWORD or CUSTOM_TEMPORARY_PASSWORD_HASH", typ))
	}
	return fs
}

func knownType(t string) bool {
	switch t {
	case AdminNode, StorageNode, ArchiveNode, APIGateway:
		return true
	}
	return false
}

func checkDevicePath(k, v string) []finding.Finding {
	if !strings.HasPrefix(v, "/") {
		return []finding.Finding{finding.Errorf(k, v, "%s is not a valid block device (not an absolute path)", v)}
	}
	return nil
}

func checkRequired(c keyValues, nodeType string) []finding.Finding {
	need := []string{"NODE_TYPE", "BLOCK_DEVICE_VAR_LOCAL", "GRID_NETWORK_TARGET"}
	if nodeType == AdminNode {
		need = append(need, "ADMIN_ROLE", "BLOCK_DEVICE_AUDIT_LOGS", "BLOCK_DEVICE_TABLES")
	}
	var fs []finding.Finding
	for _, k := range need {
		if _, ok := c.Get(k); !ok {
			fs = append(fs, finding.Errorf(k, "", "%s is required but missing", k))
		}
	}
	return fs
}

// checkRangeDBs enforces the RANGEDB numbering: storage nodes need _000
// (or _00, the two-digit form kept for upgraded nodes), numbers run
// without gaps up to 15, and one file uses one form.
func checkRangeDBs(c keyValues, nodeType string) []finding.Finding {
	var nums []int
	widths := map[int]bool{}
	for _, k := range c.Keys() {
		m := rangedbKey.FindStringSubmatch(k)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		nums = append(nums, n)
		widths[len(m[1])] = true
	}
	if nodeType != StorageNode {
		return nil
	}
	var fs []finding.Finding
	if len(widths) > 1 {
		fs = append(fs, finding.Errorf("BLOCK_DEVICE_RANGEDB_nnn", "", "RANGEDB keys mix two-digit and three-digit numbering; use one form"))
	}
	sort.Ints(nums)
	if len(nums) == 0 || nums[0] != 0 {
		fs = append(fs, finding.Errorf("BLOCK_DEVICE_RANGEDB_000", "", "storage nodes need BLOCK_DEVICE_RANGEDB_000 (or BLOCK_DEVICE_RANGEDB_00)"))
	}
	for i, n := range nums {
		key := fmt.Sprintf("BLOCK_DEVICE_RANGEDB_%02d", n)
		switch {
		case n > 15:
			fs = append(fs, finding.Errorf(key, "", "RANGEDB numbers run from 000 to 015"))
		case i > 0 && n == nums[i-1]:
			fs = append(fs, finding.Errorf(key, "", "RANGEDB number given in both two-digit and three-digit form"))
		case i > 0 && n > nums[i-1]+1:
			fs = append(fs, finding.Errorf(key, "", "RANGEDB numbering has a gap before %02d: don't leave gaps", n))
		}
	}
	return fs
}
