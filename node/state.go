package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/storagegrid/storagegrid/internal/atomicfile"
	"github.com/storagegrid/storagegrid/internal/hostpath"
)

// Host paths the process runtime keeps its state under.
const (
	RunDir  = "/run/storagegrid"
	LockDir = RunDir + "/lock"
	LogDir  = "/var/log/storagegrid/nodes"
)

// phase is where a supervisor is in a node's life.
type phase string

const (
	phaseStarting phase = "starting" // payload launched, not yet settled
	phaseRunning  phase = "running"
	phaseStopping phase = "stopping" // stop signal sent, waiting for exit
	phaseStopped  phase = "stopped"  // final: the supervisor is done
)

// runRecord is the supervisor's account of one run of a node, kept in
// RunDir/nodes/NAME/state.json. The supervisor is its only writer while
// it lives; stop writes it for an orphaned payload.
type runRecord struct {
	Node       string    `json:"node"`
	Phase      phase     `json:"phase"`
	Supervisor proc      `json:"supervisor"`
	Payload    proc      `json:"payload"`
	StartedAt  time.Time `json:"started_at"`
	StoppedAt  time.Time `json:"stopped_at,omitzero"`
	Exit       string    `json:"exit,omitempty"`  // how the payload ended
	Early      bool      `json:"early,omitempty"` // ended before it settled
	Clean      bool      `json:"clean,omitempty"` // ended after a stop request, in time
	Killed     bool      `json:"killed,omitempty"`
	Error      string    `json:"error,omitempty"` // the payload could not be launched
}

// stopRequest tells a supervisor how to stop; stop writes it in
// RunDir/nodes/NAME/stop.json before signalling the supervisor.
type stopRequest struct {
	Timeout time.Duration `json:"timeout_ns"`
	Force   bool          `json:"force"`
}

// runState derives what status shows from the record and the processes
// it names.
func (r runRecord) runState() RunState {
	sup, pay := r.Supervisor.alive(), r.Payload.alive()
	switch {
	case !sup && pay:
		return Orphaned
	case !sup || r.Phase == phaseStopped:
		return NotRunning
	case r.Phase == phaseStarting:
		return Starting
	case r.Phase == phaseStopping:
		return Stopping
	case pay:
		return Running
	default:
		return NotRunning // the payload ended; the supervisor is recording it
	}
}

// nodeRunDir is where a node's runtime files live, under the root.
func nodeRunDir(root hostpath.Root, name string) string {
	return root.Join(RunDir + "/nodes/" + name)
}

func statePath(root hostpath.Root, name string) string {
	return filepath.Join(nodeRunDir(root, name), "state.json")
}

func stopPath(root hostpath.Root, name string) string {
	return filepath.Join(nodeRunDir(root, name), "stop.json")
}

// readRecord loads a node's run record; ok is false when it never ran.
func readRecord(root hostpath.Root, name string) (rec runRecord, ok bool, err error) {
	data, err := os.ReadFile(statePath(root, name))
	if errors.Is(err, fs.ErrNotExist) {
		return rec, false, nil
	}
	if err == nil {
		err = json.Unmarshal(data, &rec)
	}
	if err != nil {
		return rec, false, fmt.Errorf("node %s: run state %s/nodes/%s/state.json: %w", name, RunDir, name, unwrapPath(err))
	}
	return rec, true, nil
}

func writeJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(data, '\n'), 0o644)
}

// readStopRequest returns the pending stop request, or def when none was
// written (the supervisor was signalled by something else).
func readStopRequest(root hostpath.Root, name string, def stopRequest) stopRequest {
	data, err := os.ReadFile(stopPath(root, name))
	if err != nil {
		return def
	}
	req := def
	if json.Unmarshal(data, &req) != nil {
		return def
	}
	if req.Timeout <= 0 {
		req.Timeout = def.Timeout
	}
	return req
}
