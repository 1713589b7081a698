package model

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/storagegrid/storagegrid/wire"
)

// memState is what ingest resolves events against: each host's current
// entities and stream position, and the interned metric series. A store
// keeps it in memory because every event needs it; the database is the
// truth, and a store reloads what a failed transaction may have left
// wrong.
type memState struct {
	cur     map[string]map[kindID]*cached
	streams map[string]*HostStream
	series  map[seriesKey]int64
}

func newMemState() memState {
	return memState{cur: map[string]map[kindID]*cached{}, streams: map[string]*HostStream{}, series: map[seriesKey]int64{}}
}

type kindID struct {
	kind wire.Kind
	id   string
}

type cached struct {
	fields    map[string]string
	since     time.Time
	seenEpoch int64
	seenSeq   uint64
}

type seriesKey struct{ host, name string }

func (m *memState) hostMap(host string) map[kindID]*cached {
	hm := m.cur[host]
	if hm == nil {
		hm = map[kindID]*cached{}
		m.cur[host] = hm
	}
	return hm
}

// rows is what scanSeries needs of database/sql's and pgx's rows alike.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// scanSeries interns the rows of (id, host, name) it is given.
func (m *memState) scanSeries(r rows) error {
	for r.Next() {
		var id int64
		var k seriesKey
		if err := r.Scan(&id, &k.host, &k.name); err != nil {
			return err
		}
		m.series[k] = id
	}
	return r.Err()
}

// rowWriter writes what an ingest decided, inside the store's
// transaction: SQLite executes each row at once, PostgreSQL queues them
// and sends them together.
type rowWriter interface {
	putEntity(host string, k kindID, fields string, since time.Time, epoch int64, seq uint64) error
	touchEntity(host string, k kindID, epoch int64, seq uint64) error
	delEntity(host string, k kindID) error
	addChange(ch *Change, recv time.Time, epoch int64, seq uint64) error
	putStream(st *HostStream) error
	// internSeries gives each key a series id in mem.series.
	internSeries(mem *memState, keys []seriesKey) error
	putLatest(series int64, s sampleAt) error
	putMinute(series, minute int64, r *rollAcc) error
}

// ingestTx is one Ingest: the same decisions for every store.
type ingestTx struct {
	mem  *memState
	rw   rowWriter
	recv time.Time
	agg  *metricAgg
}

// runIngest resolves batches against mem, updating it, and writes the
// outcome through rw. On an error the caller rolls back and reloads mem.
func runIngest(mem *memState, rw rowWriter, batches []*wire.Batch, recv time.Time) ([]Ingested, error) {
	w := &ingestTx{mem: mem, rw: rw, recv: recv, agg: newMetricAgg()}
	out := make([]Ingested, len(batches))
	for i, b := range batches {
		res, err := w.batch(b)
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", b.Host, err)
		}
		out[i] = res
	}
	return out, w.agg.flush(mem, rw)
}

func (w *ingestTx) batch(b *wire.Batch) (Ingested, error) {
	st := w.mem.streams[b.Host]
	if st == nil {
		st = &HostStream{Host: b.Host, FirstSeen: w.recv}
		w.mem.streams[b.Host] = st
	}
	res := Ingested{Ack: wire.Ack{Host: b.Host}}
	for i := range b.Events {
		ev := &b.Events[i]
		if ev.Epoch < st.Epoch && ev.Seq == 1 && ev.Op == wire.OpSnapshot {
			// The first event of a stream, at an epoch older than the
			// host's: its agent started over (its spool was lost, its
			// clock is behind). A healthy agent never sends an older
			// epoch after a newer one (its spool ships in order and
			// acks are cumulative), so this is a new stream, taken
			// whatever its epoch; the server says so.
			res.RestartedFrom = st.Epoch
			st.Epoch, st.Seq = ev.Epoch, 0
		}
		switch {
		case ev.Epoch < st.Epoch:
			res.Ack.Stale++
			continue
		case ev.Epoch == st.Epoch && ev.Seq <= st.Seq:
			res.Ack.Duplicates++
			continue
		}
		st.Epoch, st.Seq = ev.Epoch, ev.Seq
		res.Ack.Stored++
		if err := w.apply(ev, &res.Changes); err != nil {
			return res, fmt.Errorf("epoch %d seq %d: %w", ev.Epoch, ev.Seq, err)
		}
	}
	st.LastSeen = w.recv
	res.Ack.Epoch, res.Ack.Seq = st.Epoch, st.Seq
	return res, w.rw.putStream(st)
}

