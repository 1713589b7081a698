package node

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/storagegrid/storagegrid/internal/fail"
)

var bg = context.Background()

func TestStartStatusStop(t *testing.T) {
	f := newFixture(t, "ok", 100*time.Millisecond)
	f.addNode("DC1-S3")
	if st := f.state("DC1-S3"); st != NotRunning {
		t.Fatalf("never-started node is %s", st)
	}
	out, err := f.mgr.Start(bg, "DC1-S3", func() {})
	if err != nil || out != Started {
		t.Fatalf("Start = %s, %v", out, err)
	}
	if st := f.state("DC1-S3"); st != Running {
		t.Fatalf("after start: %s", st)
	}
	rec := f.record("DC1-S3")
	// Detached: the supervisor leads its own session, so the CLI's
	// terminal and exit do not reach it; the payload has its own group.
	if sid, _ := unix.Getsid(rec.Supervisor.PID); sid != rec.Supervisor.PID {
		t.Errorf("supervisor session %d, want its own (%d)", sid, rec.Supervisor.PID)
	}
	if pgid, _ := syscall.Getpgid(rec.Payload.PID); pgid != rec.Payload.PID {
		t.Errorf("payload group %d, want its own (%d)", pgid, rec.Payload.PID)
	}
	announced := false
	out, err = f.mgr.Stop(bg, "DC1-S3", StopOptions{Timeout: 5 * time.Second}, func() { announced = true })
	if err != nil || out != Stopped || !announced {
		t.Fatalf("Stop = %s, %v (announced %t)", out, err, announced)
	}
	rec = f.record("DC1-S3")
	if f.state("DC1-S3") != NotRunning || rec.Supervisor.alive() || rec.Payload.alive() {
		t.Fatalf("after stop: %s, supervisor alive %t, payload alive %t",
			f.state("DC1-S3"), rec.Supervisor.alive(), rec.Payload.alive())
	}
	if !rec.Clean || rec.Killed || rec.Exit != "exit status 0" {
		t.Errorf("record after a clean stop: %+v", rec)
	}
	out, err = f.mgr.Stop(bg, "DC1-S3", StopOptions{Timeout: time.Second}, func() { t.Error("announced a no-op stop") })
	if err != nil || out != WasNotRunning {
		t.Errorf("second Stop = %s, %v", out, err)
	}
}

func TestStartTwiceIsANoOp(t *testing.T) {
	f := newFixture(t, "ok", 50*time.Millisecond)
	f.addNode("DC1-S1")
	if _, err := f.mgr.Start(bg, "DC1-S1", func() {}); err != nil {
		t.Fatal(err)
	}
	first := f.record("DC1-S1").Supervisor
	out, err := f.mgr.Start(bg, "DC1-S1", func() { t.Error("announced a start of a running node") })
	if err != nil || out != AlreadyRunning || f.record("DC1-S1").Supervisor != first {
		t.Errorf("second Start = %s, %v; supervisor %v -> %v", out, err, first, f.record("DC1-S1").Supervisor)
	}
}

func TestPayloadExitingAtOnce(t *testing.T) {
	f := newFixture(t, "exit3", 2*time.Second)
	f.addNode("DC1-GW1")
	_, err := f.mgr.Start(bg, "DC1-GW1", func() {})
	if !errors.Is(err, ErrExitedAtOnce) || !strings.Contains(err.Error(), "exit status 3") ||
		!strings.Contains(err.Error(), "/var/log/storagegrid/nodes/DC1-GW1.log") {
		t.Fatalf("Start = %v", err)
	}
	if fail.KindOf(err) != fail.Failed {
		t.Errorf("kind %v, want Failed (exit 1)", fail.KindOf(err))
	}
	if st := f.state("DC1-GW1"); st != NotRunning {
		t.Errorf("state %s", st)
	}
	log, _ := os.ReadFile(f.root.Join(LogDir + "/DC1-GW1.log"))
	if !strings.Contains(string(log), "payload ended: exit status 3") {
		t.Errorf("log lacks the exit:\n%s", log)
	}
}

