package archive

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/storagegrid/storagegrid/audit"
	"github.com/storagegrid/storagegrid/internal/fail"
)

// AuditSource says where FailedRetrievals reads and whom it tells about
// what it had to pass over.
type AuditSource struct {
	Dir   string              // the audit log directory
	Name  func(string) string // how a file is named in messages; nil: its path
	Since time.Time           // only failures at or after it; zero: all
	Warn  func(error)         // unreadable files, malformed lines, unusable CBIDs
}

func (src AuditSource) warn(err error) {
	if src.Warn != nil {
		src.Warn(err)
	}
}

// FailedRetrievals reads the failed retrievals of Archive Node nodeID
// from the audit logs: ARCE messages with RSLT ARUN or GERR. Unreadable
// files and malformed lines go to Warn and the rest is used; the error is
// then of kind fail.Partial, with the targets that could be read.
func FailedRetrievals(ctx context.Context, src AuditSource, nodeID string) ([]Target, error) {
	node, err := ParseNodeID(nodeID)
	if err != nil {
		return nil, fail.With(fail.Usage, err)
	}
	anid, _ := strconv.ParseUint(node, 10, 32)
	f := audit.Filter{Types: []string{"ARCE"}, Results: []string{"ARUN", "GERR"}, NodeID: uint32(anid), Since: src.Since}
	var targets []Target
	_, err = audit.Scan(ctx, audit.ScanOptions{Dir: src.Dir, Filter: f, Name: src.Name, OnError: src.warn},
		func(m audit.Message) error {
			if t, err := target(m, node); err != nil {
				src.warn(err)
			} else {
				targets = append(targets, t)
			}
			return nil
		})
	if err != nil && fail.KindOf(err) != fail.Partial {
		return nil, err
	}
	if err != nil {
		src.warn(fmt.Errorf("%w; using the messages that could be read", err))
	}
	return targets, err // a partial error: the logs could not all be read
}

// target is the recovery target a failed ARCE message names.
func target(m audit.Message, node string) (Target, error) {
	id, err := ParseCBID(m.CBID)
	if err != nil {
		return Target{}, fmt.Errorf("%s:%d: ARCE message without a usable CBID: %v", m.File, m.Line, err)
	}
	return Target{CBID: id, NodeID: node, VolumeID: m.Value("VLID"), Result: m.Result, Time: m.Time,
		Source: fmt.Sprintf("%s:%d", m.File, m.Line)}, nil
}
