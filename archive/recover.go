package archive

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/storagegrid/storagegrid/internal/fail"
)

// Target is one failed retrieval to recover from: a failed ARCE audit
// message (RSLT ARUN or GERR) reduced to what recovery needs.
type Target struct {
	CBID     CBID      `json:"cbid"`
	NodeID   string    `json:"node_id"`             // ANID: the Archive Node that failed
	VolumeID string    `json:"volume_id,omitempty"` // VLID: the TSM high-level name
	Result   string    `json:"result,omitempty"`    // RSLT: ARUN or GERR
	Time     time.Time `json:"time"`                // ATIM of the message
	Source   string    `json:"source,omitempty"`    // where it was found, e.g. file:line
}

// Action is what a recovery run does for an object.
type Action string

// The actions.
const (
	ActCancelAndLose Action = "cancel+object_lost"
	ActLose          Action = "object_lost"      // the cancel is already journaled
	ActNone          Action = "none"             // already lost: never again
	ActHold          Action = "hold"             // outcome unknown: the operator decides
	ActUnconfirmed   Action = "skip-unconfirmed" // TSM verification found no evidence
)

// Item is one unique object of a recovery plan.
type Item struct {
	Target
	Failures int       `json:"failures"` // failed ARCE messages seen for it
	Progress Progress  `json:"journal"`
	Action   Action    `json:"action"`
	TSM      *Evidence `json:"tsm,omitempty"`
}

// Plan reduces targets to the unique CBIDs of nodeID (oldest failure
// first) and decides each one's action from the journal. An object whose
// Object_Lost outcome is unknown is held unless it is in retry, which
// the operator passes after checking that the command did not take effect.
func Plan(targets []Target, nodeID string, j *Journal, retry []CBID) []Item {
	retrySet := map[CBID]bool{}
	for _, c := range retry {
		retrySet[c] = true
	}
	index := map[CBID]int{}
	var items []Item
	for _, t := range targets {
		if t.NodeID != nodeID {
			continue
		}
		if i, ok := index[t.CBID]; ok {
			items[i].Failures++
			if t.Time.Before(items[i].Time) {
				items[i].Target = t
			}
			continue
		}
		index[t.CBID] = len(items)
		items = append(items, Item{Target: t, Failures: 1})
	}
	sort.SliceStable(items, func(a, b int) bool { return items[a].Time.Before(items[b].Time) })
	for i := range items {
		p := j.Progress(items[i].CBID)
		items[i].Progress = p
		items[i].Action = actionFor(p, retrySet[p.CBID])
	}
	return items
}

// PlanObjectLost plans the runbook's step d alone (Object_Lost, no
// cancel) for CBIDs given by the operator, with the same journal rules
// as Plan.
func PlanObjectLost(cbids []CBID, nodeID string, j *Journal, retry []CBID) []Item {
	ts := make([]Target, len(cbids))
	for i, c := range cbids {
		ts[i] = Target{CBID: c, NodeID: nodeID}
	}
	items := Plan(ts, nodeID, j, retry)
	for i := range items {
		if items[i].Action == ActCancelAndLose {
			items[i].Action = ActLose
		}
	}
	return items
}

func actionFor(p Progress, retry bool) Action {
	switch p.Status {
	case StatusLost:
		return ActNone
	case StatusUnknown:
		if !retry {
			return ActHold
		}
	}
	if p.cancelDone {
		return ActLose
	}
	return ActCancelAndLose
}

// Sends reports whether the item's action sends anything.
func (it Item) Sends() bool { return it.Action == ActCancelAndLose || it.Action == ActLose }

// CountSends returns how many items send something.
func CountSends(items []Item) int {
	n := 0
	for _, it := range items {
		if it.Sends() {
			n++
		}
	}
	return n
}

// Held lists the CBIDs of the items held because their Object_Lost
// outcome is unknown: the operator must decide about them first.
func Held(items []Item) []CBID {
	var held []CBID
	for _, it := range items {
		if it.Action == ActHold {
			held = append(held, it.CBID)
		}
	}
	return held
}

// Outcome is how an item ended in a run.
type Outcome string

