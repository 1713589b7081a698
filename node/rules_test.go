package node

import (
	"sort"
	"strings"
	"testing"

	"github.com/storagegrid/storagegrid/finding"
)

// kv is an ordered key/value list standing in for a parsed config file.
type kv [][2]string

func (c kv) Keys() []string {
	out := make([]string, len(c))
	for i, p := range c {
		out[i] = p[0]
	}
	return out
}

func (c kv) Get(k string) (string, bool) {
	for _, p := range c {
		if p[0] == k {
			return p[1], true
		}
	}
	return "", false
}

func storage(extra ...[2]string) kv {
	base := kv{
		{"NODE_TYPE", StorageNode},
		{"BLOCK_DEVICE_VAR_LOCAL", "/dev/mapper/sgws-dc1-s3-var-local"},
		{"BLOCK_DEVICE_RANGEDB_00", "/dev/mapper/sgws-dc1-s3-rangedb-0"},
		{"BLOCK_DEVICE_RANGEDB_01", "/dev/mapper/sgws-dc1-s3-rangedb-1"},
		{"GRID_NETWORK_TARGET", "bond0.1001"},
		{"GRID_NETWORK_IP", "10.1.0.13"},
		{"GRID_NETWORK_MASK", "255.255.255.0"},
		{"GRID_NETWORK_GATEWAY", "10.1.0.1"},
		{"GRID_NETWORK_MTU", "9000"},
	}
	return append(base, extra...)
}

// with appends KEY, VALUE pairs.
func (c kv) with(kvs ...string) kv {
	out := append(kv{}, c...)
	for i := 0; i+1 < len(kvs); i += 2 {
		out = append(out, [2]string{kvs[i], kvs[i+1]})
	}
	return out
}

func set(c kv, k, v string) kv {
	out := kv{}
	for _, p := range c {
		if p[0] != k {
			out = append(out, p)
		}
	}
	if v != "" {
		out = append(out, [2]string{k, v})
	}
	return out
}

func messages(fs []finding.Finding, sev finding.Severity) []string {
	var out []string
	for _, f := range fs {
		if f.Severity == sev {
			out = append(out, f.Key+": "+f.Message)
		}
	}
	sort.Strings(out)
	return out
}

func TestValidStorageConfigPasses(t *testing.T) {
	c := storage([2]string{"CLIENT_NETWORK_CONFIG", "DISABLED"},
		[2]string{"ADMIN_NETWORK_TARGET", "bond0.1002"},
		[2]string{"ADMIN_NETWORK_CONFIG", "STATIC"},
		[2]string{"ADMIN_NETWORK_IP", "10.3.0.13"},
		[2]string{"ADMIN_NETWORK_MASK", "255.255.0.0"},
		[2]string{"ADMIN_NETWORK_GATEWAY", "10.3.0.1"},
		[2]string{"ADMIN_NETWORK_ESL", "10.0.0.0/16, 172.16.0.0/12"},
		[2]string{"MAXIMUM_RAM", "24g"},
		[2]string{"PORT_REMAP", "client/tcp/18082/443"},
		[2]string{"GRID_NETWORK_MAC", "b2:9c:d6:00:00:13"},
		[2]string{"INTERFACE_TARGET_0001", "ens256, Trunk"})
	if fs := CheckKeys(c); len(fs) != 0 {
		t.Fatalf("findings on a valid config: %+v", fs)
	}
}

