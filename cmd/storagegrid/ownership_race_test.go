//go:build !agentonly

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/blockdev"
	"github.com/storagegrid/storagegrid/internal/hostpath"
	"github.com/storagegrid/storagegrid/internal/looptest"
	"github.com/storagegrid/storagegrid/node"
)

// raceConf is the node both hosts fight over: a gateway, whose only device
// is its var-local, on the grid host's bond0.1001 (gridHost).
const raceConf = "NODE_TYPE = VM_API_Gateway\nBLOCK_DEVICE_VAR_LOCAL = " + killDevice + "\n" +
	"GRID_NETWORK_TARGET = bond0.1001\nGRID_NETWORK_IP = 10.1.0.4\nGRID_NETWORK_MASK = 255.255.255.0\n" +
	"GRID_NETWORK_GATEWAY = 10.1.0.1\n"

// raceSettings: the lease timings shortened, as storagegrid.toml allows,
// so that hundreds of rounds fit in a test run; the protocol is the same.
const raceSettings = "[runtime]\nkind = \"process\"\nstop_timeout = \"5s\"\n" +
	"[runtime.process]\npayload = [\"/bin/sh\", \"-c\", \"exec sleep 600\"]\nsettle = \"50ms\"\n" +
	"[lease]\nclaim_wait = \"100ms\"\nrenew_every = \"200ms\"\nexpire_after = \"2s\"\n"

// raceRounds is how many rounds each race runs: STORAGEGRID_RACE_ROUNDS,
// else 200 (the floor), fewer with -short.
func raceRounds(t *testing.T) int {
	if s := os.Getenv("STORAGEGRID_RACE_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("STORAGEGRID_RACE_ROUNDS=%q", s)
		}
		return n
	}
	if testing.Short() {
		return 20
	}
	return 200
}

// raceHost is one of two sandbox hosts whose /dev/mapper name for the
// node's var-local device leads to the same loop device.
type raceHost struct {
	root hostpath.Root
	uuid string
	rt   *node.Process // read and stop its nodes in this process: quicker than a CLI run
}

type raceWorld struct {
	t     *testing.T
	exe   string
	hosts [2]raceHost
	dev   blockdev.Device
}

func newRaceWorld(t *testing.T) *raceWorld {
	if os.Geteuid() != 0 {
		t.Skip("needs root for loop devices")
	}
	exe, err := exec.LookPath("storagegrid") // the copy of this test binary testscript.Main installs
	if err != nil {
		t.Fatal(err)
	}
	loop := looptest.Attach(t, 2<<20)
	w := &raceWorld{t: t, exe: exe}
	for i := range w.hosts {
		root, id := sandboxHost(t, raceSettings, loop)
		w.hosts[i] = raceHost{root: root, uuid: id, rt: node.NewProcess(node.ProcessConfig{Root: root})}
		t.Cleanup(func() { w.kill(i) })
	}
	if w.dev, err = blockdev.Probe(killDevice, blockdev.Options{Root: w.hosts[0].root}); err != nil {
		t.Fatal(err)
	}
	return w
}

// run runs storagegrid on host i and returns its exit code and output.
func (w *raceWorld) run(i int, args ...string) (int, string) {
	cmd := w.command(i, args...)
	out, err := cmd.CombinedOutput()
	return exitCodeOf(w.t, err), string(out)
}

func (w *raceWorld) command(i int, args ...string) *exec.Cmd {
	return exec.Command(w.exe, append([]string{"--root", string(w.hosts[i].root)}, args...)...)
}

func exitCodeOf(t *testing.T, err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatal(err)
	return -1
}

// kill kills the node on host i if it runs there (as --force node stop).
func (w *raceWorld) kill(i int) {
	w.t.Helper()
	rt := w.hosts[i].rt
	if st, err := rt.State(context.Background(), "DC1-GW1"); err != nil || st == node.NotRunning {
		return
	}
	if err := rt.Stop(context.Background(), "DC1-GW1", node.StopOptions{Timeout: 5 * time.Second, Force: true}); err != nil {
		w.t.Fatalf("host %d: kill the node: %v", i, err)
	}
}