// The outcomes.
const (
	OutLost         Outcome = "lost"          // Object_Lost answered SUCS in this run
	OutAlreadyLost  Outcome = "already-lost"  // the journal says SUCS: nothing sent
	OutUnknown      Outcome = "unknown"       // Object_Lost sent (now or before), reply lost
	OutFailed       Outcome = "failed"        // cancel or Object_Lost failed; a rerun retries
	OutNotAttempted Outcome = "not-attempted" // the run stopped before this item
	OutUnconfirmed  Outcome = "unconfirmed"   // TSM showed no evidence; nothing sent
)

// Result is one item's outcome.
type Result struct {
	CBID      CBID    `json:"cbid"`
	Outcome   Outcome `json:"outcome"`
	Cancelled *int    `json:"cancelled,omitempty"` // requests the cancel sent in this run found
	Code      string  `json:"result,omitempty"`
	Error     string  `json:"error,omitempty"`
}

// Summary is the whole run's outcome.
type Summary struct {
	NodeID  string   `json:"node_id"`
	Journal string   `json:"journal"`
	Results []Result `json:"results"`
}

// Count returns how many results have outcome o.
func (s Summary) Count(o Outcome) int {
	n := 0
	for _, r := range s.Results {
		if r.Outcome == o {
			n++
		}
	}
	return n
}

// ManualStep is the runbook's last step, which only the Grid Manager can do.
const ManualStep = "In the Grid Manager, go to Archive Node > ARC > Retrieve > Configuration, " +
	"select Reset Request Failure Count, and click Apply Changes."

// NeedsManualStep reports whether the run leaves ManualStep to do: once
// an object is declared lost, the node's failed-request count is stale.
func (s Summary) NeedsManualStep() bool { return s.Count(OutLost)+s.Count(OutAlreadyLost) > 0 }

// Err classifies the run: nil when every object is lost (now or
// before), partial when some are and others are not, failed otherwise.
func (s Summary) Err() error {
	done := s.Count(OutLost) + s.Count(OutAlreadyLost)
	left := len(s.Results) - done
	switch {
	case left == 0:
		return nil
	case done > 0:
		return fail.Partialf("%d of %d objects not recovered", left, len(s.Results))
	}
	return fmt.Errorf("none of %d objects recovered", len(s.Results))
}

// Session is a console connection; *Console is one.
type Session interface {
	Runner
	Close() error
}

// Executor runs a plan against the console, journaling every command.
type Executor struct {
	NodeID   string
	Journal  *Journal
	Dial     func(ctx context.Context) (Session, error)
	Progress func(Result) // called after each item, for live output
	// KeepGoing sends on after an Object_Lost whose reply never came.
	// Without it the run stops there: replies that stop coming mean a
	// console that is slow or gone, and every further send would only
	// add an object whose outcome must be checked by hand.
	KeepGoing bool
}

// StoppedError is a run that stopped at the first Object_Lost whose
// outcome is unknown.
type StoppedError struct {
	CBID CBID
	Left int // items not attempted
}

func (e *StoppedError) Error() string {
	return fmt.Sprintf("stopped at the first unknown outcome (CBID %s): %d objects not attempted "+
		"(--keep-going sends on past unknown outcomes)", e.CBID, e.Left)
}

// Execute sends cancel and Object_Lost for the items that need them. A
// broken session is redialled for the next item; if dialling fails the
// run stops and the rest are not attempted. A journal write failure stops
// the run at once: without the journal we could not tell later what went
// out.
func (e *Executor) Execute(ctx context.Context, items []Item) (Summary, error) {
	sum := Summary{NodeID: e.NodeID, Journal: e.Journal.Path()}
	var sess Session
	defer func() {
		if sess != nil {
			sess.Close()
		}
	}()
	var stop error
	var stopped *StoppedError
	for _, it := range items {
		var r Result
		switch {
		case stopped != nil:
			r = Result{CBID: it.CBID, Outcome: OutNotAttempted,
				Error: fmt.Sprintf("not attempted: the run stopped at the unknown outcome of %s", stopped.CBID)}
		case stop != nil:
			r = Result{CBID: it.CBID, Outcome: OutNotAttempted, Error: stop.Error()}
		case !it.Sends():
			r = skipped(it)
		default:
			if sess == nil {
				s, err := e.Dial(ctx)
				if err != nil {
					stop = err
					r = Result{CBID: it.CBID, Outcome: OutNotAttempted, Error: err.Error()}
					break
				}
				sess = s
			}
			var jerr error
			r, jerr = e.recoverOne(ctx, sess, it)
			if jerr != nil {
				sum.Results = append(sum.Results, r)
				return sum, jerr
			}
			if r.Outcome != OutLost { // a fresh session for the next item
				sess.Close()
				sess = nil
			}
			if ctx.Err() != nil {
				stop = ctx.Err()
			} else if r.Outcome == OutUnknown && !e.KeepGoing {
				stopped = &StoppedError{CBID: it.CBID}
				stop = stopped
			}
		}
		sum.Results = append(sum.Results, r)
		if e.Progress != nil {
			e.Progress(r)
		}
	}
	if stop != nil && errors.Is(stop, context.Canceled) {
		return sum, stop
	}
	if stopped != nil {
		stopped.Left = sum.Count(OutNotAttempted)
		return sum, fail.With(fail.Partial, stopped)
	}
	return sum, nil
}

