//go:build !agentonly

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/model"
	"github.com/storagegrid/storagegrid/wire"
)

// patchFleet is a sandbox fleet for `fleet patch`: a model server on
// 127.0.0.1 and three hosts, each a --root sandbox with a storage node
// of site DC1 (process runtime) and an agent reporting to the server.
// A host's boot id is the file /proc/sys/kernel/random/boot_id under its
// root; the "patch" writes a new one and counts itself.
type patchFleet struct {
	t      *testing.T
	exe    string
	dir    string
	server string
	hosts  []string
}

func newPatchFleet(t *testing.T, n int) *patchFleet {
	exe, err := exec.LookPath("storagegrid")
	if err != nil {
		t.Fatal(err)
	}
	f := &patchFleet{t: t, exe: exe, dir: t.TempDir()}
	// Registered first, run last: the servers' and agents' logs of a
	// failed test, before the temporary directory goes.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		logs, _ := filepath.Glob(filepath.Join(f.dir, "*.log"))
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			t.Logf("%s (its last 4 KiB):\n%s", filepath.Base(l), b[max(0, len(b)-4096):])
		}
	})
	for i := range n {
		f.hosts = append(f.hosts, fmt.Sprintf("h%d", i+1))
	}
	// Tokens of this fleet alone, so that a mix-up is refused.
	fleetID := strconv.FormatUint(rand.Uint64(), 36)
	token := func(h string) string { return "token-of-" + h + "-" + fleetID + "-0123456789" }
	var tokens strings.Builder
	for _, h := range f.hosts {
		fmt.Fprintf(&tokens, "%s %s\n", h, token(h))
	}
	mustWrite(t, filepath.Join(f.dir, "tokens"), tokens.String())
	os.Chmod(filepath.Join(f.dir, "tokens"), 0o600)
	// The model server takes any free port and says which: a port
	// picked here and closed could be another fleet's too, and its
	// agents, of the same host names, would report to both servers.
	os.MkdirAll(filepath.Join(f.dir, "model"), 0o755)
	f.daemon("model", f.exe, "--root", filepath.Join(f.dir, "model"), "model", "serve", "--listen", "127.0.0.1:0",
		"--db", filepath.Join(f.dir, "model.db"), "--tokens", filepath.Join(f.dir, "tokens"))
	f.server = "http://" + f.listening()
	for i, h := range f.hosts {
		r := f.root(h)
		mustWrite(t, filepath.Join(r, "etc/storagegrid/agent-token"), token(h)+"\n")
		os.Chmod(filepath.Join(r, "etc/storagegrid/agent-token"), 0o600)
		mustWrite(t, filepath.Join(r, "etc/storagegrid/storagegrid.toml"), fmt.Sprintf(`[runtime]
kind = "process"
stop_timeout = "10s"
[devices]
allow_files = true
[agent]
host_id = %q
server = %q
token_file = "/etc/storagegrid/agent-token"
interval = "1s"
metrics_listen = ""
spool_dir = "/var/lib/storagegrid/agent"
`, h, f.server))
		node := fmt.Sprintf("DC1-S%d", i+1)
		dev := "/dev/mapper/sgws-" + strings.ToLower(node)
		for _, d := range []string{dev + "-var-local", dev + "-rangedb-0"} {
			mustWrite(t, filepath.Join(r, d), "")
			os.Truncate(filepath.Join(r, d), 1<<30)
		}
		mustWrite(t, filepath.Join(r, "etc/storagegrid/nodes", node+".conf"), fmt.Sprintf(
			"NODE_TYPE = VM_Storage_Node\nBLOCK_DEVICE_VAR_LOCAL = %s-var-local\nBLOCK_DEVICE_RANGEDB_00 = %s-rangedb-0\n"+
				"GRID_NETWORK_TARGET = lo\nGRID_NETWORK_IP = 10.1.0.%d\nGRID_NETWORK_MASK = 255.255.255.0\nGRID_NETWORK_GATEWAY = 10.1.0.1\n", dev, dev, 11+i))
		f.setBootID(h, fmt.Sprintf("00000000-0000-4000-8000-00000000000%d", i))
	}
	f.run("model", "hosts", "--server", f.server, "--wait", "10s")
	for _, h := range f.hosts {
		f.run("--root", f.root(h), "node", "start", "all")
		t.Cleanup(func() { exec.Command(f.exe, "--root", f.root(h), "--force", "node", "stop", "all").Run() })
		f.daemon(h+"-agent", f.exe, "--root", f.root(h), "agent", "run")
	}
	f.waitFor("every node Running and every boot id reported", func(st model.State) bool { return f.count(st, "Running") == n && len(f.bootIDs(st)) == n })
	return f
}