// apply resolves one new event against the current state.
func (w *ingestTx) apply(ev *wire.Event, changes *[]Change) error {
	k := kindID{ev.Kind, ev.ID}
	switch ev.Op {
	case wire.OpSample:
		v, _ := wire.ParseValue(ev.Fields[wire.FieldValue]) // checked by wire
		w.agg.add(ev.Host, ev.ID, ev.Time, v)
		return nil
	case wire.OpSnapshot, wire.OpAdded:
		return w.put(ev, k, ev.Fields, changes)
	case wire.OpChanged:
		return w.put(ev, k, merged(w.mem.cur[ev.Host][k], ev), changes)
	case wire.OpRemoved:
		return w.remove(ev, k, changes)
	case wire.OpSnapshotEnd:
		first, _ := strconv.ParseUint(ev.Fields[wire.FieldFirstSeq], 10, 64) // checked by wire
		var gone []kindID
		for k, c := range w.mem.cur[ev.Host] {
			// Gone unless seen in this snapshot: not seenEpoch < epoch,
			// which would keep what a stream started over at an older
			// epoch no longer has.
			if c.seenEpoch != ev.Epoch || c.seenSeq < first {
				gone = append(gone, k)
			}
		}
		// In a stable order, so the history reads the same every time.
		slices.SortFunc(gone, func(a, b kindID) int {
			return cmp.Or(cmp.Compare(kindOrder(a.kind), kindOrder(b.kind)), strings.Compare(a.id, b.id))
		})
		for _, k := range gone {
			if err := w.remove(ev, k, changes); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown op %q", ev.Op)
}

// merged applies a changed event to the entity's fields. A change of an
// entity the store does not know makes it with the fields given.
func merged(old *cached, ev *wire.Event) map[string]string {
	f := make(map[string]string, len(ev.Fields)+8)
	if old != nil {
		maps.Copy(f, old.fields)
	}
	maps.Copy(f, ev.Fields)
	for _, u := range ev.Unset {
		delete(f, u)
	}
	return f
}

func (w *ingestTx) put(ev *wire.Event, k kindID, fields map[string]string, changes *[]Change) error {
	if fields == nil {
		fields = map[string]string{}
	}
	old := w.mem.cur[ev.Host][k]
	if old != nil && maps.Equal(old.fields, fields) {
		old.seenEpoch, old.seenSeq = ev.Epoch, ev.Seq
		return w.rw.touchEntity(ev.Host, k, ev.Epoch, ev.Seq)
	}
	var before map[string]string
	op := OpAdded
	if old != nil {
		before, op = old.fields, OpChanged
	}
	ch := Change{Time: ev.Time, Host: ev.Host, Kind: k.kind, ID: k.id, Op: op, Fields: diff(before, fields), After: fields}
	if err := w.record(&ch, ev); err != nil {
		return err
	}
	js, _ := json.Marshal(fields)
	if err := w.rw.putEntity(ev.Host, k, string(js), ev.Time, ev.Epoch, ev.Seq); err != nil {
		return err
	}
	w.mem.hostMap(ev.Host)[k] = &cached{fields: fields, since: ev.Time, seenEpoch: ev.Epoch, seenSeq: ev.Seq}
	*changes = append(*changes, ch)
	return nil
}

func (w *ingestTx) remove(ev *wire.Event, k kindID, changes *[]Change) error {
	old := w.mem.cur[ev.Host][k]
	if old == nil {
		return nil
	}
	ch := Change{Time: ev.Time, Host: ev.Host, Kind: k.kind, ID: k.id, Op: OpRemoved, Fields: diff(old.fields, nil)}
	if err := w.record(&ch, ev); err != nil {
		return err
	}
	if err := w.rw.delEntity(ev.Host, k); err != nil {
		return err
	}
	delete(w.mem.cur[ev.Host], k)
	*changes = append(*changes, ch)
	return nil
}

func (w *ingestTx) record(ch *Change, ev *wire.Event) error {
	return w.rw.addChange(ch, w.recv, ev.Epoch, ev.Seq)
}
