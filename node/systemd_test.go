package node

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/node/systemdtest"
)

// systemdFixture is a private dbus-daemon, a stand-in systemd manager on
// it with the node template installed, and a runtime talking to it.
type systemdFixture struct {
	bus *systemdtest.Bus
	mgr *systemdtest.Manager
	rt  *Systemd
}

func newSystemdFixture(t *testing.T) *systemdFixture {
	t.Helper()
	if !systemdtest.Available() {
		t.Skip("needs " + systemdtest.DaemonPath + " (Debian package dbus-daemon)")
	}
	bus, err := systemdtest.StartBus()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bus.Kill)
	mgr, err := systemdtest.Serve(bus.Address)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mgr.Close)
	mgr.Install(UnitTemplate)
	rt := NewSystemd(bus.Address)
	rt.settle = 100 * time.Millisecond
	rt.poll = 10 * time.Millisecond
	t.Cleanup(func() { rt.Close() })
	return &systemdFixture{bus: bus, mgr: mgr, rt: rt}
}

// running starts the node and returns its unit name.
func (f *systemdFixture) running(t *testing.T, name string) string {
	t.Helper()
	if err := f.rt.Start(systemdCtx(t), name); err != nil {
		t.Fatal(err)
	}
	return "storagegrid-node@" + name + ".service"
}

func systemdCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wantSystemdState(t *testing.T, rt Runtime, name string, want RunState) {
	t.Helper()
	got, err := rt.State(systemdCtx(t), name)
	if err != nil {
		t.Fatalf("State(%s): %v", name, err)
	}
	if got != want {
		t.Fatalf("State(%s) = %s, want %s", name, got, want)
	}
}

func wantSystemdErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not contain %q", err, p)
		}
	}
}