func TestEachBadValueIsAnError(t *testing.T) {
	cases := []struct{ key, value, want string }{
		{"NODE_TYPE", "VM_Toaster", "is not a valid node type"},
		{"GRID_NETWORK_IP", "10.1.3", "10.1.3 is not a valid IPv4 address"},
		{"GRID_NETWORK_MASK", "255.0.255.0", "255.0.255.0 is not a valid IPv4 subnet mask"},
		{"GRID_NETWORK_GATEWAY", "10.2.0.1", "10.2.0.1 is not on the local subnet"},
		{"GRID_NETWORK_MTU", "1279", "is not a valid MTU"},
		{"GRID_NETWORK_MTU", "9217", "is not a valid MTU"},
		{"GRID_NETWORK_MAC", "b2:9c:d6:00:00", "is not a valid MAC address"},
		{"GRID_NETWORK_CONFIG", "DISABLED", "is not a valid GRID_NETWORK_CONFIG (STATIC or DHCP)"},
		{"GRID_NETWORK_TARGET", "a-very-long-interface", "longer than 15 characters"},
		{"GRID_NETWORK_TARGET", "../eth0", "contains '/'"},
		{"CLIENT_NETWORK_CONFIG", "OFF", "(DHCP, STATIC or DISABLED)"},
		{"ADMIN_NETWORK_ESL", "10.0.0.0/16,10.1", "Could not parse subnet list"},
		{"MAXIMUM_RAM", "lots", "lots is not an amount of memory"},
		{"MAXIMUM_RAM", "24t", "24t is not an amount of memory"},
		{"PORT_REMAP", "client/tcp/18082", "is not of the form"},
		{"PORT_REMAP", "client/sctp/18082/443", "sctp is not a protocol"},
		{"PORT_REMAP_INBOUND", "grid/tcp/99999/443", "99999 is not a port number"},
		{"ADMIN_ROLE", "Primary", "only valid for VM_Admin_Node"},
		{"BLOCK_DEVICE_TABLES", "/dev/sdt", "only valid for VM_Admin_Node"},
		{"BLOCK_DEVICE_VAR_LOCAL", "sgws-var-local", "sgws-var-local is not a valid block device (not an absolute path)"},
		{"GRID_NETWORK_IP", "", "GRID_NETWORK_IP is required when GRID_NETWORK_CONFIG is STATIC"},
		{"BLOCK_DEVICE_VAR_LOCAL", "", "BLOCK_DEVICE_VAR_LOCAL is required"},
		{"BLOCK_DEVICE_RANGEDB_00", "", "need BLOCK_DEVICE_RANGEDB_00"},
	}
	for _, tc := range cases {
		got := strings.Join(messages(CheckKeys(set(storage(), tc.key, tc.value)), finding.Error), "\n")
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s = %q: errors %q, want one containing %q", tc.key, tc.value, got, tc.want)
		}
	}
}

func TestRangeDBNumbering(t *testing.T) {
	gap := set(storage(), "BLOCK_DEVICE_RANGEDB_01", "")
	gap = append(gap, [2]string{"BLOCK_DEVICE_RANGEDB_02", "/dev/sdc"})
	if got := messages(CheckKeys(gap), finding.Error); len(got) != 1 || !strings.Contains(got[0], "gap before 02") {
		t.Fatalf("gap: %q", got)
	}
	three := kv{}
	for _, p := range storage() {
		if strings.HasPrefix(p[0], "BLOCK_DEVICE_RANGEDB_") {
			p[0] = strings.Replace(p[0], "_0", "_00", 1)
		}
		three = append(three, p)
	}
	if fs := CheckKeys(three); len(fs) != 0 {
		t.Fatalf("three-digit form rejected: %+v", fs)
	}
	mixed := append(storage(), [2]string{"BLOCK_DEVICE_RANGEDB_002", "/dev/sdd"})
	if got := strings.Join(messages(CheckKeys(mixed), finding.Error), "\n"); !strings.Contains(got, "mix two-digit and three-digit") {
		t.Fatalf("mixed: %q", got)
	}
	over := append(storage(), [2]string{"BLOCK_DEVICE_RANGEDB_16", "/dev/sdq"})
	if got := strings.Join(messages(CheckKeys(over), finding.Error), "\n"); !strings.Contains(got, "run from 000 to 015") {
		t.Fatalf("over: %q", got)
	}
}

