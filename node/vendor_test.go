package node

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/storagegrid/storagegrid/finding"
	"github.com/storagegrid/storagegrid/internal/looptest"
	"github.com/storagegrid/storagegrid/netcheck"
)

// vendorInterfaces are the host interfaces NetApp's example configs name.
var vendorInterfaces = []string{"bond0.1001", "bond0.1002", "bond0.1003", "bond0.3206", "eth0", "eth1", "eth2"}

// TestVendorConfigsValidate validates every node configuration file
// NetApp's documentation prints (testdata/vendor, see its README) on a
// host that has their block devices, as loop devices, and their
// interfaces, as veth pairs in a network namespace: not one error or
// warning. The example files of one page are validated together, as
// `node validate all`; the maintenance procedures' files one by one, with
// their edits applied.
func TestVendorConfigsValidate(t *testing.T) {
	view := vendorNetwork(t)
	examples, _ := filepath.Glob("testdata/vendor/*/*/example-node-configuration-files")
	if len(examples) != 11 { // RHEL and Ubuntu pages of 11.5 to 11.9, one page of 12.0
		t.Fatalf("only %d example pages in testdata/vendor", len(examples))
	}
	for _, dir := range examples {
		t.Run(dir[len("testdata/vendor/"):], func(t *testing.T) {
			files, _ := filepath.Glob(dir + "/*.conf")
			host := vendorHost(t, view)
			for _, f := range files {
				host.install(strings.TrimSuffix(filepath.Base(f), ".conf"), readFile(t, f))
			}
			r, err := host.mgr.ValidateAll()
			if err != nil {
				t.Fatal(err)
			}
			wantClean(t, r, len(files)+2)
		})
	}
	singles, _ := filepath.Glob("testdata/vendor/*/expand/*/*.conf")
	remaps, _ := filepath.Glob("testdata/vendor/*/maintain/removing-port-remaps-on-bare-metal-hosts/*.conf")
	for _, f := range append(singles, remaps...) {
		t.Run(f[len("testdata/vendor/"):], func(t *testing.T) {
			validateOne(t, view, readFile(t, f))
		})
	}
	for _, f := range remaps {
		t.Run(f[len("testdata/vendor/"):]+"+remove-remaps", func(t *testing.T) {
			cfg := edit(t, readFile(t, f), nil, readFile(t, filepath.Join(filepath.Dir(f), "remove-remaps.fragment")))
			if v, _ := cfg.Get("PORT_REMAP"); v != "" {
				t.Fatalf("the fragment did not empty PORT_REMAP: %q", v)
			}
			validateOne(t, view, cfg.Bytes())
		})
	}
	fragments, _ := filepath.Glob("testdata/vendor/*/maintain/linux-adding-interfaces-to-existing-node/*.fragment")
	if len(fragments) != 6 {
		t.Fatalf("%d interface fragments, want one per version", len(fragments))
	}
	for _, frag := range fragments {
		repo := strings.Split(frag, "/")[2]
		nodes, _ := filepath.Glob("testdata/vendor/" + repo + "/*/example-node-configuration-files/dc1-sn1.conf")
		for _, f := range nodes {
			t.Run(f[len("testdata/vendor/"):]+"+"+filepath.Base(frag), func(t *testing.T) {
				validateOne(t, view, edit(t, readFile(t, f), []string{"CLIENT_NETWORK_TARGET"}, readFile(t, frag)).Bytes())
			})
		}
	}
}

// validateOne validates config as node "vendor-node" on a host of its own.
func validateOne(t *testing.T, view func() (*netcheck.View, error), config []byte) {
	host := vendorHost(t, view)
	host.install("vendor-node", config)
	r, err := host.mgr.Validate("vendor-node")
	if err != nil {
		t.Fatal(err)
	}
	wantClean(t, r, 3)
}

func wantClean(t *testing.T, r Report, checks int) {
	t.Helper()
	if len(r.Checks) != checks {
		t.Errorf("%d checks, want %d", len(r.Checks), checks)
	}
	for _, c := range r.Checks {
		for _, f := range c.Findings {
			t.Errorf("%s: %s", c.Title, strings.TrimSpace(f.Text()))
		}
	}
}

// edit applies an operator's edit: drop the keys in remove, then set each
// KEY = VALUE line of fragment (in place when the key is there).
func edit(t *testing.T, config []byte, remove []string, fragment []byte) *Config {
	t.Helper()
	cfg, err := ParseConfig("config", bytes.NewReader(config))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range remove {
		if !cfg.Delete(k) {
			t.Fatalf("%s is not in the config", k)
		}
	}
	lines, err := ParseConfig("fragment", bytes.NewReader(fragment))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range lines.Keys() {
		v, _ := lines.Get(k)
		if err := cfg.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	return cfg
}

type vendorTestHost struct {
	t    *testing.T
	root string
	mgr  *Manager
}

func vendorHost(t *testing.T, view func() (*netcheck.View, error)) *vendorTestHost {
	root := newRoot(t)
	mgr := NewManager(root, nil)
	mgr.SetOwnership(Ownership{NetworkView: view})
	return &vendorTestHost{t: t, root: string(root), mgr: mgr}
}

// install writes the node's config verbatim and gives each of its
// BLOCK_DEVICE_* paths a loop device of its own.
func (h *vendorTestHost) install(name string, config []byte) {
	h.t.Helper()
	writeFile(h.t, filepath.Join(h.root, ConfigDir, name+".conf"), string(config))
	cfg, err := ParseConfig(name, bytes.NewReader(config))
	if err != nil {
		h.t.Fatal(err)
	}
	for _, k := range cfg.Keys() {
		if !strings.HasPrefix(k, "BLOCK_DEVICE_") {
			continue
		}
		path, _ := cfg.Get(k)
		link := filepath.Join(h.root, path)
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			h.t.Fatal(err)
		}
		if err := os.Symlink(looptest.Attach(h.t, 2<<20), link); err != nil {
			h.t.Fatal(err)
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vendorNetwork makes a network namespace with the example configs'
// interfaces, each one end of a veth pair with both ends up, and returns
// a reader of its view. The namespace is deleted when the test ends.
func vendorNetwork(t *testing.T) func() (*netcheck.View, error) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces and loop devices")
	}
	ns := fmt.Sprintf("sg-vendor-%d", os.Getpid())
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "delete", ns).Run() })
	for i, name := range vendorInterfaces {
		peer := fmt.Sprintf("peer%d", i)
		ip("-n", ns, "link", "add", name, "type", "veth", "peer", "name", peer)
		ip("-n", ns, "link", "set", peer, "up")
		ip("-n", ns, "link", "set", name, "up")
	}
	h, err := netns.GetFromName(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	read := func() (*netcheck.View, error) { return netcheck.ReadViewAt(&h) }
	// A veth's carrier comes up asynchronously after "ip link set up".
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		v, err := read()
		if err != nil {
			t.Fatal(err)
		}
		var down []string
		for _, name := range vendorInterfaces {
			if l := v.Link(name); l == nil || !l.Carrier {
				down = append(down, name)
			}
		}
		if len(down) == 0 {
			return read
		}
		if time.Now().After(deadline) {
			sort.Strings(down)
			t.Fatalf("no carrier after 5s on %s", strings.Join(down, ", "))
		}
	}
}

