package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/storagegrid/storagegrid/wire"
)

// lldpd asks lldpd, through lldpcli, for the neighbours it knows. Where
// lldpcli is missing or lldpd does not answer in time there is nothing
// to add: the frames the collector receives itself are the source it
// relies on, lldpd's table one it takes when it is there.
func (c *lldpCollector) lldpd(ctx context.Context) []Item {
	argv := c.lldpcli
	if len(argv) == 0 {
		p, err := exec.LookPath("lldpcli")
		if err != nil {
			return nil
		}
		argv = []string{p}
	}
	ctx, cancel := context.WithTimeout(ctx, lldpcliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], append(argv[1:len(argv):len(argv)], "-f", "json", "show", "neighbors", "details")...)
	cmd.WaitDelay = lldpcliTimeout
	out, err := cmd.Output()
	if err != nil {
		return nil
	}
	items, err := parseLLDPCLI(out)
	if err != nil {
		return nil
	}
	return items
}

// lldpcliID is a chassis or port ID as lldpcli shows it.
type lldpcliID struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// lldpcli's names of ID subtypes, as the wire names them. lldpd shows
// the subtypes it does not decode as "unhandled"; those get none.
var lldpcliSubtypes = map[string]string{
	"mac": "mac", "ip": "network-address", "ifname": "interface-name",
	"ifalias": "interface-alias", "local": "local",
}

