// Package buildinfo says which storagegrid this is: the release version,
// and the commit the binary was built from when the Go toolchain recorded
// it (builds inside a git checkout do). The agent reports it in its host
// entity, `storagegrid --version` prints it.
package buildinfo

import (
	"runtime/debug"
)

// Version is the release version, the one the Debian package carries:
// contrib/scripts/build.sh sets it from `git describe` (through
// contrib/packaging/deb-version.sh) with -ldflags -X. A plain go build
// says it is a development build.
var Version = "0.0.0~dev"

// String is Version with the commit, "0.1.0 (git 4624de3a1b2c)", and
// "+modified" when the tree had uncommitted changes.
func String() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return Version
	}
	return Version + commit(info.Settings)
}

func commit(settings []debug.BuildSetting) string {
	var rev, modified string
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return ""
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if modified == "true" {
		rev += "+modified"
	}
	return " (git " + rev + ")"
}