func TestSystemdStartStop(t *testing.T) {
	f := newSystemdFixture(t)
	ctx := systemdCtx(t)
	const unit = "storagegrid-node@DC1-S3.service"

	wantSystemdState(t, f.rt, "DC1-S3", NotRunning)
	if err := f.rt.Start(ctx, "DC1-S3"); err != nil {
		t.Fatal(err)
	}
	wantSystemdState(t, f.rt, "DC1-S3", Running)
	if active, sub := f.mgr.State(unit); active != "active" || sub != "running" {
		t.Fatalf("manager has %s in %s/%s, want active/running", unit, active, sub)
	}
	wantSystemdState(t, f.rt, "DC1-S2", NotRunning) // other instances untouched

	if err := f.rt.Stop(ctx, "DC1-S3", StopOptions{Timeout: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	wantSystemdState(t, f.rt, "DC1-S3", NotRunning)
	if kills := f.mgr.Kills(unit); len(kills) != 0 {
		t.Fatalf("a clean stop sent signals %v", kills)
	}
	want := []string{"StartUnit " + unit, "StopUnit " + unit}
	if got := f.mgr.Calls(); strings.Join(got, ";") != strings.Join(want, ";") {
		t.Fatalf("calls = %q, want %q", got, want)
	}
}

func TestSystemdStartRunningAndStopStopped(t *testing.T) {
	f := newSystemdFixture(t)
	ctx := systemdCtx(t)
	if err := f.rt.Stop(ctx, "DC1-GW1", StopOptions{Timeout: time.Second}); err != nil {
		t.Fatalf("stopping a stopped node: %v", err)
	}
	if err := f.rt.Stop(ctx, "DC1-GW1", StopOptions{Force: true}); err != nil {
		t.Fatalf("force-stopping a stopped node: %v", err)
	}
	for range 2 {
		if err := f.rt.Start(ctx, "DC1-GW1"); err != nil {
			t.Fatal(err)
		}
	}
	wantSystemdState(t, f.rt, "DC1-GW1", Running)
}

func TestSystemdStartWhileStopping(t *testing.T) {
	f := newSystemdFixture(t)
	const unit = "storagegrid-node@DC1-S1.service"
	f.mgr.SetState(unit, "deactivating", "stop-sigterm")
	err := f.rt.Start(systemdCtx(t), "DC1-S1")
	wantSystemdErr(t, err, "node DC1-S1 is stopping")
	if calls := f.mgr.Calls(); len(calls) != 0 {
		t.Fatalf("a start of a stopping node reached systemd: %q", calls)
	}
	if active, _ := f.mgr.State(unit); active != "deactivating" {
		t.Fatalf("%s is %s after the refused start, want deactivating", unit, active)
	}
}

func TestSystemdStateMapping(t *testing.T) {
	f := newSystemdFixture(t)
	const name, unit = "DC1-ADM1", "storagegrid-node@DC1-ADM1.service"
	for _, c := range []struct {
		active string
		want   RunState
	}{
		{"active", Running},
		{"activating", Starting},
		{"reloading", Starting},
		{"deactivating", Stopping},
		{"inactive", NotRunning},
		{"failed", NotRunning},
	} {
		f.mgr.SetState(unit, c.active, "x")
		wantSystemdState(t, f.rt, name, c.want)
	}
	f.mgr.SetState(unit, "maintenance", "x")
	_, err := f.rt.State(systemdCtx(t), name)
	wantSystemdErr(t, err, "node DC1-ADM1", unit, `"maintenance"`)
}

func TestSystemdForceStop(t *testing.T) {
	f := newSystemdFixture(t)
	ctx := systemdCtx(t)
	unit := f.running(t, "DC1-S1")
	// Only the kill can end it: a stop that waited would hang.
	f.mgr.HangStop(unit)
	if err := f.rt.Stop(ctx, "DC1-S1", StopOptions{Timeout: time.Hour, Force: true}); err != nil {
		t.Fatal(err)
	}
	wantSystemdState(t, f.rt, "DC1-S1", NotRunning)
	if kills := f.mgr.Kills(unit); len(kills) != 1 || kills[0] != int32(syscall.SIGKILL) {
		t.Fatalf("signals sent = %v, want one SIGKILL", kills)
	}
	calls := f.mgr.Calls()
	if len(calls) != 3 || calls[1] != "KillUnit "+unit+" all 9" || calls[2] != "StopUnit "+unit {
		t.Fatalf("calls = %q, want start, kill all with 9, then stop", calls)
	}
}

func TestSystemdStopTimeout(t *testing.T) {
	f := newSystemdFixture(t)
	ctx := systemdCtx(t)
	unit := f.running(t, "DC1-ARC1")
	f.mgr.HangStop(unit)
	began := time.Now()
	err := f.rt.Stop(ctx, "DC1-ARC1", StopOptions{Timeout: 200 * time.Millisecond})
	wantSystemdErr(t, err, "node DC1-ARC1", "did not stop within 0.2 seconds", "SIGKILL", unit)
	if fail.KindOf(err) != fail.Failed {
		t.Fatalf("timeout error kind = %v, want Failed (exit 1)", fail.KindOf(err))
	}
	if took := time.Since(began); took < 200*time.Millisecond {
		t.Fatalf("stop gave up after %v, before its timeout", took)
	}
	if kills := f.mgr.Kills(unit); len(kills) != 1 || kills[0] != int32(syscall.SIGKILL) {
		t.Fatalf("signals sent = %v, want one SIGKILL", kills)
	}
	wantSystemdState(t, f.rt, "DC1-ARC1", NotRunning)
}

func TestSystemdStopCancelled(t *testing.T) {
	f := newSystemdFixture(t)
	f.mgr.HangStop(f.running(t, "DC1-S2"))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := f.rt.Stop(ctx, "DC1-S2", StopOptions{Timeout: time.Hour})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop with a cancelled context = %v, want the context's error", err)
	}
	wantSystemdState(t, f.rt, "DC1-S2", Stopping)
}

// TestSystemdStartFails covers a start job that fails and a payload that
// exits right after a successful start job.
func TestSystemdStartFails(t *testing.T) {
	const unit = "storagegrid-node@DC1-S3.service"
	for _, c := range []struct {
		how  func(*systemdtest.Manager, string)
		want []string
	}{
		{(*systemdtest.Manager).FailStart, []string{"start job for " + unit, `result "failed"`, "journalctl -u " + unit}},
		{(*systemdtest.Manager).ExitAtOnce, []string{"exited at once", unit, "failed"}},
	} {
		f := newSystemdFixture(t)
		c.how(f.mgr, unit)
		err := f.rt.Start(systemdCtx(t), "DC1-S3")
		wantSystemdErr(t, err, append(c.want, "node DC1-S3")...)
		wantSystemdState(t, f.rt, "DC1-S3", NotRunning)
	}
}

func TestSystemdUnitNotInstalled(t *testing.T) {
	if !systemdtest.Available() {
		t.Skip("needs " + systemdtest.DaemonPath + " (Debian package dbus-daemon)")
	}
	bus, err := systemdtest.StartBus()
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Kill()
	mgr, err := systemdtest.Serve(bus.Address)
	if err != nil {
		t.Fatal(err)
	}
	defer mgr.Close()
	rt := NewSystemd(bus.Address)
	defer rt.Close()

	_, err = rt.State(systemdCtx(t), "DC1-S3")
	wantSystemdErr(t, err, "node DC1-S3", "storagegrid-node@DC1-S3.service not found", "contrib/systemd/storagegrid-node@.service")
	err = rt.Start(systemdCtx(t), "DC1-S3")
	wantSystemdErr(t, err, "node DC1-S3", "not found")
}

func TestSystemdInvalidName(t *testing.T) {
	f := newSystemdFixture(t)
	ctx := systemdCtx(t)
	for _, name := range []string{"", "../etc", "a/b", "1DC", "-DC", "DC1_S3", "DC1.S3", "DC1 S3",
		strings.Repeat("A", 33)} {
		if err := f.rt.Start(ctx, name); fail.KindOf(err) != fail.Usage {
			t.Errorf("Start(%q) = %v, want a usage error", name, err)
		}
		if err := f.rt.Stop(ctx, name, StopOptions{Force: true}); fail.KindOf(err) != fail.Usage {
			t.Errorf("Stop(%q) = %v, want a usage error", name, err)
		}
		if _, err := f.rt.State(ctx, name); fail.KindOf(err) != fail.Usage {
			t.Errorf("State(%q) = %v, want a usage error", name, err)
		}
	}
	if calls := f.mgr.Calls(); len(calls) != 0 {
		t.Fatalf("invalid names reached systemd: %q", calls)
	}
	long := "A" + strings.Repeat("b-1", 10) + "Z" // 32 characters
	if err := f.rt.Start(ctx, long); err != nil {
		t.Fatalf("Start(%q): %v", long, err)
	}
	wantSystemdState(t, f.rt, long, Running)
}

func TestSystemdBusGone(t *testing.T) {
	f := newSystemdFixture(t)
	ctx := systemdCtx(t)
	if err := f.rt.Start(ctx, "DC1-S3"); err != nil {
		t.Fatal(err)
	}
	f.bus.Kill()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := f.rt.State(ctx, "DC1-S3")
		if err != nil {
			wantSystemdErr(t, err, "node DC1-S3")
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("State kept answering after the bus was killed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Once the connection is seen gone, a new one is dialled and fails
	// naming the bus.
	err := f.rt.Start(ctx, "DC1-S3")
	wantSystemdErr(t, err, "node DC1-S3", "connect to systemd on "+f.bus.Address)
	err = f.rt.Stop(ctx, "DC1-S3", StopOptions{Timeout: time.Second})
	wantSystemdErr(t, err, "node DC1-S3", f.bus.Address)
}

func TestSystemdBusGoneDuringStop(t *testing.T) {
	f := newSystemdFixture(t)
	ctx := systemdCtx(t)
	unit := f.running(t, "DC1-S3")
	f.mgr.HangStop(unit)
	done := make(chan error, 1)
	go func() { done <- f.rt.Stop(ctx, "DC1-S3", StopOptions{Timeout: time.Hour}) }()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if active, _ := f.mgr.State(unit); active == "deactivating" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the stop job never began")
		}
	}
	f.bus.Kill()
	select {
	case err := <-done:
		wantSystemdErr(t, err, "node DC1-S3", "lost the connection to systemd on "+f.bus.Address)
	case <-time.After(10 * time.Second):
		t.Fatal("Stop still waits for a job result after the bus died")
	}
}

// Reload signals the unit's main process (the payload run-payload became)
// with SIGHUP, as 'systemctl kill -s HUP --kill-who=main'; it stays up.
func TestSystemdReload(t *testing.T) {
	f := newSystemdFixture(t)
	unit := f.running(t, "DC1-S3")
	if err := f.rt.Reload(systemdCtx(t), "DC1-S3"); err != nil {
		t.Fatal(err)
	}
	want := "KillUnit " + unit + " main 1"
	if calls := f.mgr.Calls(); calls[len(calls)-1] != want {
		t.Fatalf("calls %q, want the last to be %q", calls, want)
	}
	wantSystemdState(t, f.rt, "DC1-S3", Running)
	if err := f.rt.Stop(systemdCtx(t), "DC1-S3", StopOptions{Timeout: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	wantSystemdErr(t, f.rt.Reload(systemdCtx(t), "DC1-S3"), "node DC1-S3: reload "+unit)
}

// WatchState reports every state change of a node unit over the bus, as
// systemd's PropertiesChanged signals: a start, a crash (the unit fails
// with nobody calling us) and a stop each reach the watcher within a
// second, and the state read then is the new one. When the bus goes
// away the watch ends with an error naming it, so that the agent falls
// back to polling.
func TestSystemdWatchState(t *testing.T) {
	f := newSystemdFixture(t)
	ctx, cancel := context.WithCancel(systemdCtx(t))
	defer cancel()
	changed := make(chan struct{}, 64)
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- f.rt.WatchState(ctx, func() {
			select {
			case changed <- struct{}{}:
			default:
			}
		}, func() { close(ready) })
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("WatchState: %v", err)
	}
	// seen waits for a change signal after which State is want.
	seen := func(what string, want RunState) {
		t.Helper()
		deadline := time.After(time.Second)
		for {
			select {
			case <-changed:
				if st, err := f.rt.State(systemdCtx(t), "DC1-S3"); err == nil && st == want {
					return
				}
			case <-deadline:
				t.Fatalf("%s: state %s not signalled within 1s", what, want)
			}
		}
	}
	unit := f.running(t, "DC1-S3")
	seen("start", Running)
	f.mgr.SetState(unit, "failed", "failed") // the payload crashed
	seen("crash", NotRunning)
	f.mgr.SetState(unit, "active", "running") // restarted by systemd (Restart=)
	seen("restart", Running)
	if err := f.rt.Stop(systemdCtx(t), "DC1-S3", StopOptions{Timeout: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	seen("stop", NotRunning)
	// Other units' changes are not ours (once the stop's last signals
	// are in).
	time.Sleep(100 * time.Millisecond)
	for len(changed) > 0 {
		<-changed
	}
	f.mgr.Install("other@.service")
	f.mgr.SetState("other@x.service", "active", "running")
	select {
	case <-changed:
		t.Fatal("a change of other@x.service was reported")
	case <-time.After(200 * time.Millisecond):
	}

	f.bus.Kill()
	select {
	case err := <-done:
		wantSystemdErr(t, err, "lost the connection to systemd on "+f.bus.Address)
	case <-time.After(5 * time.Second):
		t.Fatal("WatchState did not end when the bus went away")
	}
}