func TestStopTimeoutKills(t *testing.T) {
	f := newFixture(t, "stubborn", 50*time.Millisecond)
	f.addNode("DC1-S2")
	if _, err := f.mgr.Start(bg, "DC1-S2", func() {}); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	_, err := f.mgr.Stop(bg, "DC1-S2", StopOptions{Timeout: 300 * time.Millisecond}, func() {})
	if !errors.Is(err, ErrStopTimeout) || !strings.Contains(err.Error(), "within 300ms and was killed") {
		t.Fatalf("Stop = %v", err)
	}
	if waited := time.Since(began); waited < 300*time.Millisecond {
		t.Errorf("killed after %s, before the timeout", waited)
	}
	rec := f.record("DC1-S2")
	if rec.Payload.alive() || !rec.Killed || rec.Clean || f.state("DC1-S2") != NotRunning {
		t.Errorf("after timeout: payload alive %t, record %+v", rec.Payload.alive(), rec)
	}
}

func TestForceStopKillsAtOnce(t *testing.T) {
	f := newFixture(t, "stubborn", 50*time.Millisecond)
	f.addNode("DC1-S2")
	if _, err := f.mgr.Start(bg, "DC1-S2", func() {}); err != nil {
		t.Fatal(err)
	}
	out, err := f.mgr.Stop(bg, "DC1-S2", StopOptions{Timeout: time.Hour, Force: true}, func() {})
	if err != nil || out != Killed {
		t.Fatalf("forced Stop = %s, %v", out, err)
	}
	if rec := f.record("DC1-S2"); rec.Payload.alive() || !rec.Killed {
		t.Errorf("record %+v", rec)
	}
}

func TestOrphanedNode(t *testing.T) {
	f := newFixture(t, "ok", 50*time.Millisecond)
	f.addNode("DC1-ARC1")
	if _, err := f.mgr.Start(bg, "DC1-ARC1", func() {}); err != nil {
		t.Fatal(err)
	}
	rec := f.record("DC1-ARC1")
	if err := syscall.Kill(rec.Supervisor.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	f.waitState("DC1-ARC1", Orphaned)
	if !rec.Payload.alive() {
		t.Fatal("payload died with its supervisor")
	}
	_, err := f.mgr.Start(bg, "DC1-ARC1", func() { t.Error("announced the start of an orphan") })
	if !errors.Is(err, ErrOrphaned) || fail.KindOf(err) != fail.Refused {
		t.Fatalf("Start of an orphan = %v", err)
	}
	if err := f.rt.Start(bg, "DC1-ARC1"); !errors.Is(err, ErrOrphaned) {
		t.Fatalf("runtime Start of an orphan = %v", err)
	}
	out, err := f.mgr.Stop(bg, "DC1-ARC1", StopOptions{Timeout: 5 * time.Second}, func() {})
	if err != nil || out != Stopped {
		t.Fatalf("Stop of an orphan = %s, %v", out, err)
	}
	if rec.Payload.alive() || f.state("DC1-ARC1") != NotRunning || !f.record("DC1-ARC1").Clean {
		t.Errorf("after stopping the orphan: alive %t, %s, %+v", rec.Payload.alive(), f.state("DC1-ARC1"), f.record("DC1-ARC1"))
	}
}

func TestPIDReuseDoesNotFoolStatus(t *testing.T) {
	f := newFixture(t, "ok", time.Second)
	self, err := procOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	write := func(sup, pay proc) {
		rec := runRecord{Node: "DC1-S1", Phase: phaseRunning, Supervisor: sup, Payload: pay}
		if err := writeJSON(statePath(f.root, "DC1-S1"), rec); err != nil {
			t.Fatal(err)
		}
	}
	write(self, self)
	if st := f.state("DC1-S1"); st != Running {
		t.Fatalf("live supervisor and payload: %s", st)
	}
	// Same PIDs, other start times: the recorded processes have gone and
	// something else got their PIDs.
	reused := proc{PID: self.PID, Start: self.Start + 1}
	write(reused, reused)
	if st := f.state("DC1-S1"); st != NotRunning {
		t.Errorf("reused PIDs: %s, want Not-Running", st)
	}
	write(reused, self)
	if st := f.state("DC1-S1"); st != Orphaned {
		t.Errorf("reused supervisor PID, live payload: %s, want Orphaned", st)
	}
	zombie := zombieProc(t)
	write(zombie, zombie)
	if st := f.state("DC1-S1"); st != NotRunning {
		t.Errorf("zombie processes: %s, want Not-Running", st)
	}
}

// zombieProc starts a child that exits and is not reaped until the test
// ends.
func zombieProc(t *testing.T) proc {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Wait() })
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, state, err := readStat(cmd.Process.Pid)
		if err == nil && state == 'Z' {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("child %d did not become a zombie (state %c, %v)", cmd.Process.Pid, state, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	p, err := procOf(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadStatHandlesOddCommandNames(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "a b) (c")
	if err := os.Symlink("/bin/sleep", exe); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	stat, _ := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/stat")
	if !strings.Contains(string(stat), "(a b) (c)") {
		t.Fatalf("stat %q does not show the odd name", stat)
	}
	p, err := procOf(cmd.Process.Pid)
	want, _ := strconv.ParseUint(strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))[19], 10, 64)
	if err != nil || !p.alive() || p.Start != want || want == 0 {
		t.Fatalf("procOf = %+v, %v; want start %d", p, err, want)
	}
}

