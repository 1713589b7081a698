package node

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// proc identifies one process across PID reuse: its PID and its start
// time in clock ticks since boot (field 22 of /proc/PID/stat). A PID alone
// may name a different process after the first one exits.
type proc struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start_ticks"`
}

// procOf reads the identity of process pid, which may be a zombie not yet
// reaped.
func procOf(pid int) (proc, error) {
	start, _, err := readStat(pid)
	if err != nil {
		return proc{}, err
	}
	return proc{PID: pid, Start: start}, nil
}

// alive reports whether the process still runs: same PID, same start
// time, not a zombie.
func (p proc) alive() bool {
	if p.PID <= 0 {
		return false
	}
	start, state, err := readStat(p.PID)
	return err == nil && start == p.Start && state != 'Z' && state != 'X'
}

// signal sends sig to the process if it is still the one recorded. The
// os.Process handle is a pidfd on Linux, so the check and the signal
// cannot hit a process that took over the PID in between.
func (p proc) signal(sig syscall.Signal) error {
	pr, err := os.FindProcess(p.PID)
	if err != nil || !p.alive() {
		return nil
	}
	defer pr.Release()
	if err := pr.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal process %d: %w", p.PID, err)
	}
	return nil
}

// signalGroup sends sig to the process group p leads, reaching helpers a
// payload started, if p is still the one recorded.
func (p proc) signalGroup(sig syscall.Signal) error {
	if !p.alive() {
		return nil
	}
	if err := syscall.Kill(-p.PID, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal process group %d: %w", p.PID, err)
	}
	return nil
}

// readStat returns the start time and state letter of pid from
// /proc/PID/stat. The command name (field 2) may hold spaces and
// parentheses, so fields are counted from the last ')'.
func readStat(pid int) (start uint64, state byte, err error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	// After ") " come field 3 (state) onwards; start time is field 22.
	fields := bytes.Fields(data[i+1:])
	if len(fields) < 20 || len(fields[0]) != 1 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	start, err = strconv.ParseUint(string(fields[19]), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("/proc/%d/stat: start time: %w", pid, err)
	}
	return start, fields[0][0], nil
}
