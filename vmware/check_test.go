package vmware

import (
	"context"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/vmware/govmomi/simulator"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/vmware/vcsim"
)

func mustParse(tb testing.TB, s string) *url.URL {
	tb.Helper()
	u, err := url.Parse(s)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

func problems(res []CheckResult) map[string][]string {
	m := map[string][]string{}
	for _, r := range res {
		m[r.VM] = r.Problems
	}
	return m
}

func TestCheck(t *testing.T) {
	sim := startSim(t, "vpx")
	ctx := context.Background()
	c := connectSim(t, sim)

	// Fresh inventory: every VM on, but no host starts anything.
	res, err := c.Check(ctx, "DC0_H0_*")
	if fail.KindOf(err) != fail.Invalid || err.Error() != "2 of 2 grid VMs would not come back after a host restart" {
		t.Fatalf("got %v", err)
	}
	want := map[string][]string{
		"DC0_H0_VM0": {"host autostart off", "not set to start with its host"},
		"DC0_H0_VM1": {"host autostart off", "not set to start with its host"},
	}
	if got := problems(res); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}

	if _, err := c.EnableAutostart(ctx, []string{"DC0_H0_VM0", "DC0_H0_VM1"}, AutostartOptions{StartDelay: -1}); err != nil {
		t.Fatal(err)
	}
	res, err = c.Check(ctx, "DC0_H0_*")
	if err != nil {
		t.Fatalf("all set up: %v", err)
	}
	if len(res) != 2 || res[0].Host != "DC0_H0" || res[0].PowerState != "poweredOn" || len(res[0].Problems) != 0 {
		t.Errorf("got %+v", res)
	}

	mustPowerOff(t, sim, "DC0_H0_VM1")
	res, err = c.Check(ctx, "DC0_H0_*")
	if fail.KindOf(err) != fail.Invalid || err.Error() != "1 of 2 grid VMs would not come back after a host restart" {
		t.Fatalf("got %v", err)
	}
	if got := problems(res)["DC0_H0_VM1"]; !reflect.DeepEqual(got, []string{"powered off"}) {
		t.Errorf("DC0_H0_VM1: %v", got)
	}

	if err := sim.DisconnectHost(ctx, "DC0_H0"); err != nil {
		t.Fatal(err)
	}
	res, _ = c.Check(ctx, "DC0_H0_VM0")
	if got := problems(res)["DC0_H0_VM0"]; !reflect.DeepEqual(got, []string{"host not connected (disconnected)"}) {
		t.Errorf("DC0_H0_VM0 on a disconnected host: %v", got)
	}
}

func TestCheckPatterns(t *testing.T) {
	sim := startSim(t, "esx")
	c := connectSim(t, sim)
	ctx := context.Background()
	_, err := c.Check(ctx, "DC9-*")
	if fail.KindOf(err) != fail.Invalid || err.Error() != `no VM matches the grid pattern "DC9-*" (--pattern, or pattern in the [vmware] section of storagegrid.toml)` {
		t.Errorf("no match: %v", err)
	}
	_, err = c.Check(ctx, "[")
	if fail.KindOf(err) != fail.Usage || err.Error() != `pattern "[": syntax error in pattern` {
		t.Errorf("bad pattern: %v", err)
	}
	res, _ := c.Check(ctx, "*")
	if len(res) != 2 {
		t.Errorf("* must match both VMs: %+v", res)
	}
}

// check reads the whole inventory in a fixed number of calls: five times
// the VMs must not mean five times the round trips to vCenter.
func TestCheckCallsDoNotGrowWithInventory(t *testing.T) {
	calls := func(machines int) int64 {
		sim, err := vcsim.Start(context.Background(), "vpx", func(m *simulator.Model) { m.Machine = machines })
		if err != nil {
			t.Fatal(err)
		}
		defer sim.Close()
		c := connectSim(t, sim)
		if _, err := c.EnableAutostart(context.Background(), []string{"DC0_H0_VM0", "DC1_C0_RP0_VM1"}, AutostartOptions{StartDelay: -1}); err != nil {
			t.Fatal(err)
		}
		before := sim.Calls()
		res, _ := c.Check(context.Background(), "*")
		if len(res) != 4*machines {
			t.Fatalf("%d machines per pool: check saw %d VMs", machines, len(res))
		}
		return sim.Calls() - before
	}
	small, large := calls(2), calls(10)
	if small != large {
		t.Errorf("check made %d calls for 8 VMs but %d for 40", small, large)
	}
}

func BenchmarkCheck400VMs(b *testing.B) {
	sim, err := vcsim.Start(context.Background(), "vpx", func(m *simulator.Model) { m.Machine = 100 })
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	cfg := Config{URL: mustParse(b, sim.URL), Username: vcsim.Username, Password: vcsim.Password, Thumbprint: sim.Thumbprint}
	c, err := Connect(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(context.Background())
	before := sim.Calls()
	b.ResetTimer()
	for b.Loop() {
		if res, _ := c.Check(context.Background(), "*"); len(res) != 400 {
			b.Fatalf("check saw %d VMs", len(res))
		}
	}
	b.ReportMetric(float64(sim.Calls()-before)/float64(b.N), "calls/op")
}

// Against govmomi's simulator as it ships (no autostart manager), check
// still reports every VM with what it could read: the power states, and
// per host that its autostart is unknown and why; exit 3 (Invalid).
func TestCheckAgainstStockSimulator(t *testing.T) {
	sim, err := vcsim.StartStock(context.Background(), "vpx")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	ctx := context.Background()
	if err := sim.PowerOff(ctx, "DC0_H0_VM1"); err != nil {
		t.Fatal(err)
	}
	c := connectSim(t, sim)
	res, err := c.Check(ctx, "DC0_H0_*")
	if fail.KindOf(err) != fail.Invalid || err.Error() != "2 of 2 grid VMs would not come back after a host restart" {
		t.Fatalf("got %v", err)
	}
	got := problems(res)
	if len(got) != 2 || len(got["DC0_H0_VM1"]) != 2 || got["DC0_H0_VM1"][0] != "powered off" ||
		!strings.HasPrefix(got["DC0_H0_VM1"][1], "autostart unknown: ") || len(got["DC0_H0_VM0"]) != 1 ||
		!strings.HasPrefix(got["DC0_H0_VM0"][0], "autostart unknown: ") {
		t.Fatalf("got %v", got)
	}
	if res[1].PowerState != "poweredOff" || res[0].PowerState != "poweredOn" || res[0].Host != "DC0_H0" {
		t.Fatalf("got %+v", res)
	}
	t.Logf("%v", got)
}
