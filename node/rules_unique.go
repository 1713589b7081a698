package node

import (
	"fmt"
	"sort"
	"strings"

	"github.com/storagegrid/storagegrid/finding"
)

// Named pairs a node's name with its config, for checks across nodes.
type Named struct {
	Name   string
	Config keyValues
}

// DeviceID resolves a device path to an identity (major:minor for block
// devices) so that two spellings of one device are caught. ok is false
// when the path cannot be resolved; that is reported elsewhere.
type DeviceID func(path string) (id string, ok bool)

// use is one occurrence of a value that must be unique on a host.
type use struct{ node, key, value string }

// CheckUnique reports values that must be unique on a host but occur
// twice: IP addresses, MAC addresses and block devices, both by path and,
// when id is not nil, by the device the path resolves to.
func CheckUnique(nodes []Named, id DeviceID) []finding.Finding {
	groups := map[string][]use{}
	for _, n := range nodes {
		for _, k := range n.Config.Keys() {
			v, _ := n.Config.Get(k)
			for _, class := range uniqueClasses(k, v, id) {
				groups[class] = append(groups[class], use{n.Name, k, v})
			}
		}
	}
	classes := make([]string, 0, len(groups))
	for c := range groups {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	var fs []finding.Finding
	for _, c := range classes {
		fs = append(fs, duplicates(c, groups[c])...)
	}
	return fs
}

// uniqueClasses names the uniqueness classes a key's value falls in.
func uniqueClasses(k, v string, id DeviceID) []string {
	switch {
	case strings.HasSuffix(k, "_NETWORK_IP"):
		return []string{"ip " + v}
	case strings.HasSuffix(k, "_NETWORK_MAC"):
		return []string{"mac " + strings.ToLower(v)}
	case strings.HasPrefix(k, "BLOCK_DEVICE_"):
		out := []string{"path " + v}
		if id != nil {
			if dev, ok := id(v); ok {
				out = append(out, "dev "+dev)
			}
		}
		return out
	}
	return nil
}

func duplicates(class string, uses []use) []finding.Finding {
	var fs []finding.Finding
	for i := 1; i < len(uses); i++ {
		a, b := uses[0], uses[i]
		if class[:4] == "dev " && a.value == b.value {
			continue // the same path is already reported by its "path" class
		}
		f := finding.Errorf(b.key, b.value, "%s", sameMessage(class, a, b))
		f.Node = b.node
		fs = append(fs, f)
	}
	return fs
}

func sameMessage(class string, a, b use) string {
	if a.key == b.key && a.node != b.node && class[:4] != "dev " {
		return fmt.Sprintf("%s and %s have the same %s", a.node, b.node, a.key)
	}
	both := fmt.Sprintf("%s %s and %s %s", a.node, a.key, b.node, b.key)
	if class[:4] == "dev " {
		return fmt.Sprintf("%s use the same device (%s and %s are both %s)", both, a.value, b.value, class[4:])
	}
	return both + " have the same value"
}