func skipped(it Item) Result {
	r := Result{CBID: it.CBID, Code: it.Progress.Result}
	switch it.Action {
	case ActNone:
		r.Outcome = OutAlreadyLost
	case ActHold:
		r.Outcome = OutUnknown
		r.Error = "Object_Lost was sent earlier but its reply never came back; not resent"
	case ActUnconfirmed:
		r.Outcome = OutUnconfirmed
		r.Error = "no data integrity error for this CBID in the TSM activity log; not sent"
	}
	return r
}

// recoverOne cancels (unless already journaled) and sends Object_Lost. The
// second return is a journal failure, which must stop the run.
func (e *Executor) recoverOne(ctx context.Context, s Session, it Item) (Result, error) {
	r := Result{CBID: it.CBID}
	if it.Action == ActCancelAndLose {
		if err := e.Journal.Append(Record{CBID: it.CBID, Op: OpCancel, State: stateSending}); err != nil {
			return failed(r, err), err
		}
		n, err := Cancel(ctx, s, it.CBID)
		if err != nil {
			return failed(r, err), e.Journal.Append(Record{CBID: it.CBID, Op: OpCancel, State: sendState(err), Error: err.Error()})
		}
		r.Cancelled = &n
		if err := e.Journal.Append(Record{CBID: it.CBID, Op: OpCancel, State: stateDone, Cancelled: &n}); err != nil {
			return failed(r, err), err
		}
	}
	if err := e.Journal.Append(Record{CBID: it.CBID, Op: OpObjectLost, State: stateSending}); err != nil {
		return failed(r, err), err
	}
	err := ObjectLost(ctx, s, it.CBID, e.NodeID)
	rec := Record{CBID: it.CBID, Op: OpObjectLost}
	var re *ResultError
	switch {
	case err == nil:
		rec.State, rec.Result = stateDone, ResultSuccess
		r.Outcome, r.Code = OutLost, ResultSuccess
	case errors.As(err, &re):
		rec.State, rec.Result, rec.Error = stateFailed, re.Code, err.Error()
		r.Outcome, r.Code, r.Error = OutFailed, re.Code, err.Error()
	default:
		rec.State, rec.Error = sendState(err), err.Error()
		r = failed(r, err)
		if rec.State == stateUnknown {
			r.Outcome = OutUnknown
		}
	}
	return r, e.Journal.Append(rec)
}

// sendState journals a failed exchange: unknown when the command may have
// reached the console (sent, or answered with something unreadable),
// unsent when it certainly did not.
func sendState(err error) string {
	var re *ReplyError
	if OutcomeUnknown(err) || errors.As(err, &re) {
		return stateUnknown
	}
	return stateUnsent
}

func failed(r Result, err error) Result {
	r.Outcome, r.Error = OutFailed, err.Error()
	return r
}

// Verify asks TSM about every item that would send, and holds back those
// whose activity log shows no data integrity error for them: the runbook
// declares an object lost only once TSM confirms it is gone. The search
// window reaches back to the item's oldest failure.
func Verify(ctx context.Context, t *TSM, items []Item, now time.Time) error {
	for i := range items {
		if !items[i].Sends() {
			continue
		}
		ev, err := t.Check(ctx, items[i].CBID, ActlogDays(items[i].Time, now))
		if err != nil {
			return fmt.Errorf("verifying %s in TSM: %w", items[i].CBID, err)
		}
		items[i].TSM = &ev
		if !ev.Confirmed {
			items[i].Action = ActUnconfirmed
		}
	}
	return nil
}
