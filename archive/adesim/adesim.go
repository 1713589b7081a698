// Package adesim is an ADE console simulator: a real TCP server that
// speaks like the ARC service's console on port 1409 (prompt, telnet
// option negotiation, /proc/BRTR/cancel and /proc/CMSI/Object_Lost), with
// configurable replies and faults. Tests and the demo run the archive
// client against it, and assert on what it received.
package adesim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
)

// FaultKind is a way the simulated console misbehaves.
type FaultKind string

// The faults. Whether the command still takes effect matters for
// Object_Lost: a console that dies mid-reply has already acted.
const (
	CloseMidReply FaultKind = "close"    // act, send half the reply, hang up
	Garbage       FaultKind = "garbage"  // do not act, send junk and no prompt
	NoPrompt      FaultKind = "noprompt" // act, send the reply but no prompt
	Slow          FaultKind = "slow"     // act, reply after Delay
	Hang          FaultKind = "hang"     // do not act, never reply
)

// Fault makes the console misbehave on a command.
type Fault struct {
	Kind  FaultKind
	Match string        // substring of the command; "" means at connect, instead of the banner
	Delay time.Duration // for Slow
	Times int           // how often it fires; 0 means every time
}

// Config shapes the simulated console.
type Config struct {
	NodeID    string            // shown in the prompt; default 13959984
	Negotiate bool              // open with telnet DO ECHO, WILL SGA, DO NAWS
	Echo      bool              // echo each command line back, as a terminal would
	Results   map[string]string // CBID -> Object_Lost result code; default SUCS
	Pending   map[string]int    // CBID -> retrievals the first cancel finds; default 1
	Replies   map[string]string // command line -> reply, overriding the built-in ones
	Faults    []Fault
	Record    io.Writer // when set, one JSON line per event (see Event)
}