// reset stops the node on both hosts, removes its config from both and
// leaves the device as export (by a third host) or a fresh device leaves
// it.
func (w *raceWorld) reset(exported bool) {
	w.t.Helper()
	for i, h := range w.hosts {
		w.kill(i)
		os.Remove(h.root.Join("/etc/storagegrid/nodes/DC1-GW1.conf"))
	}
	zero := make([]byte, blockdev.RegionSize)
	f, err := os.OpenFile(w.dev.Resolved, os.O_WRONLY, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	_, err = f.WriteAt(zero, w.dev.Size-blockdev.RegionSize)
	f.Close()
	if err != nil {
		w.t.Fatal(err)
	}
	if exported {
		_, err := w.dev.WriteRecord(blockdev.Record{Node: "DC1-GW1", HostUUID: "0b5f4a8e-3c2d-4e1f-9a7b-6c5d4e3f2a1b",
			State: blockdev.Exported, Config: []byte(raceConf)})
		if err != nil {
			w.t.Fatal(err)
		}
	}
}

// both runs one command line per host at the same moment (each given as
// args of storagegrid; a "&&" element chains a second command on that
// host) and returns each host's exit codes and output.
func (w *raceWorld) both(args ...string) (codes [2][]int, outs [2]string) {
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range w.hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			for _, step := range splitSteps(args) {
				code, out := w.run(i, step...)
				codes[i] = append(codes[i], code)
				outs[i] += out
				if code != 0 {
					return
				}
			}
		}()
	}
	close(gate)
	wg.Wait()
	return codes, outs
}

func splitSteps(args []string) [][]string {
	var steps [][]string
	var cur []string
	for _, a := range args {
		if a == "&&" {
			steps, cur = append(steps, cur), nil
			continue
		}
		cur = append(cur, a)
	}
	return append(steps, cur)
}

// owners checks the round's invariants: the record reads, names the node,
// and at most one host has the node configured-and-owned or running; it
// returns the hosts that run it.
func (w *raceWorld) owners(round int, codes [2][]int, outs [2]string) (running []int) {
	w.t.Helper()
	rec, err := w.dev.ReadRecord()
	if err != nil && !errors.Is(err, blockdev.ErrNoRecord) {
		w.t.Fatalf("round %d: the record does not read: %v", round, err)
	}
	for i, h := range w.hosts {
		st, err := h.rt.State(context.Background(), "DC1-GW1")
		if err != nil {
			w.t.Fatalf("round %d: host %d: %v", round, i, err)
		}
		if st != node.NotRunning {
			running = append(running, i)
		}
	}
	if len(running) > 1 {
		w.t.Fatalf("round %d: both hosts run the node (exit codes %v)\nhost 0:\n%s\nhost 1:\n%s", round, codes, outs[0], outs[1])
	}
	if len(running) == 1 && rec.HostUUID != w.hosts[running[0]].uuid {
		w.t.Fatalf("round %d: host %d runs the node but the record names %s (%s)", round, running[0], rec.HostUUID, rec.State)
	}
	return running
}

