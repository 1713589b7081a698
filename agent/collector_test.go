package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/storagegrid/storagegrid/internal/hostpath"
)

// fixture writes a tiny /proc and /sys tree with known values.
func fixture(t *testing.T) Sources {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"proc/stat": "cpu  100 0 50 1000 5 0 1 0 0 0\ncpu0 100 0 50 1000 5 0 1 0 0 0\n" +
			"intr 0\nctxt 4242\nbtime 1700000000\nprocesses 77\nprocs_running 1\nprocs_blocked 0\n",
		"proc/meminfo": "MemTotal:       2048 kB\nMemFree:        1024 kB\nMemAvailable:   1536 kB\n",
		"proc/loadavg": "0.42 0.30 0.10 1/100 12345\n",
		"proc/diskstats": "   7       0 loop0 10 0 80 5 20 0 160 7 0 12 12 0 0 0 0 0 0\n" +
			"   8       0 sda 10 0 80 5 20 0 160 7 0 12 12 0 0 0 0 0 0\n" +
			"   8       1 sda1 10 0 80 5 20 0 160 7 0 12 12 0 0 0 0 0 0\n" +
			"   253     0 dm-0 10 0 80 5 20 0 160 7 0 12 12 0 0 0 0 0 0\n",
		"proc/net/dev": "Inter-|   Receive                                                |  Transmit\n" +
			" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n" +
			"  eth0: 1000 10 1 0 0 0 0 0 2000 20 2 0 0 0 0 0\n" +
			"    lo: 1000 10 1 0 0 0 0 0 2000 20 2 0 0 0 0 0\n",
		"sys/class/hwmon/hwmon0/name":        "coretemp\n",
		"sys/class/hwmon/hwmon0/temp1_input": "45500\n",
	}
	for p, body := range files {
		full := filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Sources{Root: hostpath.Root(dir), Proc: filepath.Join(dir, "proc"), Sys: filepath.Join(dir, "sys")}
}

func collectAll(t *testing.T, src Sources, names ...string) map[string]string {
	t.Helper()
	cs, err := NewCollectors(src, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, n := range names {
		items, err := cs[n].Collect(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		for _, it := range items {
			got[it.ID] = it.Fields["value"]
		}
	}
	return got
}

func TestMetricCollectorsOnFixtures(t *testing.T) {
	got := collectAll(t, fixture(t), "cpu", "memory", "loadavg", "diskstats", "netdev", "hwmon")
	want := map[string]string{
		`node_cpu_seconds_total{cpu="0",mode="user"}`:             "1",
		`node_cpu_seconds_total{cpu="0",mode="idle"}`:             "10",
		`node_context_switches_total`:                             "4242",
		`node_memory_MemTotal_bytes`:                              "2097152",
		`node_memory_MemAvailable_bytes`:                          "1572864",
		`node_load1`:                                              "0.42",
		`node_disk_read_bytes_total{device="sda"}`:                "40960",
		`node_disk_io_time_seconds_total{device="dm-0"}`:          "0.012",
		`node_network_transmit_bytes_total{device="eth0"}`:        "2000",
		`node_network_receive_errs_total{device="eth0"}`:          "1",
		`node_hwmon_temp_celsius{chip="coretemp",sensor="temp1"}`: "45.5",
	}
	for id, v := range want {
		if got[id] != v {
			t.Errorf("%s = %q, want %q", id, got[id], v)
		}
	}
	// Left out as node_exporter leaves them out: loop devices and
	// partitions (diskstats), and lo.
	for _, id := range []string{`node_disk_read_bytes_total{device="loop0"}`, `node_disk_read_bytes_total{device="sda1"}`,
		`node_network_transmit_bytes_total{device="lo"}`} {
		if _, ok := got[id]; ok {
			t.Errorf("%s is collected", id)
		}
	}
}

func TestMetricCollectorsOnThisMachine(t *testing.T) {
	got := collectAll(t, Sources{}, "cpu", "memory", "loadavg", "diskstats", "netdev", "hwmon")
	for _, prefix := range []string{"node_cpu_seconds_total", "node_memory_MemTotal_bytes", "node_load1", "node_network_receive_bytes_total"} {
		found := false
		for id := range got {
			found = found || strings.HasPrefix(id, prefix)
		}
		if !found {
			t.Errorf("no %s from the live machine", prefix)
		}
	}
}

func TestUnknownCollectorNamed(t *testing.T) {
	_, err := NewCollectors(Sources{}, []string{"cpux"}, nil)
	if err == nil || !strings.Contains(err.Error(), `unknown collector "cpux"`) {
		t.Fatalf("err = %v", err)
	}
	cs, err := NewCollectors(Sources{}, nil, []string{"hwmon"})
	if err != nil || cs["hwmon"] != nil || cs["cpu"] == nil {
		t.Fatalf("disable failed: %v %v", cs, err)
	}
}

func TestMissingProcIsAnError(t *testing.T) {
	cs, err := NewCollectors(Sources{Proc: filepath.Join(t.TempDir(), "none")}, nil, nil)
	if err == nil {
		_, err = cs["loadavg"].Collect(context.Background())
	}
	if err == nil {
		t.Fatal("missing /proc accepted")
	}
}

func TestHostAndBlockdevInventory(t *testing.T) {
	src := fixture(t)
	src.HostID = "h1"
	os.MkdirAll(filepath.Join(string(src.Root), "sys/block/loop7"), 0o755)
	os.WriteFile(filepath.Join(string(src.Root), "sys/block/loop7/dev"), []byte("7:7\n"), 0o644)
	os.WriteFile(filepath.Join(string(src.Root), "sys/block/loop7/size"), []byte("2048\n"), 0o644)
	cs, err := NewCollectors(src, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	host, err := cs["host"].Collect(context.Background())
	if err != nil || len(host) != 1 || host[0].ID != "h1" || len(host[0].Fields["uuid"]) != 36 {
		t.Fatalf("host: %+v %v", host, err)
	}
	if host[0].Fields["memory_bytes"] != "2097152" {
		t.Fatalf("memory_bytes = %q", host[0].Fields["memory_bytes"])
	}
	devs, err := cs["blockdev"].Collect(context.Background())
	if err != nil || len(devs) != 1 {
		t.Fatalf("blockdev: %+v %v", devs, err)
	}
	if f := devs[0].Fields; devs[0].ID != "loop7" || f["size_bytes"] != "1048576" || f["type"] != "loop" || f["dev"] != "7:7" {
		t.Fatalf("blockdev fields: %+v", devs[0])
	}
}