// Event is one thing the console saw or did, in order.
type Event struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"event"` // received, replied, fault, telnet
	Command string    `json:"command,omitempty"`
	Reply   string    `json:"reply,omitempty"`
	Fault   FaultKind `json:"fault,omitempty"`
	Bytes   []byte    `json:"bytes,omitempty"` // telnet: what the client answered to negotiation
}

// Server is a running simulated console.
type Server struct {
	cfg Config
	ln  net.Listener

	mu      sync.Mutex
	events  []Event
	fired   map[int]int
	pending map[string]int
	lost    map[string]int // CBID -> Object_Lost executed with SUCS
	conns   map[net.Conn]bool
	closed  chan struct{}
	wg      sync.WaitGroup
}

// Start listens on addr ("127.0.0.1:0" for a free port) and serves.
func Start(addr string, cfg Config) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("adesim: %w", err)
	}
	if cfg.NodeID == "" {
		cfg.NodeID = "13959984"
	}
	s := &Server{cfg: cfg, ln: ln, fired: map[int]int{}, pending: map[string]int{},
		lost: map[string]int{}, conns: map[net.Conn]bool{}, closed: make(chan struct{})}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server and drops every session.
func (s *Server) Close() error {
	err := s.ln.Close()
	s.mu.Lock()
	select {
	case <-s.closed:
	default:
		close(s.closed)
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

// Events returns a copy of everything recorded so far.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// Received lists the command lines received, in order.
func (s *Server) Received() []string {
	var out []string
	for _, e := range s.Events() {
		if e.Kind == "received" {
			out = append(out, e.Command)
		}
	}
	return out
}

// Lost reports how many times Object_Lost for cbid took effect with SUCS.
func (s *Server) Lost(cbid string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lost[strings.ToUpper(cbid)]
}

func (s *Server) record(e Event) {
	e.Time = time.Now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, e)
	if s.cfg.Record != nil {
		b, _ := json.Marshal(e)
		s.cfg.Record.Write(append(b, '\n'))
	}
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[conn] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(conn)
			s.mu.Lock()
			delete(s.conns, conn)
			s.mu.Unlock()
			conn.Close()
		}()
	}
}

func (s *Server) prompt(module string) string {
	return fmt.Sprintf("ade %s: /proc/%s > ", s.cfg.NodeID, module)
}

const banner = "ARC ADE console\r\nType 'help' for a list of commands.\r\n"

func (s *Server) serve(conn net.Conn) {
	if s.cfg.Negotiate {
		// IAC DO ECHO, IAC WILL SUPPRESS-GO-AHEAD, IAC DO NAWS, and a
		// subnegotiation the client must skip.
		conn.Write([]byte{255, 253, 1, 255, 251, 3, 255, 253, 31, 255, 250, 24, 1, 255, 240})
	}
	if f, ok := s.fault(""); ok {
		s.misbehave(conn, f, banner+s.prompt("BRTR"))
		return
	}
	if _, err := io.WriteString(conn, banner+s.prompt("BRTR")); err != nil {
		return
	}
	r := bufio.NewReader(&telnetReader{r: conn, s: s})
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.TrimSpace(line)
		if cmd == "" {
			io.WriteString(conn, s.prompt("BRTR"))
			continue
		}
		s.record(Event{Kind: "received", Command: cmd})
		if cmd == "exit" {
			return
		}
		if !s.answer(conn, cmd) {
			return
		}
	}
}

// answer handles one command; false means the session is over.
func (s *Server) answer(conn net.Conn, cmd string) bool {
	f, faulty := s.fault(cmd)
	acts := !faulty || (f.Kind != Garbage && f.Kind != Hang)
	reply, module := s.execute(cmd, acts)
	if s.cfg.Echo {
		reply = cmd + "\r\n" + reply
	}
	if faulty {
		s.misbehave(conn, f, reply)
		return f.Kind == Slow
	}
	if _, err := io.WriteString(conn, reply+s.prompt(module)); err != nil {
		return false
	}
	s.record(Event{Kind: "replied", Command: cmd, Reply: strings.TrimSpace(reply)})
	return true
}

// execute returns the reply to cmd and the module the prompt shows next;
// when act is false the console's state is left alone.
func (s *Server) execute(cmd string, act bool) (reply, module string) {
	if r, ok := s.cfg.Replies[cmd]; ok {
		return r + "\r\n", "BRTR"
	}
	f := strings.Fields(cmd)
	switch {
	case len(f) == 3 && f[0] == "/proc/BRTR/cancel" && f[1] == "-c":
		n := s.cancel(strings.ToUpper(f[2]), act)
		word := "requests"
		if n == 1 {
			word = "request"
		}
		return fmt.Sprintf("%d %s cancelled\r\n", n, word), "BRTR"
	case len(f) == 3 && f[0] == "/proc/CMSI/Object_Lost":
		code := s.objectLost(strings.ToUpper(f[1]), act)
		return fmt.Sprintf("CLOC_LOST_ANS returned result '%s'\r\n", code), "CMSI"
	}
	return fmt.Sprintf("ERROR: unknown command %q\r\n", cmd), "BRTR"
}

func (s *Server) cancel(cbid string, act bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, seen := s.pending[cbid]
	if !seen {
		n = 1
		if p, ok := s.cfg.Pending[cbid]; ok {
			n = p
		}
	}
	if act {
		s.pending[cbid] = 0
	}
	return n
}

func (s *Server) objectLost(cbid string, act bool) string {
	code := "SUCS"
	if c, ok := s.cfg.Results[cbid]; ok {
		code = c
	}
	if act && code == "SUCS" {
		s.mu.Lock()
		s.lost[cbid]++
		s.mu.Unlock()
	}
	return code
}

// fault returns the fault that fires for cmd ("" at connect), counting it.
func (s *Server) fault(cmd string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.cfg.Faults {
		if (f.Match == "") != (cmd == "") || !strings.Contains(cmd, f.Match) {
			continue
		}
		if f.Times > 0 && s.fired[i] >= f.Times {
			continue
		}
		s.fired[i]++
		return f, true
	}
	return Fault{}, false
}

// misbehave sends reply (which may include a prompt) the way f says.
func (s *Server) misbehave(conn net.Conn, f Fault, reply string) {
	s.record(Event{Kind: "fault", Fault: f.Kind})
	switch f.Kind {
	case CloseMidReply:
		io.WriteString(conn, reply[:len(reply)/2])
		return
	case Garbage:
		conn.Write([]byte("\x00\x1b[2J#@!\xfe\xfd garbage \x7f\x80\x81\r\n%%%%"))
	case NoPrompt:
		io.WriteString(conn, reply)
	case Slow:
		select {
		case <-time.After(f.Delay):
			io.WriteString(conn, reply+s.prompt("BRTR"))
			return
		case <-s.closed:
			return
		}
	}
	s.waitHangup(conn)
}

// waitHangup holds the session open, silent, until the client or the
// server closes it.
func (s *Server) waitHangup(conn net.Conn) {
	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, conn)
		close(done)
	}()
	select {
	case <-done:
	case <-s.closed:
	}
}

// telnetReader strips the client's telnet replies from the command
// stream and records them, so tests can check that negotiation was refused.
type telnetReader struct {
	r     io.Reader
	s     *Server
	state int
}

func (t *telnetReader) Read(p []byte) (int, error) {
	for {
		n, err := t.r.Read(p)
		out := p[:0]
		var tn []byte
		for _, b := range p[:n] {
			switch {
			case t.state == 0 && b == 255:
				t.state = 1
				tn = append(tn, b)
			case t.state == 1 && b >= 251 && b <= 254:
				t.state = 2
				tn = append(tn, b)
			case t.state == 1 && b == 255:
				t.state = 0
				out = append(out, b)
				tn = tn[:len(tn)-1]
			case t.state == 1, t.state == 2:
				t.state = 0
				tn = append(tn, b)
			default:
				out = append(out, b)
			}
		}
		if len(tn) > 0 {
			t.s.record(Event{Kind: "telnet", Bytes: tn})
		}
		if len(out) > 0 || err != nil {
			return len(out), err
		}
	}
}

// ParseFault reads KIND[:MATCH[:TIMES]], e.g. "hang:Object_Lost 498D8A1F681F05B3:1".
// A slow fault replies after an hour, which to a client is a timeout.
func ParseFault(s string) (Fault, error) {
	parts := strings.SplitN(s, ":", 3)
	f := Fault{Kind: FaultKind(parts[0]), Delay: time.Hour}
	switch f.Kind {
	case CloseMidReply, Garbage, NoPrompt, Slow, Hang:
	default:
		return Fault{}, fmt.Errorf("fault %q: kind must be close, garbage, noprompt, slow or hang", s)
	}
	if len(parts) > 1 {
		f.Match = parts[1]
	}
	if len(parts) > 2 {
		if _, err := fmt.Sscanf(parts[2], "%d", &f.Times); err != nil || f.Times < 1 {
			return Fault{}, fmt.Errorf("fault %q: TIMES must be a positive number", s)
		}
	}
	return f, nil
}
