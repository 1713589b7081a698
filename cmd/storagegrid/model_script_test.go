//go:build !agentonly

package main

import (
	"net"
	"strconv"

	"github.com/rogpeppe/go-internal/testscript"
)

// tcpport NAME sets $NAME to a TCP port on 127.0.0.1 that nothing
// listens on, for a server whose clients must be told its address.
func tcpport(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: tcpport NAME")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	port := ln.Addr().(*net.TCPAddr).Port
	ts.Check(ln.Close())
	ts.Setenv(args[0], strconv.Itoa(port))
}
