package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"time"

	"github.com/storagegrid/storagegrid/blockdev"
	"github.com/storagegrid/storagegrid/internal/fail"
)

// The disk lease. Hosts that share a node's var-local device share nothing
// else, so the record on it is how they agree who owns the node, in the
// manner of sanlock's delta leases:
//
//  1. read the record (O_DIRECT on block devices: what the other host
//     wrote, not this host's page cache) and decide from it whether this
//     host may claim the node at all;
//  2. write the claim (the next generation, in the other slot);
//  3. wait ClaimWait, then read the record again: the claim holds only if
//     it is still the newest record.
//
// A claimant whose read-to-write (step 1 to the end of step 2) took longer
// than ClaimWait/2 gives up instead of trusting its claim (one whose read
// alone took a quarter of it reads again first: nothing is written yet). So when two
// hosts claim at once, whichever writes second writes before the first
// one's read-back: both read back the same newest record, and exactly one
// of them finds its own. A claimant that read the other's claim in step 1
// is refused there.
//
// A running node's owner rewrites its claim every RenewEvery (Renewer), so
// a claim not renewed for ExpireAfter belongs to a host that is gone; only
// then may another host take it, and only with --force.

// LeaseTiming is settings' [lease].
type LeaseTiming struct {
	ClaimWait   time.Duration
	RenewEvery  time.Duration
	ExpireAfter time.Duration
}

// DefaultLease is the timing of a Manager whose Ownership sets none.
var DefaultLease = LeaseTiming{ClaimWait: 600 * time.Millisecond, RenewEvery: 5 * time.Second, ExpireAfter: 30 * time.Second}

func (o Ownership) lease() LeaseTiming {
	if o.Lease.ClaimWait <= 0 {
		return DefaultLease
	}
	return o.Lease
}

// ErrClaimTooSlow is matched when a claim's read-to-write took longer
// than half of the claim wait, so that it cannot be trusted.
var ErrClaimTooSlow = errors.New("the claim was too slow to be safe")

// eligibility decides from the record read in step 1 whether this host
// may claim: found is false on a device without a record; readErr is the
// read's error (a damaged record, say), for the decider to refuse or
// accept.
type eligibility func(cur blockdev.Record, found bool, readErr error) error

// claimRecord runs the claim protocol above: want (its HostUUID this
// host's) becomes the record if this host wins. A lost race is refused as
// the runbook refuses another host's node.
func (o Ownership) claimRecord(dev blockdev.Device, want blockdev.Record, action string, eligible eligibility) (blockdev.Record, error) {
	timing := o.lease()
	var written, prev blockdev.Record
	var err error
	var began time.Time
	for attempt := 1; ; attempt++ {
		began = time.Now()
		// One read decides and places the claim; if it took too long,
		// nothing is written and it is simply read again.
		written, prev, err = dev.WriteRecordIf(want, timing.ClaimWait/4, eligible)
		if !errors.Is(err, blockdev.ErrSlow) || attempt == 3 {
			break
		}
	}
	if err != nil {
		if errors.Is(err, blockdev.ErrSlow) {
			return blockdev.Record{}, fmt.Errorf("node %s: %w: reading the record on %s took more than a quarter of "+
				"lease.claim_wait (%s) three times; the device is too slow for that setting: retry, or raise lease.claim_wait",
				want.Node, ErrClaimTooSlow, dev.Path, timing.ClaimWait)
		}
		return blockdev.Record{}, err
	}
	if took := time.Since(began); took > timing.ClaimWait/2 {
		// The write itself stalled: it may have landed after another
		// claimant read back and won. Put back the record it replaced
		// (still in the other slot), so as not to take that host's node.
		if prev.Generation > 0 {
			dev.WriteRecord(prev)
		}
		return blockdev.Record{}, fmt.Errorf("node %s: %w: writing the claim on %s took %s, more than half of "+
			"lease.claim_wait (%s); the claim was withdrawn: retry, or raise lease.claim_wait",
			want.Node, ErrClaimTooSlow, dev.Path, took.Round(time.Millisecond), timing.ClaimWait)
	}
	time.Sleep(timing.ClaimWait)
	back, err := dev.ReadRecord()
	if err != nil {
		return blockdev.Record{}, fmt.Errorf("node %s: read back claim: %w", want.Node, err)
	}
	if back.Generation != written.Generation || back.HostUUID != written.HostUUID || back.Node != written.Node {
		return blockdev.Record{}, fail.With(fail.Refused, &OwnedError{Node: want.Node, Host: back.HostUUID,
			State: back.State, Action: action, Detail: "It claimed the node at the same moment as this host, and won."})
	}
	return written, nil
}

