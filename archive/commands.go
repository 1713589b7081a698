package archive

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/storagegrid/storagegrid/internal/fail"
)

// Runner sends one console command and returns its reply; *Console is
// the real one.
type Runner interface {
	Run(ctx context.Context, command string) (string, error)
}

// CancelCommand is the runbook's command to cancel an object's retrieval.
func CancelCommand(c CBID) string { return "/proc/BRTR/cancel -c " + string(c) }

// ObjectLostCommand is the runbook's command to declare an object's copy
// on Archive Node nodeID lost.
func ObjectLostCommand(c CBID, nodeID string) string {
	return "/proc/CMSI/Object_Lost " + string(c) + " " + nodeID
}

// ResultSuccess is the result code of a successful Object_Lost.
const ResultSuccess = "SUCS"

var (
	cancelRE = regexp.MustCompile(`(?i)\b(\d+)\s+requests?\s+cancell?ed\b`)
	// The runbook prints plain quotes; copies of it carry typographic ones.
	lostRE = regexp.MustCompile(`CLOC_LOST_ANS returned result\s*['‘’]([A-Za-z0-9_]+)['‘’]`)
)

// ReplyError is a console reply that does not say what we need to know.
type ReplyError struct {
	Command string
	Reply   string
	Want    string
}

func (e *ReplyError) Error() string {
	return fmt.Sprintf("sent %q: unexpected reply %s (want %s)", e.Command, clip(e.Reply), e.Want)
}

// ResultError is an Object_Lost answered with a result other than SUCS:
// the console did not declare the object lost.
type ResultError struct {
	Command string
	Code    string
}

func (e *ResultError) Error() string {
	return fmt.Sprintf("sent %q: CLOC_LOST_ANS returned result '%s', not '%s'", e.Command, e.Code, ResultSuccess)
}

// Cancel cancels the retrievals of c and returns how many the console
// cancelled: 1 when the tape was the only source, 0 when another copy
// serves the retrieval (runbook).
func Cancel(ctx context.Context, r Runner, c CBID) (int, error) {
	cmd := CancelCommand(c)
	reply, err := r.Run(ctx, cmd)
	if err != nil {
		return 0, err
	}
	return parseCancel(cmd, reply)
}

func parseCancel(cmd, reply string) (int, error) {
	m := cancelRE.FindStringSubmatch(reply)
	if m == nil {
		return 0, &ReplyError{Command: cmd, Reply: reply, Want: `"N requests cancelled"`}
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 0, &ReplyError{Command: cmd, Reply: reply, Want: "a request count"}
	}
	return n, nil
}

// ObjectLost declares the copy of c on Archive Node nodeID lost. It
// succeeds only when the console answers 'SUCS'; another code is a
// *ResultError, a reply without a result a *ReplyError.
func ObjectLost(ctx context.Context, r Runner, c CBID, nodeID string) error {
	cmd := ObjectLostCommand(c, nodeID)
	reply, err := r.Run(ctx, cmd)
	if err != nil {
		return err
	}
	return parseObjectLost(cmd, reply)
}

func parseObjectLost(cmd, reply string) error {
	m := lostRE.FindStringSubmatch(reply)
	if m == nil {
		return &ReplyError{Command: cmd, Reply: reply, Want: "CLOC_LOST_ANS returned result 'SUCS'"}
	}
	if m[1] != ResultSuccess {
		return &ResultError{Command: cmd, Code: m[1]}
	}
	return nil
}

// CancelResult is one CBID's outcome in CancelAll.
type CancelResult struct {
	CBID      CBID   `json:"cbid"`
	Cancelled *int   `json:"cancelled,omitempty"` // requests the console cancelled
	Error     string `json:"error,omitempty"`
}

// CancelAll cancels the retrievals of each CBID in turn over one session.
// Once the session breaks (a *ConsoleError), the rest are not sent: a
// cancel is harmless to repeat, so the operator reruns them. The error
// classifies the run: nil when every cancel succeeded, partial when some
// did, failed when none did.
func CancelAll(ctx context.Context, con Runner, ids []CBID) ([]CancelResult, error) {
	results := make([]CancelResult, 0, len(ids))
	failed := 0
	var broken error
	for _, id := range ids {
		r := CancelResult{CBID: id}
		if broken != nil {
			r.Error = "not sent: " + broken.Error()
		} else if n, err := Cancel(ctx, con, id); err != nil {
			r.Error = err.Error()
			var ce *ConsoleError
			if errors.As(err, &ce) {
				broken = err
			}
		} else {
			r.Cancelled = &n
		}
		if r.Error != "" {
			failed++
		}
		results = append(results, r)
	}
	return results, itemsErr(failed, len(results), "cancels")
}

// itemsErr classifies a run over n items of which failed did not succeed.
func itemsErr(failed, n int, what string) error {
	switch {
	case failed == 0:
		return nil
	case failed < n:
		return fail.Partialf("%d of %d %s failed", failed, n, what)
	}
	return fmt.Errorf("all %d %s failed", n, what)
}