// The vendor's messages for its own mistakes: the screenshot of `node
// validate all` with errors (rhel_node_configuration_file_output_with_errors.gif
// in every version's media/) shows these lines for these values.
func TestVendorErrorMessages(t *testing.T) {
	adm := kv{{"NODE_TYPE", "VM_Foo_Node"}, {"ADMIN_ROLE", "Foo"}}
	gw := kv{{"NODE_TYPE", APIGateway}, {"GRID_NETWORK_IP", "10.1.3"}, {"GRID_NETWORK_MASK", "255.248.255.0"}}
	sn := kv{{"NODE_TYPE", StorageNode}, {"GRID_NETWORK_IP", "10.1.0.3"}, {"GRID_NETWORK_MASK", "255.255.255.0"},
		{"GRID_NETWORK_GATEWAY", "10.2.0.1"}, {"ADMIN_NETWORK_ESL", "192.168.100.0/21,172.16.0foo"}}
	want := map[string]string{
		"NODE_TYPE = VM_Foo_Node":                          "VM_Foo_Node is not a valid node type.  See *.conf.sample",
		"ADMIN_ROLE = Foo":                                 "Foo is not a valid admin role.  See *.conf.sample",
		"GRID_NETWORK_IP = 10.1.3":                         "10.1.3 is not a valid IPv4 address",
		"GRID_NETWORK_MASK = 255.248.255.0":                "255.248.255.0 is not a valid IPv4 subnet mask",
		"GRID_NETWORK_GATEWAY = 10.2.0.1":                  "10.2.0.1 is not on the local subnet",
		"ADMIN_NETWORK_ESL = 192.168.100.0/21,172.16.0foo": "Could not parse subnet list",
	}
	got := map[string]string{}
	for _, c := range []kv{adm, gw, sn} {
		for _, f := range CheckKeys(c) {
			if f.Severity == finding.Error {
				got[f.Key+" = "+f.Value] = f.Message
			}
		}
	}
	for subject, msg := range want {
		if got[subject] != msg {
			t.Errorf("%s: got %q, want %q", subject, got[subject], msg)
		}
	}
}

// TestKeyTableIsTheValidatorsKeys keeps docs/node-config-keys.md honest:
// every key its table lists is one validate knows, and every key the
// network rules know is listed.
func TestKeyTableIsTheValidatorsKeys(t *testing.T) {
	doc := string(readFile(t, "../docs/node-config-keys.md"))
	listed := map[string]bool{}
	for _, line := range strings.Split(doc, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 5 || !isKeyCell(strings.TrimSpace(cells[1])) {
			continue
		}
		names := strings.Split(strings.TrimSpace(cells[1]), ", ")
		prefix, _, _ := strings.Cut(names[0], "_NETWORK_")
		for _, n := range names {
			if strings.HasPrefix(n, "_") {
				n = prefix + "_NETWORK" + n
			}
			n = strings.Replace(strings.Replace(n, "_nnnn", "_0001", 1), "_nnn", "_000", 1)
			listed[n] = true
			if !KnownKey(n) {
				t.Errorf("the key table lists %s, which validate does not know", n)
			}
		}
	}
	for _, net := range []string{"GRID", "ADMIN", "CLIENT"} {
		for _, f := range []string{"TARGET", "IP", "MASK", "GATEWAY", "CONFIG", "MTU", "MAC", "TARGET_TYPE", "TARGET_TYPE_INTERFACE_CLONE_MAC"} {
			if k := net + "_NETWORK_" + f; !listed[k] {
				t.Errorf("the key table does not list %s", k)
			}
		}
	}
	for _, k := range []string{"INTERFACE_TARGET_0001", "BLOCK_DEVICE_RANGEDB_000", "CUSTOM_TEMPORARY_PASSWORD", "ADMIN_NETWORK_ESL"} {
		if !listed[k] {
			t.Errorf("the key table does not list %s", k)
		}
	}
	if len(listed) < 40 {
		t.Errorf("the key table lists only %d keys", len(listed))
	}
}

// isKeyCell tells a table row's key cell ("NODE_TYPE") from the header
// and separator rows.
func isKeyCell(s string) bool {
	return s != "" && s[0] >= 'A' && s[0] <= 'Z'
}
