package agent

import (
	"sort"
	"time"

	"github.com/storagegrid/storagegrid/wire"
)

type entityKey struct {
	kind wire.Kind
	id   string
}

// Tracker turns successive collections into the wire's event stream:
// one snapshot per epoch, then added/removed/changed per entity and field,
// and a sample per metric. Each collector's entities are tracked apart, so
// a link-only refresh cannot remove a node.
type Tracker struct {
	host  string
	epoch int64
	seq   uint64
	known map[string]map[entityKey]map[string]string // collector -> entity -> fields
	now   func() time.Time
}

// NewTracker starts an event stream for host in the given epoch (the
// agent's start time in Unix nanoseconds, so it grows across restarts).
func NewTracker(host string, epoch int64) *Tracker {
	return &Tracker{host: host, epoch: epoch, known: map[string]map[entityKey]map[string]string{}, now: time.Now}
}

// Seq is the last sequence number handed out.
func (t *Tracker) Seq() uint64 { return t.seq }

// Snapshot emits every collector's items as the epoch's snapshot: host
// entities first, metric samples last, then snapshot_end.
func (t *Tracker) Snapshot(byCollector map[string][]Item) []wire.Event {
	var all []Item
	for name, items := range byCollector {
		t.known[name] = index(items)
		all = append(all, items...)
	}
	sort.SliceStable(all, func(i, j int) bool { return kindRank(all[i].Kind) < kindRank(all[j].Kind) })
	first := t.seq + 1
	evs := make([]wire.Event, 0, len(all)+1)
	for _, it := range all {
		op := wire.OpSnapshot
		if it.Kind == wire.KindMetric {
			op = wire.OpSample
		}
		evs = append(evs, t.event(op, it.Kind, it.ID, it.Fields, nil))
	}
	end := map[string]string{wire.FieldFirstSeq: formatUint(first)}
	return append(evs, t.event(wire.OpSnapshotEnd, wire.KindHost, t.host, end, nil))
}

// Update compares a collector's fresh items with what it reported last.
func (t *Tracker) Update(collector string, items []Item) []wire.Event {
	old := t.known[collector]
	now := index(items)
	t.known[collector] = now
	var evs []wire.Event
	for _, it := range items {
		k := entityKey{it.Kind, it.ID}
		if it.Kind == wire.KindMetric {
			evs = append(evs, t.event(wire.OpSample, it.Kind, it.ID, it.Fields, nil))
			continue
		}
		prev, ok := old[k]
		if !ok {
			evs = append(evs, t.event(wire.OpAdded, it.Kind, it.ID, it.Fields, nil))
			continue
		}
		if changed, unset := fieldDiff(prev, it.Fields); len(changed)+len(unset) > 0 {
			evs = append(evs, t.event(wire.OpChanged, it.Kind, it.ID, changed, unset))
		}
	}
	for _, k := range sortedKeys(old) {
		if _, ok := now[k]; !ok && k.kind != wire.KindMetric {
			evs = append(evs, t.event(wire.OpRemoved, k.kind, k.id, nil, nil))
		}
	}
	return evs
}

func (t *Tracker) event(op wire.Op, kind wire.Kind, id string, fields map[string]string, unset []string) wire.Event {
	t.seq++
	return wire.Event{Host: t.host, Epoch: t.epoch, Seq: t.seq, Time: t.now().UTC(),
		Op: op, Kind: kind, ID: id, Fields: fields, Unset: unset}
}

func index(items []Item) map[entityKey]map[string]string {
	m := make(map[entityKey]map[string]string, len(items))
	for _, it := range items {
		m[entityKey{it.Kind, it.ID}] = it.Fields
	}
	return m
}

// fieldDiff returns the fields that appeared or changed, and those gone.
func fieldDiff(prev, cur map[string]string) (map[string]string, []string) {
	changed := map[string]string{}
	for f, v := range cur {
		if old, ok := prev[f]; !ok || old != v {
			changed[f] = v
		}
	}
	var unset []string
	for f := range prev {
		if _, ok := cur[f]; !ok {
			unset = append(unset, f)
		}
	}
	sort.Strings(unset)
	return changed, unset
}

func sortedKeys(m map[entityKey]map[string]string) []entityKey {
	keys := make([]entityKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].kind != keys[j].kind {
			return kindRank(keys[i].kind) < kindRank(keys[j].kind)
		}
		return keys[i].id < keys[j].id
	})
	return keys
}

// kindRank orders kinds as wire.Kinds lists them: host first, metric last.
func kindRank(k wire.Kind) int {
	for i, kk := range wire.Kinds {
		if kk == k {
			return i
		}
	}
	return len(wire.Kinds)
}
