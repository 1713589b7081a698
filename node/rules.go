package node

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/storagegrid/storagegrid/finding"
)

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

// CheckKeys checks every key's syntax and allowed value, and the keys each
// node type requires. It does not look at the host (devices, interfaces).
func CheckKeys(c keyValues) []finding.Finding {
	var fs []finding.Finding
	nodeType, _ := c.Get("NODE_TYPE")
	for _, k := range c.Keys() {
		v, _ := c.Get(k)
		fs = append(fs, checkKeyValue(nodeType, k, v)...)
	}
	fs = append(fs, checkRequired(c, nodeType)...)
	fs = append(fs, checkRangeDBs(c, nodeType)...)
	for _, net := range []string{"GRID", "ADMIN", "CLIENT"} {
		fs = append(fs, checkNetwork(c, net)...)
	}
	return fs
}

func checkKeyValue(nodeType, k, v string) []finding.Finding {
	bad := func(format string, a ...any) []finding.Finding {
		return []finding.Finding{finding.Errorf(k, v, format, a...)}
	}
	switch {
	case k == "NODE_TYPE":
		if !knownType(v) {
			return bad("%s is not a valid node type (one of %s, %s, %s, %s)", v, AdminNode, StorageNode, ArchiveNode, APIGateway)
		}
	case k == "ADMIN_ROLE":
		if nodeType != AdminNode {
			return bad("ADMIN_ROLE is only valid for %s nodes", AdminNode)
		}
		if v != "Primary" && v != "Non-Primary" {
			return bad("%s is not a valid admin role (Primary or Non-Primary)", v)
		}
	case k == "ADMIN_IP":
		if !validIPv4(v) {
			return bad("%s is not a valid IPv4 address", v)
		}
	case k == "BLOCK_DEVICE_AUDIT_LOGS" || k == "BLOCK_DEVICE_TABLES":
		if nodeType != AdminNode {
			return bad("%s is only valid for %s nodes", k, AdminNode)
		}
		return checkDevicePath(k, v)
	case k == "BLOCK_DEVICE_VAR_LOCAL":
		return checkDevicePath(k, v)
	case rangedbKey.MatchString(k):
		if nodeType != StorageNode {
			return bad("%s is only valid for %s nodes", k, StorageNode)
		}
		return checkDevicePath(k, v)
	case networkKey.MatchString(k):
		return checkNetworkValue(k, v)
	case k == "ADMIN_NETWORK_ESL":
		return checkESL(k, v)
	case k == "MAXIMUM_RAM":
		return checkRAM(k, v)
	case k == "PORT_REMAP" || k == "PORT_REMAP_INBOUND":
		return checkPortRemap(k, v)
	case interfaceTargetKey.MatchString(k):
		if name, _, _ := strings.Cut(v, ","); strings.TrimSpace(name) == "" {
			return bad("%s needs an interface name", k)
		}
	default:
		return []finding.Finding{finding.Warningf(k, v, "%s is not a known key; it is kept but ignored", k)}
	}
	return nil
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
		return []finding.Finding{finding.Errorf(k, v, "%s is not an absolute device path", v)}
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

// checkRangeDBs enforces the RANGEDB numbering: storage nodes need _00 (or
// _000), numbers run without gaps up to 15, and one file uses one form.
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
		fs = append(fs, finding.Errorf("BLOCK_DEVICE_RANGEDB_nn", "", "RANGEDB keys mix two-digit and three-digit numbering; use one form"))
	}
	sort.Ints(nums)
	if len(nums) == 0 || nums[0] != 0 {
		fs = append(fs, finding.Errorf("BLOCK_DEVICE_RANGEDB_00", "", "storage nodes need BLOCK_DEVICE_RANGEDB_00"))
	}
	for i, n := range nums {
		key := fmt.Sprintf("BLOCK_DEVICE_RANGEDB_%02d", n)
		switch {
		case n > 15:
			fs = append(fs, finding.Errorf(key, "", "RANGEDB numbers run from 00 to 15"))
		case i > 0 && n == nums[i-1]:
			fs = append(fs, finding.Errorf(key, "", "RANGEDB number given in both two-digit and three-digit form"))
		case i > 0 && n > nums[i-1]+1:
			fs = append(fs, finding.Errorf(key, "", "RANGEDB numbering has a gap before %02d", n))
		}
	}
	return fs
}