func (f *patchFleet) root(h string) string { return filepath.Join(f.dir, h) }

// listening waits for the model server's first line and returns the
// address it names.
func (f *patchFleet) listening() string {
	f.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		b, _ := os.ReadFile(filepath.Join(f.dir, "model.log"))
		if _, rest, ok := bytes.Cut(b, []byte("Model server listening on ")); ok {
			if addr, _, ok := bytes.Cut(rest, []byte(" ")); ok {
				return string(addr)
			}
		}
	}
	b, _ := os.ReadFile(filepath.Join(f.dir, "model.log"))
	f.t.Fatalf("the model server never said where it listens:\n%s", b)
	return ""
}

func (f *patchFleet) setBootID(h, id string) {
	mustWrite(f.t, filepath.Join(f.root(h), "proc/sys/kernel/random/boot_id"), id+"\n")
}

// daemon starts a background process, stopped at the end of the test.
func (f *patchFleet) daemon(name string, argv ...string) {
	log, err := os.Create(filepath.Join(f.dir, name+".log"))
	if err != nil {
		f.t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		log.Close()
	})
}

// run runs storagegrid and fails the test if it fails.
func (f *patchFleet) run(args ...string) []byte {
	f.t.Helper()
	out, err := exec.Command(f.exe, args...).CombinedOutput()
	if err != nil {
		model, _ := os.ReadFile(filepath.Join(f.dir, "model.log"))
		f.t.Fatalf("storagegrid %s: %v\n%s\nmodel server log:\n%s", strings.Join(args, " "), err, out, model)
	}
	return out
}

func (f *patchFleet) state() model.State {
	f.t.Helper()
	var st model.State
	if err := json.Unmarshal(f.run("-o", "json", "model", "state", "--server", f.server), &st); err != nil {
		f.t.Fatal(err)
	}
	return st
}

func (f *patchFleet) waitFor(what string, ok func(model.State) bool) {
	f.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if ok(f.state()) {
			return
		}
	}
	f.t.Fatalf("never: %s", what)
}

func (f *patchFleet) count(st model.State, runState string) int {
	n := 0
	for _, e := range st.Entities {
		if e.Kind == wire.KindNode && e.Fields[wire.FieldRunState] == runState {
			n++
		}
	}
	return n
}

func (f *patchFleet) bootIDs(st model.State) map[string]string {
	out := map[string]string{}
	for _, e := range st.Entities {
		if e.Kind == wire.KindHost && e.Fields[wire.FieldBootID] != "" {
			out[e.ID] = e.Fields[wire.FieldBootID]
		}
	}
	return out
}

// patchCmd is `fleet patch` of plan, its "patch" writing a new boot id
// and appending the host to patches.
func (f *patchFleet) patchCmd(plan string) *exec.Cmd {
	script := fmt.Sprintf(`echo {host} >> %s/patches && cat /proc/sys/kernel/random/uuid > %s/{host}/proc/sys/kernel/random/boot_id`, f.dir, f.dir)
	return exec.Command(f.exe, "-o", "ndjson", "fleet", "patch", "--plan", plan, "--server", f.server, "--run", script,
		"--run-cmd", "sh -c", "--target-cmd", f.exe+" --root "+f.dir+"/{host}", "--resume-wait", "5s", "--step-timeout", "60s")
}

