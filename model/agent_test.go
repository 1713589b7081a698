package model

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/agent"
	"github.com/storagegrid/storagegrid/internal/hostpath"
	"github.com/storagegrid/storagegrid/internal/sdnotify"
	"github.com/storagegrid/storagegrid/node"
)

// runningRuntime reports every node as running: the agents' hosts have
// no real node payloads.
type runningRuntime struct{}

func (runningRuntime) Start(context.Context, string) error                  { return nil }
func (runningRuntime) Stop(context.Context, string, node.StopOptions) error { return nil }
func (runningRuntime) State(context.Context, string) (node.RunState, error) { return node.Running, nil }
func (runningRuntime) Reload(context.Context, string) error                 { return nil }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRealAgentsFeedTheServer runs two real agents, each under its own
// sandbox root with its own node configs, shipping to a real server on
// loopback; the model then answers from what they reported, and a node
// config edited on one host arrives as a change.
func TestRealAgentsFeedTheServer(t *testing.T) {
	ts := newTestServer(t, "", "h1", "h2")
	ts.clock.Set(time.Now()) // agents stamp events with the real clock
	nodes := map[string]map[string]string{
		"h1": {"DC1-S1": "VM_Storage_Node", "DC1-GW1": "VM_API_Gateway"},
		"h2": {"DC1-S2": "VM_Storage_Node", "DC1-GW2": "VM_API_Gateway"},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	roots := map[string]string{}
	for host, ns := range nodes {
		root := t.TempDir()
		roots[host] = root
		dir := filepath.Join(root, "etc/storagegrid/nodes")
		os.MkdirAll(dir, 0o755)
		for name, typ := range ns {
			conf := "NODE_TYPE = " + typ + "\nBLOCK_DEVICE_VAR_LOCAL = /dev/mapper/sgws-" + strings.ToLower(name) + "-var-local\nMAXIMUM_RAM = 8g\n"
			if err := os.WriteFile(filepath.Join(dir, name+".conf"), []byte(conf), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		a, err := agent.New(agent.Config{Host: host, Sources: agent.Sources{Root: hostpath.Root(root), Runtime: runningRuntime{}},
			Interval: 200 * time.Millisecond, SpoolDir: t.TempDir(), SpoolMax: 1 << 30,
			Server: ts.http.URL, Token: tokenOf(host), Disable: []string{"hwmon"}})
		if err != nil {
			t.Fatal(err)
		}
		go func() { done <- a.Run(ctx, sdnotify.Notifier{}) }()
	}
	defer func() {
		cancel()
		for range nodes {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}()

	waitFor(t, "both agents' nodes, running", func() bool {
		ns, err := ts.client.Nodes(ctx, "")
		running := 0
		for _, n := range ns {
			if n.InService() && n.Site == "DC1" && nodes[n.Host][n.Name] == n.Type {
				running++
			}
		}
		return err == nil && running == 4
	})
	hosts, err := ts.client.Hosts(ctx)
	if err != nil || len(hosts) != 2 || hosts[0].Links == 0 {
		t.Fatalf("hosts %+v, %v", hosts, err)
	}

	// Stopping h1 would leave DC1 one of its two storage nodes; the types
	// themselves keep running on h2.
	ts.clock.Set(time.Now())
	v, err := ts.client.OkToStop(ctx, "h1")
	if err != nil || blockedRules(v) != RuleSiteStorage {
		t.Fatalf("ok-to-stop h1: %+v, %v", v, err)
	}

	// An edited config reaches the model as a field change.
	since := time.Now().Add(-time.Minute)
	conf := filepath.Join(roots["h2"], "etc/storagegrid/nodes/DC1-S2.conf")
	if err := os.WriteFile(conf, []byte("NODE_TYPE = VM_Storage_Node\nBLOCK_DEVICE_VAR_LOCAL = /dev/mapper/sgws-dc1-s2-var-local\nMAXIMUM_RAM = 16g\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the config change", func() bool {
		ch, _ := ts.client.Changes(ctx, ChangeQuery{Since: since, Host: "h2", Kind: "node"})
		for _, c := range ch {
			for _, f := range c.Fields {
				if c.ID == "DC1-S2" && f.Field == "MAXIMUM_RAM" && f.From != nil && *f.From == "8g" && f.To != nil && *f.To == "16g" {
					return true
				}
			}
		}
		return false
	})
}