// TestOwnershipRaces: two hosts (sandbox roots sharing one loop device) run
// the same command at the same moment, round after round: exactly one
// wins, the other is refused with the runbook's ownership lines and exit 5.
func TestOwnershipRaces(t *testing.T) {
	w := newRaceWorld(t)
	rounds := raceRounds(t)
	for _, race := range []struct {
		name     string
		exported bool     // the device holds an exported record (else none)
		preload  bool     // both hosts have the config already (a copied file)
		args     []string // run on both hosts at once
		runs     bool     // the winner ends up running the node
	}{
		{name: "import", exported: true, args: []string{"node", "import", killDevice}},
		{name: "start", preload: true, args: []string{"node", "start", "DC1-GW1"}, runs: true},
		{name: "import-then-start", exported: true, runs: true,
			args: []string{"node", "import", killDevice, "&&", "node", "start", "DC1-GW1"}},
	} {
		t.Run(race.name, func(t *testing.T) {
			w.t = t
			wins, undecided := [2]int{}, 0
			for round := 0; round < rounds; round++ {
				w.reset(race.exported)
				if race.preload {
					for _, h := range w.hosts {
						mustWrite(t, h.root.Join("/etc/storagegrid/nodes/DC1-GW1.conf"), raceConf)
					}
				}
				codes, outs := w.both(race.args...)
				winner, slow := -1, false
				for i := range w.hosts {
					last := codes[i][len(codes[i])-1]
					switch {
					case last == 1 && strings.Contains(outs[i], "too slow to be safe"):
						slow = true // withdrawn: safe, though not decisive
					case last == 0 && len(codes[i]) == len(splitSteps(race.args)):
						if winner >= 0 {
							t.Fatalf("round %d: both hosts succeeded\nhost 0:\n%s\nhost 1:\n%s", round, outs[0], outs[1])
						}
						winner = i
					case last == 5:
						if !strings.Contains(outs[i], "appears to be owned by another host") {
							t.Fatalf("round %d: host %d refused without the ownership lines:\n%s", round, i, outs[i])
						}
					default:
						t.Fatalf("round %d: host %d exited %v:\n%s", round, i, codes[i], outs[i])
					}
				}
				if winner < 0 && slow {
					undecided++
					w.owners(round, codes, outs)
					continue
				}
				if winner < 0 {
					t.Fatalf("round %d: neither host won\nhost 0:\n%s\nhost 1:\n%s", round, outs[0], outs[1])
				}
				wins[winner]++
				running := w.owners(round, codes, outs)
				if race.runs && (len(running) != 1 || running[0] != winner) {
					t.Fatalf("round %d: host %d won but the hosts running it are %v", round, winner, running)
				}
			}
			t.Logf("%d rounds: host 0 won %d, host 1 won %d, %d undecided (a claim too slow, withdrawn)",
				rounds, wins[0], wins[1], undecided)
			if undecided > rounds/10 {
				t.Fatalf("%d of %d rounds undecided: the machine is too slow for the test's lease", undecided, rounds)
			}
		})
	}
}

// listers runs node list on both hosts (which finishes what a killed
// command left, Tidy) and checks that every host listing the node owns its
// record: nobody lists an exported node.
func (w *raceWorld) listers(round int) {
	w.t.Helper()
	rec, err := w.dev.ReadRecord()
	if err != nil && !errors.Is(err, blockdev.ErrNoRecord) {
		w.t.Fatalf("round %d: the record does not read: %v", round, err)
	}
	for i, h := range w.hosts {
		code, out := w.run(i, "node", "list")
		if code != 0 {
			w.t.Fatalf("round %d: host %d: node list: exit %d: %s", round, i, code, out)
		}
		listed := regexp.MustCompile(`(?m)^DC1-GW1 `).MatchString(out) // a row, not a warning naming it
		// A device without a record holds a node never started or
		// exported: whoever has its config may list it.
		if listed && err == nil && (rec.State == blockdev.Exported || rec.HostUUID != h.uuid) {
			w.t.Fatalf("round %d: host %d lists the node, but the record says %s by %s\n%s", round, i, rec.State, rec.HostUUID, out)
		}
	}
}

// step runs one command on host i, killing it at a random moment within
// kill (0: not); the exit code is -9 when the kill landed.
func (w *raceWorld) step(i int, kill time.Duration, args ...string) (int, string) {
	cmd := w.command(i, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	if kill > 0 {
		time.Sleep(time.Duration(rand.Int64N(int64(kill))))
		cmd.Process.Signal(syscall.SIGKILL)
	}
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -9, out.String()
	}
	return exitCodeOf(w.t, err), out.String()
}

