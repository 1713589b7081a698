//go:build !agentonly

package main

import (
	"net"
	"strconv"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"
)

// handedOut holds the ports tcpport gave: once closed, a port may come
// back from the kernel, and two scripts running side by side must not
// start their servers on one port.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// tcpport NAME sets $NAME to a TCP port on 127.0.0.1 that nothing
// listens on, for a server whose clients must be told its address.
func tcpport(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: tcpport NAME")
	}
	handedOut.Lock()
	defer handedOut.Unlock()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		ts.Check(err)
		port := ln.Addr().(*net.TCPAddr).Port
		ts.Check(ln.Close())
		if !handedOut.ports[port] {
			handedOut.ports[port] = true
			ts.Setenv(args[0], strconv.Itoa(port))
			return
		}
	}
}