// patches counts the patch command's runs per host, and clears them.
func (f *patchFleet) patches() map[string]int {
	path := filepath.Join(f.dir, "patches")
	b, _ := os.ReadFile(path)
	os.Remove(path)
	out := map[string]int{}
	for _, h := range strings.Fields(string(b)) {
		out[h]++
	}
	return out
}

// TestFleetPatch patches two sandbox fleets of three hosts (a storage
// node each, site DC1: one may be down at a time) end to end, 25 rounds
// each (STORAGEGRID_TEST_FLEET_ROUNDS: in all), side by side: the first
// round runs through, the others are killed with SIGKILL at random
// moments (up to twice) and resumed. Every host is patched exactly once
// per plan, its nodes run again, and no moment of the model's history
// has more than one of the three storage nodes down.
func TestFleetPatch(t *testing.T) {
	rounds := 50
	if s := os.Getenv("STORAGEGRID_TEST_FLEET_ROUNDS"); s != "" {
		rounds, _ = strconv.Atoi(s)
	}
	for _, name := range []string{"a", "b"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newPatchFleet(t, 3)
			patchRounds(t, f, rounds/2)
			if name == "a" {
				patchStopsWhenTheFleetChanged(t, f)
			}
		})
	}
}

// patchStopsWhenTheFleetChanged: a node stopped by hand after the plan
// makes the first host's ok-to-stop fail; the run stops there, having
// changed nothing, and says how to resume, which then goes through.
func patchStopsWhenTheFleetChanged(t *testing.T, f *patchFleet) {
	plan := filepath.Join(f.dir, "plan-changed.json")
	f.run("fleet", "plan-patch", "--all", "--server", f.server, "--out", plan)
	dry, err := exec.Command(f.exe, "fleet", "patch", "--plan", plan, "--run", "true", "--dry-run", "--server", f.server).CombinedOutput()
	if err != nil || !strings.Contains(string(dry), "[h2] patch: dry-run") {
		t.Fatalf("dry run: %v\n%s", err, dry)
	}
	f.run("--root", f.root("h3"), "node", "stop", "DC1-S3")
	f.waitFor("DC1-S3 down in the model", func(st model.State) bool { return f.count(st, "Running") == 2 })
	cmd := f.patchCmd(plan)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "host h1, step ok-to-stop: the fleet changed since the plan: stopping h1 is not safe now: others-in-service: node DC1-S3 on host h3 is already Not-Running") ||
		!strings.Contains(string(out), "to resume: ") {
		t.Fatalf("fleet patch with DC1-S3 down: %v\n%s", err, out)
	}
	if p := f.patches(); len(p) != 0 || f.count(f.state(), "Running") != 2 {
		t.Fatalf("patched %v despite the refusal", p)
	}
	f.run("--root", f.root("h3"), "node", "start", "DC1-S3")
	f.waitFor("DC1-S3 back", func(st model.State) bool { return f.count(st, "Running") == 3 })
	if out, err := f.patchCmd(plan).CombinedOutput(); err != nil {
		t.Fatalf("resumed: %v\n%s", err, out)
	}
	if p := f.patches(); len(p) != 3 {
		t.Fatalf("resumed run patched %v", p)
	}
}

