package node

import (
	"bytes"
	"errors"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestSplitCommand(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"ssh -o BatchMode=yes host2 sudo storagegrid", []string{"ssh", "-o", "BatchMode=yes", "host2", "sudo", "storagegrid"}},
		{`storagegrid --root '/tmp/a dir'`, []string{"storagegrid", "--root", "/tmp/a dir"}},
		{`a "b \"c\" \$d" e\ f 'g;h' $(x)`, []string{"a", `b "c" $d`, "e f", "g;h", "$(x)"}},
		{`  a  ''  "" `, []string{"a", "", ""}},
		{`a"b"'c'`, []string{"abc"}},
	}
	for _, tc := range cases {
		got, err := SplitCommand(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SplitCommand(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{`a 'b`, `a "b`, `a \`} {
		if got, err := SplitCommand(bad); err == nil {
			t.Errorf("SplitCommand(%q) = %q, want an error", bad, got)
		}
	}
}

func TestTargetRunsWithoutAShell(t *testing.T) {
	tg, err := NewTarget("host2", []string{"/bin/echo", "storagegrid"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := tg.Run(bg, nil, &out, nil, "node", "import", "/dev/mapper/x"); err != nil {
		t.Fatal(err)
	}
	if out.String() != "storagegrid node import /dev/mapper/x\n" {
		t.Fatalf("target ran %q", out.String())
	}
	for _, arg := range []string{"a;b", "$(id)", "a b", "`id`", "x|y"} {
		if err := tg.Run(bg, nil, &out, nil, "node", "import", arg); err == nil || !strings.Contains(err.Error(), "cannot be passed safely") {
			t.Errorf("argument %q: %v", arg, err)
		}
	}
	fails, _ := NewTarget("host2", []string{"/bin/sh", "-c", "exit 5"})
	var re *RemoteError
	if err := fails.Run(bg, nil, &out, nil, "node"); !errors.As(err, &re) || re.Code != 5 {
		t.Fatalf("failing target: %v", err)
	}
	for _, host := range []string{"-oProxyCommand=x", "", "a b", "a;b"} {
		if _, err := NewTarget(host, nil); err == nil {
			t.Errorf("NewTarget(%q) accepted", host)
		}
	}
	if tg, _ := NewTarget("host2", nil); !reflect.DeepEqual(tg.Command, DefaultTargetCommand("host2")) {
		t.Fatalf("default command %q", tg.Command)
	}
}

// TestJoinCommandSplitsBack: whatever the words, SplitCommand reads
// JoinCommand's line back into them, and sh does too.
func TestJoinCommandSplitsBack(t *testing.T) {
	for _, argv := range [][]string{
		{"storagegrid", "node", "migrate", "DC1-S3", "--to", "host2"},
		{"storagegrid", "--target-cmd", "ssh -p 2222 'host 2' sudo storagegrid"},
		{"a b", "it's", `back\slash`, `"dq"`, "$HOME", "`x`", "*", "", "tab\there", "new\nline"},
	} {
		line := JoinCommand(argv)
		got, err := SplitCommand(line)
		if err != nil || !slices.Equal(got, argv) {
			t.Errorf("JoinCommand(%q) = %s, splits to %q (%v)", argv, line, got, err)
		}
		sh, err := exec.Command("sh", "-c", "set -- "+line+`; for a in "$@"; do printf '%s\0' "$a"; done`).Output()
		if err != nil || string(sh) != strings.Join(argv, "\x00")+"\x00" {
			t.Errorf("sh splits %s into %q (%v)", line, sh, err)
		}
	}
}