// TestOwnershipSurvivesKill9: both hosts import and start the same
// exported node while one of them is killed (SIGKILL) at a random moment;
// then whoever runs it stops and exports it while the other keeps trying
// to import it, and the exporter may be killed too. After each phase the
// record reads, at most one host runs the node, and only its owner lists
// it.
func TestOwnershipSurvivesKill9(t *testing.T) {
	w := newRaceWorld(t)
	rounds := max(raceRounds(t)/2, 1) // each round is two phases
	outcomes := map[string]int{}
	for round := 0; round < rounds; round++ {
		w.reset(true)
		victim := rand.IntN(2)
		var wg sync.WaitGroup
		var codes [2][]int
		var outs [2]string
		for i := range w.hosts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, args := range [][]string{{"node", "import", killDevice}, {"node", "start", "DC1-GW1"}} {
					var kill time.Duration
					if i == victim && rand.IntN(2) == 0 {
						kill = 250 * time.Millisecond // import and start each wait claim_wait (100ms)
					}
					code, out := w.step(i, kill, args...)
					codes[i], outs[i] = append(codes[i], code), outs[i]+out
					if code != 0 {
						return
					}
				}
			}()
		}
		wg.Wait()
		running := w.owners(round, codes, outs)
		w.listers(round)
		outcomes[fmt.Sprintf("%d running", len(running))]++
		if len(running) != 1 {
			continue
		}

		// The runner hands the node over; the other host tries to take it
		// meanwhile.
		from := running[0]
		done := make(chan struct{})
		go func() {
			defer close(done)
			for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
				if code, _ := w.run(1-from, "node", "import", killDevice); code == 0 {
					return
				}
			}
		}()
		if code, out := w.run(from, "node", "stop", "DC1-GW1"); code != 0 {
			t.Fatalf("round %d: stop: exit %d: %s", round, code, out)
		}
		var kill time.Duration
		if rand.IntN(2) == 0 {
			kill = 40 * time.Millisecond // an export takes about 25ms
		}
		code, _ := w.step(from, kill, "node", "export", "DC1-GW1")
		<-done
		w.owners(round, codes, outs)
		w.listers(round)
		outcomes[fmt.Sprintf("export exit %d", code)]++
	}
	t.Logf("%d rounds: %v", rounds, outcomes)
}

