package adesim

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

func TestParseFault(t *testing.T) {
	f, err := ParseFault("hang:Object_Lost 498D8A1F681F05B3:2")
	if err != nil || f.Kind != Hang || f.Match != "Object_Lost 498D8A1F681F05B3" || f.Times != 2 {
		t.Fatalf("%+v %v", f, err)
	}
	if f, err := ParseFault("garbage"); err != nil || f.Match != "" || f.Times != 0 {
		t.Fatalf("%+v %v", f, err)
	}
	for _, bad := range []string{"explode", "hang:x:0", "hang:x:many"} {
		if _, err := ParseFault(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// A raw session: the prompt, the runbook's replies and the state they keep.
func TestSessionRepliesAndState(t *testing.T) {
	s, err := Start("127.0.0.1:0", Config{NodeID: "42", Pending: map[string]int{"0000000000000002": 0},
		Results: map[string]string{"0000000000000003": "NFND"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	readPrompt := func() string {
		var b strings.Builder
		for !strings.HasSuffix(b.String(), "> ") {
			c, err := r.ReadByte()
			if err != nil {
				t.Fatalf("after %q: %v", b.String(), err)
			}
			b.WriteByte(c)
		}
		return b.String()
	}
	if got := readPrompt(); !strings.HasSuffix(got, "ade 42: /proc/BRTR > ") {
		t.Fatalf("banner %q", got)
	}
	for _, tc := range []struct{ send, want string }{
		{"/proc/BRTR/cancel -c 0000000000000001", "1 request cancelled\r\nade 42: /proc/BRTR > "},
		{"/proc/BRTR/cancel -c 0000000000000001", "0 requests cancelled\r\n"},
		{"/proc/BRTR/cancel -c 0000000000000002", "0 requests cancelled\r\n"},
		{"/proc/CMSI/Object_Lost 0000000000000001 42", "CLOC_LOST_ANS returned result 'SUCS'\r\nade 42: /proc/CMSI > "},
		{"/proc/CMSI/Object_Lost 0000000000000003 42", "result 'NFND'"},
		{"help me", "ERROR: unknown command"},
	} {
		conn.Write([]byte(tc.send + "\r\n"))
		if got := readPrompt(); !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.send, got, tc.want)
		}
	}
	if s.Lost("0000000000000001") != 1 || s.Lost("0000000000000003") != 0 {
		t.Errorf("lost counts %d %d", s.Lost("0000000000000001"), s.Lost("0000000000000003"))
	}
	if n := len(s.Received()); n != 6 {
		t.Errorf("received %d commands", n)
	}
}