func TestAdminRequirementsAndUnknownKeys(t *testing.T) {
	admin := kv{{"NODE_TYPE", AdminNode}, {"BLOCK_DEVICE_VAR_LOCAL", "/dev/a"},
		{"GRID_NETWORK_TARGET", "eth0"}, {"GRID_NETWORK_CONFIG", "DHCP"}, {"FAVOURITE_COLOUR", "blue"}}
	errs := messages(CheckKeys(admin), finding.Error)
	want := []string{"ADMIN_ROLE: ADMIN_ROLE is required but missing",
		"BLOCK_DEVICE_AUDIT_LOGS: BLOCK_DEVICE_AUDIT_LOGS is required but missing",
		"BLOCK_DEVICE_TABLES: BLOCK_DEVICE_TABLES is required but missing"}
	if strings.Join(errs, "|") != strings.Join(want, "|") {
		t.Fatalf("errors %q, want %q", errs, want)
	}
	warns := messages(CheckKeys(admin), finding.Warning)
	if len(warns) != 1 || !strings.HasPrefix(warns[0], "FAVOURITE_COLOUR:") {
		t.Fatalf("warnings %q", warns)
	}
}

func TestCheckUnique(t *testing.T) {
	s2 := storage()
	s3 := set(set(storage(), "BLOCK_DEVICE_VAR_LOCAL", "/dev/mapper/sgws-dc1-s2-var-local"),
		"GRID_NETWORK_IP", "10.1.0.14")
	s3 = set(s3, "BLOCK_DEVICE_RANGEDB_00", "/dev/mapper/other-0")
	s3 = set(s3, "BLOCK_DEVICE_RANGEDB_01", "/dev/mapper/other-1")
	nodes := []Named{{"dc1-sn2", s2}, {"dc1-sn3", s3}}
	if fs := CheckUnique(nodes, nil); len(fs) != 0 {
		t.Fatalf("distinct nodes: %+v", fs)
	}
	s3 = set(s3, "GRID_NETWORK_IP", "10.1.0.13")
	got := messages(CheckUnique([]Named{{"dc1-sn2", s2}, {"dc1-sn3", s3}}, nil), finding.Error)
	if len(got) != 1 || got[0] != "GRID_NETWORK_IP: dc1-sn2 and dc1-sn3 have the same GRID_NETWORK_IP" {
		t.Fatalf("same IP: %q", got)
	}
	// Two spellings of one device, caught only through the identity.
	id := func(p string) (string, bool) {
		if strings.HasSuffix(p, "other-1") || strings.HasSuffix(p, "s3-rangedb-0") {
			return "7:3", true
		}
		return p, true
	}
	s3 = set(s3, "GRID_NETWORK_IP", "10.1.0.14")
	got = messages(CheckUnique([]Named{{"dc1-sn2", s2}, {"dc1-sn3", s3}}, id), finding.Error)
	if len(got) != 1 || !strings.Contains(got[0], "dc1-sn2 BLOCK_DEVICE_RANGEDB_00 and dc1-sn3 BLOCK_DEVICE_RANGEDB_01 use the same device") {
		t.Fatalf("same device: %q", got)
	}
}

