package blockdev

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// writerEnv makes the test binary a record writer (see TestMain): it
// writes records to the device named by the variable's value until it is
// killed, printing "writing G" before and "wrote G" after each write.
const writerEnv = "BLOCKDEV_TEST_WRITER"

func TestMain(m *testing.M) {
	if dev := os.Getenv(writerEnv); dev != "" {
		if err := runWriter(dev); err != nil {
			fmt.Fprintln(os.Stderr, "writer:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashConfig and crashState are what generation g holds, so a reader
// can tell a record that is entirely generation g from a mix. Sizes vary
// up to most of a slot so that writes take long enough to be cut.
func crashConfig(g uint64) []byte {
	n := 1000 + int(g*7919%400000)
	b := make([]byte, n)
	copy(b, fmt.Sprintf("# generation %d\n", g))
	for i := 32; i < n; i++ {
		b[i] = byte(g) + byte(i)
	}
	return b
}

func crashState(g uint64) State { return State(g%3 + 1) }

func runWriter(dev string) error {
	d, err := Probe(dev, Options{AllowFiles: true})
	if err != nil {
		return err
	}
	// A writer the parent forgot to kill must not run forever.
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); {
		cur, err := d.ReadRecord()
		if err != nil {
			return err
		}
		g := cur.Generation + 1
		if _, err := fmt.Println("writing", g); err != nil {
			return err
		}
		w, err := d.WriteRecord(Record{Node: "DC1-S3", HostUUID: testHost, State: crashState(g), Config: crashConfig(g)})
		if err != nil {
			return err
		}
		if w.Generation != g {
			return fmt.Errorf("wrote generation %d, expected %d", w.Generation, g)
		}
		if _, err := fmt.Println("wrote", g); err != nil {
			return err
		}
	}
	return nil
}

// TestKilledWriterLeavesOldOrNewRecord kills a writer process with SIGKILL
// at random moments: after every kill the record must read as exactly the
// last generation the writer reported or the one it was writing, never
// as damaged and never as absent.
func TestKilledWriterLeavesOldOrNewRecord(t *testing.T) {
	const runs = 100
	eachDevice(t, 2<<20, func(t *testing.T, d Device) {
		mustWrite(t, d, Record{Node: "DC1-S3", HostUUID: testHost, State: crashState(1), Config: crashConfig(1)})
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		torn := 0
		for run := 0; run < runs; run++ {
			delay := time.Duration(rand.Int64N(int64(2 * time.Millisecond)))
			acked := killWriter(t, exe, d.real, delay)
			got, err := d.ReadRecord()
			if err != nil {
				t.Fatalf("run %d: after kill: %v", run, err)
			}
			if g := got.Generation; g != acked && g != acked+1 {
				t.Fatalf("run %d: read generation %d; the writer had finished %d", run, g, acked)
			}
			if got.State != crashState(got.Generation) || !bytes.Equal(got.Config, crashConfig(got.Generation)) {
				t.Fatalf("run %d: generation %d holds another generation's content", run, got.Generation)
			}
			slots, err := d.Inspect()
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range slots {
				if s.Status != SlotValid {
					torn++
				}
			}
		}
		final := mustRead(t, d)
		t.Logf("%d kills, %d generations written, %d left a torn slot behind", runs, final.Generation, torn)
	})
}

// killWriter starts a writer on dev, lets it finish at least one write,
// then kills it with SIGKILL at a random moment shortly after it announces
// a write, and returns the last generation it reported written.
func killWriter(t *testing.T, exe, dev string, delay time.Duration) uint64 {
	t.Helper()
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), writerEnv+"="+dev)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked uint64
	var timer *time.Timer
	for lines := bufio.NewScanner(out); lines.Scan(); {
		var what string
		var g uint64
		if _, err := fmt.Sscan(lines.Text(), &what, &g); err != nil {
			t.Fatalf("writer printed %q", lines.Text())
		}
		switch {
		case what == "wrote":
			acked = g
		case acked > 0 && timer == nil:
			// The timer only picks the moment to kill; nothing waits on it.
			timer = time.AfterFunc(delay, func() { cmd.Process.Kill() })
			defer timer.Stop()
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("writer was not killed: %v: %s", err, stderr.Bytes())
	}
	return acked
}
