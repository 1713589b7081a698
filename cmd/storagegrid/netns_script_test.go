//go:build !agentonly

package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestNetnsScripts runs the transcripts in testdata/netns_script, whose
// commands share one network namespace of their own, $NETNS (run them
// with 'ip netns exec $NETNS storagegrid ...'): a model server on
// 127.0.0.1 there is reached by the migrations there, on fixed ports that
// nothing else can hold, and both hosts have the runbook's bond0.1001.
func TestNetnsScripts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces and loop devices")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip (iproute2)")
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/netns_script",
		Setup: func(env *testscript.Env) error {
			ns, err := scriptNetns(env)
			if err != nil {
				return err
			}
			env.Setenv("NETNS", ns)
			return sandboxSetup(env)
		},
		Cmds: map[string]func(*testscript.TestScript, bool, []string){"exits": exits, "loopdev": loopdev,
			"devices": devices, "waitfile": waitfile},
		Condition: scriptCondition,
	})
}

var netnsSeq atomic.Int64

// scriptNetns creates a network namespace with loopback up and the
// runbook's bond0.1001 (one end of a veth pair), deleted when the script
// ends.
func scriptNetns(env *testscript.Env) (string, error) {
	ns := fmt.Sprintf("sg-test-%d-%d", os.Getpid(), netnsSeq.Add(1))
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		return "", fmt.Errorf("ip netns add %s: %v: %s", ns, err, out)
	}
	env.Defer(func() { exec.Command("ip", "netns", "delete", ns).Run() })
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"link", "add", "bond0.1001", "type", "veth", "peer", "name", "bond0p"},
		{"link", "set", "bond0p", "up"},
		{"link", "set", "bond0.1001", "up"},
	} {
		if out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput(); err != nil {
			return "", fmt.Errorf("ip -n %s %v: %v: %s", ns, args, err, out)
		}
	}
	return ns, waitCarrier(ns, "bond0.1001")
}

// waitCarrier waits until link has carrier: a veth's comes up
// asynchronously after "ip link set up" (see waitUpScript).
func waitCarrier(ns, link string) error {
	for try := 0; try < 300; try++ {
		out, err := exec.Command("ip", "-n", ns, "-o", "link", "show", "dev", link).Output()
		if err == nil && strings.Contains(string(out), "LOWER_UP") {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("%s in namespace %s has no carrier after 3s", link, ns)
}