func TestConcurrentStartsStartOnce(t *testing.T) {
	f := newFixture(t, "ok", 300*time.Millisecond)
	f.addNode("DC1-S3")
	outcomes := make(chan Outcome, 2)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A manager of its own, as a second CLI process would have.
			out, err := NewManager(f.root, f.rt).Start(bg, "DC1-S3", func() {})
			if err != nil {
				t.Error(err)
			}
			outcomes <- out
		}()
	}
	wg.Wait()
	close(outcomes)
	got := map[Outcome]int{}
	for o := range outcomes {
		got[o]++
	}
	if got[Started] != 1 || got[AlreadyRunning] != 1 {
		t.Errorf("outcomes %v, want one started and one already-running", got)
	}
	if n := countSupervisors(t, f); n != 1 {
		t.Errorf("%d supervisors running, want 1", n)
	}
}

// countSupervisors counts this fixture's live supervisor processes.
func countSupervisors(t *testing.T, f *fixture) int {
	n := 0
	for _, p := range processesUnder(f.root) {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(p.PID) + "/cmdline")
		if strings.Contains(string(b), "\x00test-supervise\x00") {
			n++
		}
	}
	return n
}

func TestStopDuringStartWaits(t *testing.T) {
	// A long settle keeps the start (and its lock) going long enough to
	// see it on a loaded machine.
	f := newFixture(t, "ok", 3*time.Second)
	f.addNode("DC1-S3")
	startDone := make(chan time.Time, 1)
	go func() {
		if _, err := f.mgr.Start(bg, "DC1-S3", func() {}); err != nil {
			t.Error(err)
		}
		startDone <- time.Now()
	}()
	f.waitState("DC1-S3", Starting)
	out, err := NewManager(f.root, f.rt).Stop(bg, "DC1-S3", StopOptions{Timeout: 5 * time.Second}, func() {})
	stopDone := time.Now()
	if err != nil || out != Stopped {
		t.Fatalf("Stop during start = %s, %v; want it to wait and then stop", out, err)
	}
	if started := <-startDone; !started.Before(stopDone) {
		t.Errorf("stop finished before start did")
	}
	if st := f.state("DC1-S3"); st != NotRunning {
		t.Errorf("final state %s", st)
	}
}

func TestLifecycleRejectsBadNames(t *testing.T) {
	f := newFixture(t, "ok", time.Second)
	f.addNode("DC1-S1")
	for _, name := range []string{"../DC1-S1", "DC1-S9"} {
		if _, err := f.mgr.Start(bg, name, func() {}); fail.KindOf(err) != fail.Usage {
			t.Errorf("Start(%q) = %v, want a usage error", name, err)
		}
		if _, err := f.mgr.Stop(bg, name, StopOptions{Timeout: time.Second}, func() {}); fail.KindOf(err) != fail.Usage {
			t.Errorf("Stop(%q) = %v, want a usage error", name, err)
		}
		if _, err := f.mgr.Status(bg, name); fail.KindOf(err) != fail.Usage {
			t.Errorf("Status(%q) = %v, want a usage error", name, err)
		}
	}
	if _, err := os.Stat(f.root.Join(RunDir + "/nodes")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("bad names left runtime state: %v", err)
	}
}

