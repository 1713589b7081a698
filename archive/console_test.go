package archive

import (
	"bytes"
	"context"
	"errors"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/archive/adesim"
	"github.com/storagegrid/storagegrid/settings"
)

var testPrompt = regexp.MustCompile(settings.Defaults().Archive.PromptPattern)

func startSim(t *testing.T, cfg adesim.Config) *adesim.Server {
	t.Helper()
	s, err := adesim.Start("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func testOptions(addr string, timeout time.Duration) ConsoleOptions {
	return ConsoleOptions{Addr: addr, Prompt: testPrompt, ConnectTimeout: timeout, CommandTimeout: timeout}
}

func dial(t *testing.T, s *adesim.Server, timeout time.Duration) *Console {
	t.Helper()
	c, err := Dial(context.Background(), testOptions(s.Addr(), timeout))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestConsoleRunbookExchange(t *testing.T) {
	s := startSim(t, adesim.Config{Negotiate: true, Echo: true})
	c := dial(t, s, 5*time.Second)
	if !strings.Contains(c.Banner(), "ARC ADE console") {
		t.Errorf("banner = %q", c.Banner())
	}
	ctx := context.Background()
	id := CBID("498D8A1F681F05B3")
	for i, want := range []int{1, 0} {
		n, err := Cancel(ctx, c, id)
		if err != nil || n != want {
			t.Fatalf("cancel #%d = %d, %v; want %d", i+1, n, err, want)
		}
	}
	if err := ObjectLost(ctx, c, id, "13959984"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	waitFor(t, func() bool { return len(s.Received()) == 4 })
	want := []string{"/proc/BRTR/cancel -c 498D8A1F681F05B3", "/proc/BRTR/cancel -c 498D8A1F681F05B3",
		"/proc/CMSI/Object_Lost 498D8A1F681F05B3 13959984", "exit"}
	if got := s.Received(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("received %q, want %q", got, want)
	}
	if s.Lost(string(id)) != 1 {
		t.Errorf("Object_Lost took effect %d times", s.Lost(string(id)))
	}
	// Every option the server asked for was refused, and nothing else sent.
	var tn []byte
	for _, e := range s.Events() {
		if e.Kind == "telnet" {
			tn = append(tn, e.Bytes...)
		}
	}
	refusals := []byte{255, 252, 1, 255, 254, 3, 255, 252, 31}
	if !bytes.Equal(tn, refusals) {
		t.Errorf("telnet replies % x, want % x", tn, refusals)
	}
}

func TestObjectLostResults(t *testing.T) {
	s := startSim(t, adesim.Config{
		Results: map[string]string{"0000000000000002": "FAIL"},
		Replies: map[string]string{
			"/proc/CMSI/Object_Lost 0000000000000003 1": "CLOC_LOST_ANS returned result ‘SUCS’",
			"/proc/CMSI/Object_Lost 0000000000000004 1": "Object not found",
			"/proc/BRTR/cancel -c 0000000000000005":     "2 requests canceled",
			"/proc/BRTR/cancel -c 0000000000000006":     "what?",
		},
	})
	c := dial(t, s, 5*time.Second)
	ctx := context.Background()
	if err := ObjectLost(ctx, c, "0000000000000001", "1"); err != nil {
		t.Errorf("SUCS: %v", err)
	}
	var re *ResultError
	if err := ObjectLost(ctx, c, "0000000000000002", "1"); !errors.As(err, &re) || re.Code != "FAIL" ||
		!strings.Contains(err.Error(), "'FAIL'") {
		t.Errorf("FAIL: %v", err)
	}
	if err := ObjectLost(ctx, c, "0000000000000003", "1"); err != nil {
		t.Errorf("typographic quotes: %v", err)
	}
	var rep *ReplyError
	if err := ObjectLost(ctx, c, "0000000000000004", "1"); !errors.As(err, &rep) ||
		!strings.Contains(err.Error(), `"Object not found"`) {
		t.Errorf("no result: %v", err)
	}
	if n, err := Cancel(ctx, c, "0000000000000005"); n != 2 || err != nil {
		t.Errorf("canceled: %d, %v", n, err)
	}
	if _, err := Cancel(ctx, c, "0000000000000006"); !errors.As(err, &rep) || !strings.Contains(err.Error(), `"what?"`) {
		t.Errorf("unexpected cancel reply: %v", err)
	}
}

func TestConsoleFaults(t *testing.T) {
	lost := "/proc/CMSI/Object_Lost 0000000000000001 1"
	cases := []struct {
		name      string
		fault     adesim.Fault
		unknown   bool   // the command went out and no reply came back
		errWant   string // in the error message
		recvWant  string // in the quoted received text
		atConnect bool
	}{
		{name: "close mid reply", fault: adesim.Fault{Kind: adesim.CloseMidReply, Match: "Object_Lost"},
			unknown: true, errWant: "connection closed by the console", recvWant: "CLOC_LOST_A"},
		{name: "garbage", fault: adesim.Fault{Kind: adesim.Garbage, Match: "Object_Lost"},
			unknown: true, errWant: "no prompt within 300ms", recvWant: "garbage"},
		{name: "no prompt", fault: adesim.Fault{Kind: adesim.NoPrompt, Match: "Object_Lost"},
			unknown: true, errWant: "no prompt within 300ms", recvWant: "'SUCS'"},
		{name: "slow", fault: adesim.Fault{Kind: adesim.Slow, Match: "Object_Lost", Delay: 5 * time.Second},
			unknown: true, errWant: "no prompt within 300ms"},
		{name: "garbage banner", fault: adesim.Fault{Kind: adesim.Garbage}, atConnect: true,
			errWant: "connecting: no prompt within 300ms", recvWant: "garbage"},
		{name: "close during banner", fault: adesim.Fault{Kind: adesim.CloseMidReply}, atConnect: true,
			errWant: "connecting: connection closed", recvWant: "ARC ADE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startSim(t, adesim.Config{Faults: []adesim.Fault{tc.fault}})
			c, err := Dial(context.Background(), testOptions(s.Addr(), 300*time.Millisecond))
			if tc.atConnect {
				if err == nil {
					c.Close()
					t.Fatal("dial succeeded")
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				err = ObjectLost(context.Background(), c, "0000000000000001", "1")
			}
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.errWant) || !strings.Contains(msg, s.Addr()) {
				t.Errorf("error %q lacks %q or the address", msg, tc.errWant)
			}
			if !tc.atConnect && !strings.Contains(msg, `sent "`+lost+`"`) {
				t.Errorf("error %q does not say what was sent", msg)
			}
			if tc.recvWant != "" && !strings.Contains(msg, tc.recvWant) {
				t.Errorf("error %q does not show what came back (%q)", msg, tc.recvWant)
			}
			if OutcomeUnknown(err) != tc.unknown {
				t.Errorf("OutcomeUnknown = %v, want %v", OutcomeUnknown(err), tc.unknown)
			}
			if !tc.atConnect {
				// The session is spent: nothing more goes out on it.
				if _, err := c.Run(context.Background(), CancelCommand("0000000000000001")); err == nil ||
					OutcomeUnknown(err) {
					t.Errorf("second command on a broken session: %v", err)
				}
			}
		})
	}
}

func TestConsoleConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = Dial(context.Background(), testOptions(addr, time.Second))
	if err == nil || !strings.Contains(err.Error(), "connection refused") ||
		!strings.Contains(err.Error(), "ADE console "+addr+": connecting") || OutcomeUnknown(err) {
		t.Fatalf("err = %v", err)
	}
}

func TestConsoleCancelledContext(t *testing.T) {
	s := startSim(t, adesim.Config{Faults: []adesim.Fault{{Kind: adesim.Hang, Match: "cancel"}}})
	c := dial(t, s, 10*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for len(s.Received()) == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	_, err := Cancel(ctx, c, "0000000000000001")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestConsoleRefusesControlCharacters(t *testing.T) {
	s := startSim(t, adesim.Config{})
	c := dial(t, s, 5*time.Second)
	if _, err := c.Run(context.Background(), "/proc/BRTR/cancel -c 1\r\n/proc/CMSI/Object_Lost 1 2"); err == nil {
		t.Fatal("sent a command with a line break")
	}
	c.Close()
	waitFor(t, func() bool { return len(s.Received()) == 1 })
	if got := s.Received(); len(got) != 1 || got[0] != "exit" {
		t.Errorf("received %q", got)
	}
}

func TestSplitPrompt(t *testing.T) {
	for _, tc := range []struct {
		in, before string
		ok         bool
	}{
		{"1 request cancelled\r\nade 13959984: /proc/BRTR > ", "1 request cancelled\r\n", true},
		{"ade 1: /proc/CMSI >", "", true},
		{"1 request cancelled\r\nade 13959984: /proc/BR", "", false},
		{"ade 1: /proc/BRTR > \r\nmore", "", false},
		{"", "", false},
	} {
		before, ok := splitPrompt(tc.in, testPrompt)
		if ok != tc.ok || before != tc.before {
			t.Errorf("splitPrompt(%q) = %q, %v", tc.in, before, ok)
		}
	}
}

func TestTelnetFilterSplitSequences(t *testing.T) {
	// IAC DO ECHO split over reads, an escaped 255, a subnegotiation.
	in := []byte{'a', 255, 253, 1, 'b', 255, 255, 'c', 255, 250, 24, 1, 255, 240, 'd', 255, 241, 'e'}
	for split := 0; split <= len(in); split++ {
		var f telnetFilter
		d1, r1 := f.feed(in[:split])
		d2, r2 := f.feed(in[split:])
		if got := string(append(d1, d2...)); got != "ab\xffcde" {
			t.Errorf("split %d: data %q", split, got)
		}
		if got := append(r1, r2...); !bytes.Equal(got, []byte{255, 252, 1}) {
			t.Errorf("split %d: reply % x", split, got)
		}
	}
}

func TestClipKeepsBothEnds(t *testing.T) {
	s := "START" + strings.Repeat("x", 1000) + "END"
	c := clip(s)
	if len(c) > 400 || !strings.Contains(c, "START") || !strings.Contains(c, "END") || !strings.Contains(c, "bytes") {
		t.Errorf("clip = %s", c)
	}
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