// The values the key table documents are accepted, and its requirements
// enforced (docs/node-config-keys.md).
func TestDocumentedValuesAndRequirements(t *testing.T) {
	hash := "$6$Vb0ZJjUkuPMnYH8K$" + strings.Repeat("a", 86)
	admin := func(extra ...[2]string) kv {
		return append(kv{{"NODE_TYPE", AdminNode}, {"ADMIN_ROLE", "Primary"},
			{"BLOCK_DEVICE_VAR_LOCAL", "/dev/a"}, {"BLOCK_DEVICE_AUDIT_LOGS", "/dev/b"}, {"BLOCK_DEVICE_TABLES", "/dev/c"},
			{"GRID_NETWORK_TARGET", "bond0.1001"}, {"GRID_NETWORK_IP", "10.1.0.2"},
			{"GRID_NETWORK_MASK", "255.255.255.0"}, {"GRID_NETWORK_GATEWAY", "10.1.0.1"}}, extra...)
	}
	accepted := []kv{
		// A target alone: the Admin and Client Networks are DISABLED.
		storage([2]string{"ADMIN_NETWORK_TARGET", "bond0.1002"}, [2]string{"CLIENT_NETWORK_TARGET", "bond0.1003"}),
		storage([2]string{"GRID_NETWORK_TARGET_TYPE_INTERFACE_CLONE_MAC", "True"},
			[2]string{"ADMIN_NETWORK_TARGET_TYPE_INTERFACE_CLONE_MAC", "FALSE"}, [2]string{"GRID_NETWORK_TARGET_TYPE", "Interface"}),
		storage([2]string{"MAXIMUM_RAM", "38654705664b"}), storage([2]string{"MAXIMUM_RAM", "24G"}),
		storage([2]string{"MAXIMUM_RAM", "24576m"}), storage([2]string{"MAXIMUM_RAM", "25165824k"}),
		storage([2]string{"PORT_REMAP", ""}, [2]string{"PORT_REMAP_INBOUND", ""}),
		storage([2]string{"PORT_REMAP", "client/tcp/18082/443, client/tcp/18083/80"},
			[2]string{"PORT_REMAP_INBOUND", "grid/tcp/3022/22, admin/tcp/3022/22"}),
		storage([2]string{"STORAGE_TYPE", "metadata"}),
		set(set(storage(), "BLOCK_DEVICE_RANGEDB_00", ""), "BLOCK_DEVICE_RANGEDB_01", "").with(
			"BLOCK_DEVICE_RANGEDB_000", "/dev/r0", "BLOCK_DEVICE_RANGEDB_001", "/dev/r1"),
		admin(), set(admin(), "ADMIN_ROLE", "Non-Primary"), set(admin(), "ADMIN_ROLE", "non-primary"),
		admin([2]string{"CUSTOM_TEMPORARY_PASSWORD_HASH", hash}),
		admin([2]string{"TEMPORARY_PASSWORD_TYPE", "Use Custom Password"}, [2]string{"CUSTOM_TEMPORARY_PASSWORD", "Passw0rd"}),
		storage([2]string{"INTERFACE_TARGET_0001", "ens256, Trunk"}),
		set(set(set(set(storage(), "GRID_NETWORK_IP", ""), "GRID_NETWORK_MASK", ""), "GRID_NETWORK_GATEWAY", ""),
			"GRID_NETWORK_MTU", "").with("GRID_NETWORK_CONFIG", "dhcp"),
	}
	for i, c := range accepted {
		if fs := CheckKeys(c); len(fs) != 0 {
			t.Errorf("case %d: findings on a documented config: %+v", i, fs)
		}
	}
	refused := []struct {
		c    kv
		want string
	}{
		{set(storage(), "GRID_NETWORK_GATEWAY", ""), "GRID_NETWORK_GATEWAY is required"},
		{storage([2]string{"ADMIN_NETWORK_ESL", "10.0.0.0/8"}), "ADMIN_NETWORK_GATEWAY is required when ADMIN_NETWORK_ESL is specified"},
		{storage([2]string{"PORT_REMAP_INBOUND", "grid/tcp/3022"}), `"grid/tcp/3022" is not of the form network type/protocol/remapped port/default port used by grid node`},
		{storage([2]string{"PORT_REMAP", "client/tcp/18082/443,client/tcp/18082/80"}), "client/tcp/18082/80 remaps client/tcp/18082 again"},
		{storage([2]string{"STORAGE_TYPE", "archive"}), "archive is not a valid storage type"},
		{set(admin(), "NODE_TYPE", APIGateway).with("STORAGE_TYPE", "data"), "STORAGE_TYPE is only valid for VM_Storage_Node nodes"},
		{set(admin(), "ADMIN_ROLE", "Non-Primary").with("CUSTOM_TEMPORARY_PASSWORD_HASH", hash), "CUSTOM_TEMPORARY_PASSWORD_HASH may be set on the primary Admin Node only"},
		{admin([2]string{"CUSTOM_TEMPORARY_PASSWORD_HASH", "$1$abc$def"}), "is not a crypt() SHA-512 password hash"},
		{admin([2]string{"TEMPORARY_PASSWORD_TYPE", "Use custom password"}), "needs CUSTOM_TEMPORARY_PASSWORD"},
		{storage([2]string{"CLIENT_NETWORK_CONFIG", "STATIC"}), "CLIENT_NETWORK_TARGET is required when CLIENT_NETWORK_CONFIG is STATIC"},
		{storage([2]string{"CLIENT_NETWORK_TARGET", "eth2"}, [2]string{"CLIENT_NETWORK_CONFIG", "STATIC"}), "CLIENT_NETWORK_IP is required when CLIENT_NETWORK_CONFIG is STATIC"},
		{storage([2]string{"GRID_NETWORK_TARGET_TYPE_INTERFACE_CLONE_MAC", "yes"}), "yes is not a valid GRID_NETWORK_TARGET_TYPE_INTERFACE_CLONE_MAC (True or False)"},
		{storage([2]string{"ADMIN_IP", ""}), "ADMIN_IP has no value"},
	}
	for _, tc := range refused {
		got := strings.Join(messages(CheckKeys(tc.c), finding.Error), "\n")
		if !strings.Contains(got, tc.want) {
			t.Errorf("errors %q, want one containing %q", got, tc.want)
		}
	}
	warned := []struct {
		c    kv
		want string
	}{
		{storage([2]string{"ADMIN_NETWORK_TARGET", "eth1"}, [2]string{"ADMIN_NETWORK_IP", "10.3.0.3"}),
			"ADMIN_NETWORK_IP is ignored: ADMIN_NETWORK_CONFIG is DISABLED (the default when ADMIN_NETWORK_CONFIG is absent)"},
		{storage([2]string{"ADMIN_NETWORK_TARGET", "eth1"}, [2]string{"ADMIN_NETWORK_CONFIG", "DHCP"}, [2]string{"ADMIN_NETWORK_MTU", "9000"}),
			"ADMIN_NETWORK_MTU is not used when ADMIN_NETWORK_CONFIG is DHCP"},
		{admin([2]string{"ADMIN_IP", "10.1.0.2"}), "ADMIN_IP is ignored on the primary Admin Node"},
	}
	for _, tc := range warned {
		if fs := messages(CheckKeys(tc.c), finding.Error); len(fs) != 0 {
			t.Errorf("errors %q, want only a warning", fs)
		}
		if got := strings.Join(messages(CheckKeys(tc.c), finding.Warning), "\n"); !strings.Contains(got, tc.want) {
			t.Errorf("warnings %q, want one containing %q", got, tc.want)
		}
	}
}

// No finding shows a password or its hash, nor the value of a key it does
// not know (a misspelt password key, say).
func TestSecretsAreNeverShown(t *testing.T) {
	c := kv{{"NODE_TYPE", StorageNode}, {"CUSTOM_TEMPORARY_PASSWORD", "hunter2"},
		{"CUSTOM_TEMPORARY_PASSWORD_HASH", "$6$s3cr3t"}, {"CUSTOM_TEMPORARY_PASSWRD", "Passw0rd!"}}
	fs := CheckKeys(c)
	if len(fs) < 5 {
		t.Fatalf("want findings about each key, got %+v", fs)
	}
	for _, f := range fs {
		text := f.Text() + f.Value + f.Message
		for _, secret := range []string{"hunter2", "s3cr3t", "Passw0rd"} {
			if strings.Contains(text, secret) {
				t.Errorf("finding shows %q: %+v", secret, f)
			}
		}
	}
}