// TestMigrateSurvivesKill9: node migrate from host 0 to host 1 is killed
// (SIGKILL) at a random moment: the migrating process alone (the target's
// command it started goes on), it and the target's command together (the
// source host crashed), or the target's command alone (the target host
// crashed). After each kill the record reads, at most one host runs the
// node and only its owner lists it; then the same command again finishes
// the move: the node runs on host 1 only and no journal is left anywhere.
func TestMigrateSurvivesKill9(t *testing.T) {
	w := newRaceWorld(t)
	rounds := max(raceRounds(t)/8, 1) // a round is two migrations of half a second
	migrate := func() *exec.Cmd {
		cmd := w.command(0, "node", "migrate", "DC1-GW1", "--to", "host1", "--no-model-check",
			"--target-cmd", node.JoinCommand([]string{w.exe, "--root", string(w.hosts[1].root)}))
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		return cmd
	}
	place := func(running bool) {
		w.reset(false)
		mustWrite(t, w.hosts[0].root.Join("/etc/storagegrid/nodes/DC1-GW1.conf"), raceConf)
		for _, h := range w.hosts {
			os.RemoveAll(h.root.Join(node.MigrationDir))
		}
		if running {
			if code, out := w.run(0, "node", "start", "DC1-GW1"); code != 0 {
				t.Fatalf("start on host 0: exit %d: %s", code, out)
			}
		}
	}
	// Migrations run to the end tell how long one takes.
	took := time.Hour
	for i := 0; i < 2; i++ {
		place(true)
		began := time.Now()
		if out, err := migrate().CombinedOutput(); err != nil {
			t.Fatalf("migrate: %v: %s", err, out)
		}
		took = min(took, time.Since(began))
	}

	outcomes := map[string]int{}
	modes := []string{"source", "source+target", "target"}
	for round := 0; round < rounds; round++ {
		wasRunning := rand.IntN(4) != 0
		place(wasRunning)
		mode := modes[rand.IntN(len(modes))]
		cmd := migrate()
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rand.Int64N(int64(took) * 11 / 10)))
		pid := cmd.Process.Pid
		switch mode {
		case "source":
			syscall.Kill(pid, syscall.SIGKILL)
		case "source+target":
			syscall.Kill(-pid, syscall.SIGKILL)
		case "target":
			for _, child := range childrenOf(pid) {
				syscall.Kill(child, syscall.SIGKILL)
			}
		}
		cmd.Wait()
		waitGroupGone(t, pid) // the target's command, orphaned, may still be at work
		codes := [2][]int{{cmd.ProcessState.ExitCode()}}
		w.owners(round, codes, [2]string{out.String()})
		w.listers(round)
		journal := fileExists(w.hosts[0].root.Join(node.MigrationDir + "/DC1-GW1.json"))

		var rerun []byte
		var err error
		moved := !journal && !fileExists(w.hosts[0].root.Join("/etc/storagegrid/nodes/DC1-GW1.conf")) &&
			fileExists(w.hosts[1].root.Join("/etc/storagegrid/nodes/DC1-GW1.conf"))
		switch {
		case cmd.ProcessState.ExitCode() == 0:
			mode, journal = "none (finished first)", false
		case moved:
			// Killed after the move was done and its journal dropped:
			// there is nothing to run again (it would say unknown node).
			mode = mode + " after the end"
		default:
			rerun, err = migrate().CombinedOutput()
		}
		// The rerun finishes the move, or, when a step fails (a claim
		// withdrawn as too slow on a loaded machine, say), rolls it back
		// as a first run would: both end with no journal anywhere.
		rolledBack := err != nil && bytes.Contains(rerun, []byte("Restored: node DC1-GW1 is configured"))
		if err != nil && !rolledBack {
			t.Fatalf("round %d (%s kill): the same command again: %v\nfirst:\n%s\nagain:\n%s", round, mode, err, out.String(), rerun)
		}
		if rolledBack {
			running := w.owners(round, codes, [2]string{string(rerun)})
			if wasRunning != (len(running) == 1 && running[0] == 0) || len(running) > 1 {
				t.Fatalf("round %d: rolled back, the node runs on %v (ran before: %v)\n%s", round, running, wasRunning, rerun)
			}
			w.listers(round)
			for i, h := range w.hosts {
				if fileExists(h.root.Join(node.MigrationDir + "/DC1-GW1.json")) {
					t.Fatalf("round %d: host %d keeps a migration journal after the rollback\n%s", round, i, rerun)
				}
			}
			outcomes[mode+": rolled back by the rerun"]++
			continue
		}
		running := w.owners(round, codes, [2]string{string(rerun)})
		if len(running) != 1 || running[0] != 1 {
			t.Fatalf("round %d: after the rerun the node runs on %v\n%s", round, running, rerun)
		}
		w.listers(round)
		for i, h := range w.hosts {
			if fileExists(h.root.Join(node.MigrationDir + "/DC1-GW1.json")) {
				t.Fatalf("round %d: host %d keeps a migration journal after the move finished\n%s", round, i, rerun)
			}
		}
		if fileExists(w.hosts[0].root.Join("/etc/storagegrid/nodes/DC1-GW1.conf")) {
			t.Fatalf("round %d: host 0 still has the node's config\n%s", round, rerun)
		}
		outcome := mode + ": fresh rerun"
		if journal {
			outcome = mode + ": resumed"
			if !bytes.Contains(rerun, []byte("Resuming the migration of node DC1-GW1 to host1")) {
				t.Fatalf("round %d: a journal was left but the rerun did not resume:\n%s", round, rerun)
			}
		}
		outcomes[outcome]++
	}
	t.Logf("migrate takes %s; %d rounds: %v", took, rounds, outcomes)
	if outcomes["source: resumed"]+outcomes["source+target: resumed"] == 0 {
		t.Fatalf("no kill left a migration to resume: %v", outcomes)
	}
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	var kids []int
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		n, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + p.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so after the last ')'.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			kids = append(kids, n)
		}
	}
	return kids
}

// waitGroupGone waits until no process of process group pgid is left.
func waitGroupGone(t *testing.T, pgid int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); syscall.Kill(-pgid, 0) == nil; {
		if time.Now().After(deadline) {
			t.Fatalf("process group %d still runs after 30s", pgid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