func TestStartRefusesUnparsableConfig(t *testing.T) {
	f := newFixture(t, "ok", time.Second)
	writeFile(t, f.root.Join(ConfigDir+"/DC1-S1.conf"), "NODE_TYPE VM_Storage_Node\n")
	_, err := f.mgr.Start(bg, "DC1-S1", func() { t.Error("announced") })
	if err == nil || !strings.Contains(err.Error(), "DC1-S1.conf:1:") {
		t.Errorf("Start = %v", err)
	}
	st, err := f.mgr.Status(bg, "DC1-S1")
	if err != nil || st.ConfigState != Invalid || st.ConfigErr == nil || st.RunState != NotRunning {
		t.Errorf("Status = %+v, %v", st, err)
	}
}

func TestDemoPayload(t *testing.T) {
	f := newFixture(t, "demo", 200*time.Millisecond)
	f.addNode("DC1-ADM1")
	if _, err := f.mgr.Start(bg, "DC1-ADM1", func() {}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bg, 5*time.Second)
	defer cancel()
	h, err := CheckHealth(ctx, f.root, "DC1-ADM1")
	for err != nil && ctx.Err() == nil { // the payload may still be binding its socket
		time.Sleep(pollEvery)
		h, err = CheckHealth(ctx, f.root, "DC1-ADM1")
	}
	rec := f.record("DC1-ADM1")
	if err != nil || h.Status != "ok" || h.Node != "DC1-ADM1" || h.PID != rec.Payload.PID {
		t.Fatalf("health = %+v, %v (payload pid %d)", h, err, rec.Payload.PID)
	}
	varLocal := f.root.Join("/dev/mapper/sgws-dc1-adm1-var-local")
	if !holdsOpen(rec.Payload.PID, varLocal) {
		t.Errorf("payload does not hold %s open", varLocal)
	}
	if _, err := f.mgr.Stop(bg, "DC1-ADM1", StopOptions{Timeout: 5 * time.Second}, func() {}); err != nil {
		t.Fatal(err)
	}
	if rec := f.record("DC1-ADM1"); !rec.Clean || rec.Exit != "exit status 0" {
		t.Errorf("demo payload did not shut down cleanly: %+v", rec)
	}
	if _, err := os.Stat(f.root.Join(HealthSocket("DC1-ADM1"))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("health socket left behind: %v", err)
	}
	if _, err := CheckHealth(ctx, f.root, "DC1-ADM1"); err == nil {
		t.Error("health check answered after stop")
	}
}

func TestDemoPayloadWithoutVarLocalFailsToStart(t *testing.T) {
	f := newFixture(t, "demo", time.Second)
	writeFile(t, f.root.Join(ConfigDir+"/DC1-GW1.conf"), "NODE_TYPE = VM_API_Gateway\nBLOCK_DEVICE_VAR_LOCAL = /dev/mapper/missing\n")
	_, err := f.mgr.Start(bg, "DC1-GW1", func() {})
	if !errors.Is(err, ErrExitedAtOnce) {
		t.Fatalf("Start = %v", err)
	}
	log, _ := os.ReadFile(f.root.Join(LogDir + "/DC1-GW1.log"))
	if !strings.Contains(string(log), "open var-local /dev/mapper/missing: no such file or directory") {
		t.Errorf("log does not explain:\n%s", log)
	}
}

func holdsOpen(pid int, path string) bool {
	fds, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/fd/*")
	for _, fd := range fds {
		if target, _ := os.Readlink(fd); target == path {
			return true
		}
	}
	return false
}

func TestExpandPayload(t *testing.T) {
	got := ExpandPayload([]string{"/opt/sg/bin/node", "--name={node}", "{node}/{node}"}, "DC1-S3")
	if strings.Join(got, " ") != "/opt/sg/bin/node --name=DC1-S3 DC1-S3/DC1-S3" {
		t.Errorf("got %q", got)
	}
}

func TestStoppingStateWhileWaiting(t *testing.T) {
	f := newFixture(t, "stubborn", 50*time.Millisecond)
	f.addNode("DC1-S1")
	if _, err := f.mgr.Start(bg, "DC1-S1", func() {}); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() {
		_, err := f.mgr.Stop(bg, "DC1-S1", StopOptions{Timeout: 3 * time.Second}, func() {})
		stopped <- err
	}()
	f.waitState("DC1-S1", Stopping)
	if err := <-stopped; !errors.Is(err, ErrStopTimeout) {
		t.Errorf("Stop = %v", err)
	}
	if st := f.state("DC1-S1"); st != NotRunning {
		t.Errorf("after stop: %s", st)
	}
}