func patchRounds(t *testing.T, f *patchFleet, rounds int) {
	since := time.Now().UTC()
	kills := 0
	for round := 0; round < rounds; round++ {
		before := f.bootIDs(f.state())
		plan := filepath.Join(f.dir, fmt.Sprintf("plan-%d.json", round))
		f.run("fleet", "plan-patch", "--all", "--server", f.server, "--out", plan)
		if round == 0 {
			// The first run goes through; the others are killed at a
			// random moment, perhaps twice, and then finished.
			out, err := f.patchCmd(plan).CombinedOutput()
			if err != nil {
				t.Fatalf("fleet patch: %v\n%s", err, out)
			}
			events := 0
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				var e struct{ Host, Step, State string }
				if json.Unmarshal(sc.Bytes(), &e) != nil {
					t.Fatalf("not an event: %s", sc.Text())
				}
				events++
			}
			if events < 3*2*6 {
				t.Fatalf("%d events:\n%s", events, out)
			}
		} else {
			for attempt := 0; ; attempt++ {
				cmd := f.patchCmd(plan)
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				var err error
				if attempt < 2 {
					select {
					case err = <-done:
					case <-time.After(time.Duration(rand.IntN(4000)) * time.Millisecond):
						cmd.Process.Kill()
						<-done
						kills++
						continue
					}
				} else {
					err = <-done
				}
				if err != nil {
					t.Fatalf("round %d: fleet patch after %d kill(s): %v\n%s", round, attempt, err, out.String())
				}
				break
			}
		}
		if p := f.patches(); len(p) != 3 || slices.ContainsFunc(f.hosts, func(h string) bool { return p[h] != 1 }) {
			t.Fatalf("round %d: patches run %v, want each host once", round, p)
		}
		after := f.bootIDs(f.state())
		for _, h := range f.hosts {
			if after[h] == before[h] {
				t.Fatalf("round %d: %s still has boot id %s", round, h, before[h])
			}
		}
		if st := f.state(); f.count(st, "Running") != 3 {
			t.Fatalf("round %d: not every node Running: %+v", round, st.Entities)
		}
	}
	t.Logf("%d rounds, %d kills", rounds, kills)
	if worst, stops := f.mostDown(since); worst > 1 || stops != 3*rounds {
		t.Fatalf("the history of %d rounds: %d stops, at worst %d storage nodes down at once", rounds, stops, worst)
	}
}

// mostDown replays the model's history of run states since a time: the
// most nodes down at one moment, and how many times one went down.
func (f *patchFleet) mostDown(since time.Time) (worst, stops int) {
	f.t.Helper()
	var changes []model.Change
	if err := json.Unmarshal(f.run("-o", "json", "model", "changes", "--server", f.server, "--kind", "node",
		"--since", since.Format(time.RFC3339Nano)), &changes); err != nil {
		f.t.Fatal(err)
	}
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].Time.Before(changes[j].Time) })
	down := map[string]bool{}
	for _, c := range changes {
		for _, fc := range c.Fields {
			if fc.Field == wire.FieldRunState && fc.To != nil {
				down[c.ID] = *fc.To != "Running"
				if *fc.To != "Running" && fc.From != nil && *fc.From == "Running" {
					stops++
				}
			}
		}
		n := 0
		for _, d := range down {
			if d {
				n++
			}
		}
		worst = max(worst, n)
	}
	return worst, stops
}

// TestFleetPatchWaves: five storage nodes of one site may lose two, so a
// plan of --max-parallel 2 has waves of two hosts, patched together;
// never more than two down, and two at some moment. A kill in the middle
// of a wave resumes it.
func TestFleetPatchWaves(t *testing.T) {
	f := newPatchFleet(t, 5)
	since := time.Now().UTC()
	plan := filepath.Join(f.dir, "plan.json")
	out := f.run("fleet", "plan-patch", "--all", "--max-parallel", "2", "--server", f.server, "--out", plan)
	if !strings.Contains(string(out), "Patch plan: 5 host(s) in 3 wave(s), at most 2 down at once") {
		t.Fatalf("plan:\n%s", out)
	}
	cmd := f.patchCmd(plan)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Killed once the first wave's second host is patched.
	for deadline := time.Now().Add(60 * time.Second); !strings.Contains(buf.String(), `"host":"h2","step":"patch","state":"done"`); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("h2 never patched:\n%s", buf.String())
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if out, err := f.patchCmd(plan).CombinedOutput(); err != nil {
		t.Fatalf("resumed: %v\n%s", err, out)
	}
	if p := f.patches(); len(p) != 5 || slices.ContainsFunc(f.hosts, func(h string) bool { return p[h] != 1 }) {
		t.Fatalf("patches %v, want each host once", p)
	}
	if worst, stops := f.mostDown(since); worst != 2 || stops != 5 {
		t.Fatalf("%d stops, at worst %d down at once; want 5 and 2", stops, worst)
	}
}
