//go:build agentonly

package main

// The agent-only build (go build -tags agentonly,urfave_cli_no_docs; make
// build) is this same main package with only the agent command group: the
// other groups' files carry //go:build !agentonly. It exists for one
// reason, measured by bench/agent.sh: a Go process pays, at start, for the
// package initialisation of everything linked into it, and the full binary
// links the vSphere SDK (govmomi registers thousands of types), SQLite and
// the man-page renderer. The agent runs on every host all the time, and
// must cost less than the node_exporter it stands beside; the full binary
// does not, the agent-only build does. Its command line is the full
// binary's: `storagegrid-agent agent run` = `storagegrid agent run`.

const appUsage = "the storagegrid per-host agent (agent-only build; the full tool is storagegrid)"

const appDescription = "This build holds only the agent commands, so that the daemon on every\n" +
	"host stays small; everything else is in the full storagegrid binary.\n\n"

// versionNote follows the version in --version.
func versionNote() string { return " [agent-only build]" }

// notFoundHint follows the unknown-command error.
const notFoundHint = " (this is the agent-only build; the other commands are in /usr/bin/storagegrid)"