// parseLLDPCLI reads `lldpcli -f json show neighbors details` (lldpd
// 1.0.x) into neighbor items of source lldpd. lldpcli's JSON writer
// renders a list of one element as that element, so every list here
// (interfaces, management addresses, VLANs) may be an array or not;
// the chassis is an object keyed by the system name, or the bare
// chassis when it has none.
func parseLLDPCLI(data []byte) ([]Item, error) {
	var top struct {
		LLDP json.RawMessage `json:"lldp"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("lldpcli output: %w", err)
	}
	var out []Item
	for _, l := range jsonList(top.LLDP) {
		var x struct {
			Interface json.RawMessage `json:"interface"`
		}
		if err := json.Unmarshal(l, &x); err != nil {
			return nil, fmt.Errorf("lldpcli output: lldp: %w", err)
		}
		for _, ifs := range jsonList(x.Interface) {
			var byLink map[string]json.RawMessage
			if err := json.Unmarshal(ifs, &byLink); err != nil {
				return nil, fmt.Errorf("lldpcli output: interface: %w", err)
			}
			for link, raw := range byLink {
				it, ok, err := lldpcliNeighbor(link, raw)
				if err != nil {
					return nil, fmt.Errorf("lldpcli output: interface %s: %w", link, err)
				}
				if ok {
					out = append(out, it)
				}
			}
		}
	}
	return out, nil
}

// lldpcliNeighbor reads one neighbour. One heard by another protocol
// (CDP, EDP, ...) is no LLDP neighbour, and one whose ID lldpd could not
// show faithfully (it replaces bytes that are not UTF-8) is left out:
// its ID would name nothing the frames name.
func lldpcliNeighbor(link string, raw json.RawMessage) (Item, bool, error) {
	var n struct {
		Via     string          `json:"via"`
		Chassis json.RawMessage `json:"chassis"`
		Port    struct {
			ID    lldpcliID `json:"id"`
			Descr string    `json:"descr"`
		} `json:"port"`
		VLAN json.RawMessage `json:"vlan"`
	}
	if err := json.Unmarshal(raw, &n); err != nil {
		return Item{}, false, err
	}
	if n.Via != "" && n.Via != "LLDP" {
		return Item{}, false, nil
	}
	if len(n.Chassis) == 0 {
		return Item{}, false, nil
	}
	var byName map[string]json.RawMessage
	if err := json.Unmarshal(n.Chassis, &byName); err != nil {
		return Item{}, false, err
	}
	body, sysName := n.Chassis, ""
	if id, ok := byName["id"]; !ok || !isIDObject(id) {
		for name, inner := range byName {
			sysName, body = name, inner
		}
	}
	var ch struct {
		ID     lldpcliID       `json:"id"`
		MgmtIP json.RawMessage `json:"mgmt-ip"`
	}
	if err := json.Unmarshal(body, &ch); err != nil {
		return Item{}, false, err
	}
	chassis, ok1 := lldpcliIDValue(ch.ID)
	port, ok2 := lldpcliIDValue(n.Port.ID)
	if !ok1 || !ok2 {
		return Item{}, false, nil
	}
	id := wire.NeighborID(link, chassis, port)
	if len(id) > lldpMaxID {
		return Item{}, false, nil
	}
	f := map[string]string{wire.FieldLink: link, wire.FieldChassisID: chassis, wire.FieldPortID: port, wire.FieldSource: "lldpd"}
	set := func(k, v string) {
		if v != "" {
			f[k] = v
		}
	}
	set(wire.FieldChassisIDSubtype, lldpcliSubtypes[ch.ID.Type])
	set(wire.FieldPortIDSubtype, lldpcliSubtypes[n.Port.ID.Type])
	set(wire.FieldSysName, lldpText([]byte(sysName)))
	set(wire.FieldPortDescr, lldpText([]byte(n.Port.Descr)))
	var mgmt []string
	for _, m := range jsonList(ch.MgmtIP) {
		var s string
		if json.Unmarshal(m, &s) == nil {
			if a, err := netip.ParseAddr(s); err == nil {
				mgmt = append(mgmt, a.String())
			}
		}
	}
	set(wire.FieldMgmtAddr, strings.Join(mgmt, " "))
	var vlans []int
	for _, v := range jsonList(n.VLAN) {
		var e struct {
			ID    string          `json:"vlan-id"`
			PVID  json.RawMessage `json:"pvid"`
			Value *string         `json:"value"`
		}
		if json.Unmarshal(v, &e) != nil {
			continue
		}
		vid, err := strconv.Atoi(e.ID)
		if err != nil || !validVID(vid) {
			continue
		}
		pvid := jsonTrue(e.PVID)
		if pvid {
			f[wire.FieldPVID] = strconv.Itoa(vid)
		}
		// lldpcli lists the port VLAN ID as a VLAN of its own, without
		// a name, when no VLAN Name TLV carried it: it is the pvid only.
		if e.Value != nil || !pvid {
			vlans = append(vlans, vid)
		}
	}
	set(wire.FieldVLANs, formatVLANs(vlans))
	return Item{Kind: wire.KindNeighbor, ID: id, Fields: f}, true, nil
}

// lldpcliIDValue is the ID as the frames' decoder writes it, or false
// when lldpd's rendering of it is lossy or empty.
func lldpcliIDValue(id lldpcliID) (string, bool) {
	v := id.Value
	switch id.Type {
	case "mac":
		v = strings.ToLower(v)
	case "ip":
		if a, err := netip.ParseAddr(v); err == nil {
			v = a.String()
		}
	}
	if !printable([]byte(v)) || strings.ContainsRune(v, utf8.RuneError) {
		return "", false
	}
	return v, true
}

// jsonList reads a value that is a list, or a list's only element.
func jsonList(raw json.RawMessage) []json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	if raw[0] == '[' {
		var l []json.RawMessage
		if json.Unmarshal(raw, &l) == nil {
			return l
		}
		return nil
	}
	return []json.RawMessage{raw}
}

// isIDObject tells a chassis ID ({"type": ..., "value": ...}) from a
// chassis keyed by a system name that happens to be "id".
func isIDObject(raw json.RawMessage) bool {
	var id map[string]json.RawMessage
	if json.Unmarshal(raw, &id) != nil {
		return false
	}
	_, t := id["type"]
	_, v := id["value"]
	return t && v
}

// jsonTrue reads a flag lldpcli writes as true/false, or in some
// versions as "yes"/"no".
func jsonTrue(raw json.RawMessage) bool {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b
	}
	var s string
	return json.Unmarshal(raw, &s) == nil && (s == "yes" || s == "true")
}