// age is how long ago rec's writer wrote it, by this host's clock; never
// negative (a writer whose clock is ahead looks fresh, which is safe).
func age(rec blockdev.Record) time.Duration {
	return max(time.Since(rec.Time), 0)
}

// ErrLeaseLost is matched when a running node's record no longer names
// this host: another host took the node over.
var ErrLeaseLost = errors.New("lease lost")

// Renewer returns what keeps a running node's claim fresh: a function the
// payload's supervisor calls every RenewEvery. It rewrites the record with
// the current time when the newest record is still this host's active
// claim; when another host's record has replaced it, it returns an error
// matching ErrLeaseLost, and the node must stop: it no longer owns its
// devices. A Manager without host checks renews nothing (nil).
func (m *Manager) Renewer(name string) (renew func() error, every time.Duration, err error) {
	if m.own == nil {
		return nil, 0, nil
	}
	o := *m.own
	_, dev, host, err := m.owned(name)
	if err != nil {
		return nil, 0, err
	}
	renew = func() error {
		// The node lock keeps renewal off records start, stop and reload
		// are writing; a busy lock waits for the next round.
		ctx, cancel := context.WithTimeout(context.Background(), o.lease().RenewEvery/4)
		defer cancel()
		lock, err := LockNode(ctx, m.root, name)
		if err != nil {
			return nil
		}
		defer lock.Unlock()
		rec, err := dev.ReadRecord()
		if err != nil {
			return fmt.Errorf("node %s: renew claim: %w", name, err)
		}
		if rec.Node != name || rec.HostUUID != host || rec.State != blockdev.Active {
			return fmt.Errorf("node %s: %w: the record on %s now says %s by host %s", name, ErrLeaseLost, dev.Path, rec.State, rec.HostUUID)
		}
		rec.Time = time.Time{}
		if _, err := dev.WriteRecord(rec); err != nil {
			return fmt.Errorf("node %s: renew claim: %w", name, err)
		}
		return nil
	}
	return renew, o.lease().RenewEvery, nil
}

// KeepClaim renews a running node's claim for a payload that runs without
// a supervisor of this tool's, as under the systemd unit ('node
// run-payload' starts it beside the payload it becomes): it calls renew
// every interval while process pid (the payload) lives, and returns nil
// once it has ended. When renew reports ErrLeaseLost it sends the payload
// SIGTERM (it no longer owns its devices; systemd's stop does the rest)
// and returns that error. Other renewal errors are written to log.
func KeepClaim(ctx context.Context, pid int, renew func() error, every time.Duration, log io.Writer) error {
	payload, err := procOf(pid)
	if err != nil {
		return fmt.Errorf("payload pid %d: %w", pid, err)
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if !payload.alive() {
			return nil
		}
		err := renew()
		if errors.Is(err, ErrLeaseLost) {
			fmt.Fprintf(log, "storagegrid: %v; stopping the payload (pid %d)\n", err, pid)
			payload.signal(syscall.SIGTERM)
			return err
		}
		if err != nil {
			fmt.Fprintf(log, "storagegrid: %v\n", err)
		}
	}
}

// EnsureClaim makes sure this host holds the active claim of node name
// before its payload runs outside 'node start' (the systemd unit can be
// started with systemctl too): a record that already says active here
// (node start claimed it) is left alone; otherwise the node is claimed as
// start claims it, refusals included.
func (m *Manager) EnsureClaim(ctx context.Context, name string) error {
	if m.own == nil {
		return nil
	}
	_, dev, host, err := m.owned(name)
	if err != nil {
		return err
	}
	if rec, err := dev.ReadRecord(); err == nil && rec.Node == name && rec.HostUUID == host && rec.State == blockdev.Active {
		return nil
	}
	lock, err := LockNode(ctx, m.root, name)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	_, err = m.claim(name)
	return err
}
