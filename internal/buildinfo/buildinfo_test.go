package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestCommit(t *testing.T) {
	cases := []struct {
		settings []debug.BuildSetting
		want     string
	}{
		{nil, ""},
		{[]debug.BuildSetting{{Key: "vcs.revision", Value: "4624de3a1b2c3d4e5f60718293a4b5c6d7e8f901"}, {Key: "vcs.modified", Value: "false"}}, " (git 4624de3a1b2c)"},
		{[]debug.BuildSetting{{Key: "vcs.modified", Value: "true"}, {Key: "vcs.revision", Value: "abc"}}, " (git abc+modified)"},
	}
	for _, c := range cases {
		if got := commit(c.settings); got != c.want {
			t.Errorf("commit(%v) = %q, want %q", c.settings, got, c.want)
		}
	}
	if s := String(); !strings.HasPrefix(s, Version) {
		t.Errorf("String() = %q, does not start with %s", s, Version)
	}
}
