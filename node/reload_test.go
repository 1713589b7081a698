package node

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/blockdev"
	"github.com/storagegrid/storagegrid/internal/fail"
)

// reloadFixture runs DC1-GW1 under the demo payload, whose health answer
// shows the interfaces it attached.
func reloadFixture(t *testing.T) *fixture {
	f := newFixture(t, "demo", 100*time.Millisecond)
	f.mgr.SetOwnership(Ownership{Devices: blockdev.Options{AllowFiles: true}, NetworkView: testView, Lease: testLease})
	f.attach(varLocal, sharedFile(t, 2*mib))
	f.configure("DC1-GW1", varLocal)
	if _, err := f.mgr.Start(bg, "DC1-GW1", func() {}); err != nil {
		t.Fatal(err)
	}
	return f
}

// health waits until the payload's health answer satisfies ok.
func (f *fixture) health(name string, ok func(Health) bool) Health {
	f.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(bg, time.Second)
		h, err := CheckHealth(ctx, f.root, name)
		cancel()
		if err == nil && ok(h) {
			return h
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("health of %s: %+v, %v", name, h, err)
		}
		time.Sleep(pollEvery)
	}
}

func (f *fixture) appendConfig(name, lines string) {
	f.t.Helper()
	p := f.root.Join(ConfigDir + "/" + name + ".conf")
	b, err := os.ReadFile(p)
	if err != nil {
		f.t.Fatal(err)
	}
	writeFile(f.t, p, string(b)+lines)
}

// The documented procedure: CLIENT_NETWORK_TARGET and its MAC added to a
// running node's file, node reload; the payload attaches the interface
// without a restart, and the record keeps the config in force.
func TestReloadAddsAnInterfaceToARunningNode(t *testing.T) {
	f := reloadFixture(t)
	before := f.health("DC1-GW1", func(h Health) bool { return true })
	if !slices.Equal(before.Interfaces, []string{"eth0"}) || before.Reloads != 0 {
		t.Fatalf("before: %+v", before)
	}
	if res, err := f.mgr.Reload(bg, "DC1-GW1"); err != nil || res.Result != "unchanged" {
		t.Fatalf("reload of an unchanged node: %+v, %v", res, err)
	}
	f.appendConfig("DC1-GW1", "CLIENT_NETWORK_TARGET = bond0.3206\nCLIENT_NETWORK_MAC = aa:57:61:07:ea:5c\nINTERFACE_TARGET_0001 = eth0, Trunk\n")
	res, err := f.mgr.Reload(bg, "DC1-GW1")
	if err != nil || res.Result != "reloaded" || len(res.Changes) != 3 {
		t.Fatalf("reload: %+v, %v", res, err)
	}
	for _, c := range res.Changes {
		if !c.Live {
			t.Errorf("%s is not live: %s", c.Key, c.Why)
		}
	}
	h := f.health("DC1-GW1", func(h Health) bool { return h.Reloads == 1 })
	if !slices.Equal(h.Interfaces, []string{"eth0", "bond0.3206", "eth0"}) || h.PID != before.PID {
		t.Fatalf("after reload: %+v (pid before %d)", h, before.PID)
	}
	if rec := f.readRec(varLocal); !strings.Contains(string(rec.Config), "bond0.3206") || rec.State != blockdev.Active {
		t.Fatalf("record after reload: %+v", rec)
	}
	if res, err := f.mgr.Reload(bg, "DC1-GW1"); err != nil || res.Result != "unchanged" {
		t.Fatalf("second reload: %+v, %v", res, err)
	}
}

// What a running node cannot take is refused as a whole, with the reason
// for each key; nothing reaches the payload or the record.
func TestReloadRefusesWhatNeedsARestart(t *testing.T) {
	f := reloadFixture(t)
	f.appendConfig("DC1-GW1", "CLIENT_NETWORK_TARGET = bond0.3206\nMAXIMUM_RAM = 24g\n")
	p := f.root.Join(ConfigDir + "/DC1-GW1.conf")
	b, _ := os.ReadFile(p)
	writeFile(t, p, strings.Replace(string(b), "GRID_NETWORK_IP = 10.1.0.7", "GRID_NETWORK_IP = 10.1.0.9", 1))
	res, err := f.mgr.Reload(bg, "DC1-GW1")
	var restart *RestartNeededError
	if !errors.As(err, &restart) || fail.KindOf(err) != fail.Refused {
		t.Fatalf("reload: %v (kind %v)", err, fail.KindOf(err))
	}
	why := map[string]string{}
	for _, c := range restart.Changes {
		why[c.Key] = c.Why
	}
	if len(why) != 2 || !strings.Contains(why["GRID_NETWORK_IP"], "Change IP tool") ||
		!strings.Contains(why["MAXIMUM_RAM"], "only when the node restarts") {
		t.Fatalf("refused changes: %+v (all: %+v)", restart.Changes, res.Changes)
	}
	if rec := f.readRec(varLocal); strings.Contains(string(rec.Config), "bond0.3206") {
		t.Fatal("a refused reload changed the record")
	}
	if h := f.health("DC1-GW1", func(Health) bool { return true }); h.Reloads != 0 {
		t.Fatalf("a refused reload reached the payload: %+v", h)
	}
}

func TestReloadValidatesFirstAndLeavesStoppedNodes(t *testing.T) {
	f := reloadFixture(t)
	f.appendConfig("DC1-GW1", "CLIENT_NETWORK_TARGET = bond0.3207\n")
	var invalid *ValidationError
	if _, err := f.mgr.Reload(bg, "DC1-GW1"); !errors.As(err, &invalid) || fail.KindOf(err) != fail.Invalid {
		t.Fatalf("reload with a missing interface: %v", err)
	}
	if _, err := f.mgr.Stop(bg, "DC1-GW1", StopOptions{Timeout: 5 * time.Second}, func() {}); err != nil {
		t.Fatal(err)
	}
	if res, err := f.mgr.Reload(bg, "DC1-GW1"); err != nil || res.Result != "not-running" {
		t.Fatalf("reload of a stopped node: %+v, %v", res, err)
	}
}
