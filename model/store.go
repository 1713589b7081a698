package model

import (
	"context"
	"time"

	"github.com/storagegrid/storagegrid/wire"
)

// Store persists the model. Ingest is the only writer of entities and
// history; the queries read committed data only.
type Store interface {
	// Ingest stores decoded, authenticated batches in one transaction,
	// de-duplicating by (host, epoch, seq), and returns one result per
	// batch. recv is the server's time of arrival.
	Ingest(ctx context.Context, batches []*wire.Batch, recv time.Time) ([]Ingested, error)
	// Entities returns every current entity.
	Entities(ctx context.Context) ([]Entity, error)
	// Streams returns the stream state of every host heard from.
	Streams(ctx context.Context) ([]HostStream, error)
	// Changes lists stored changes in time order.
	Changes(ctx context.Context, q ChangeQuery) ([]Change, error)
	// StateAt reconstructs the entities as they were at a past time.
	StateAt(ctx context.Context, at time.Time, host string) ([]Entity, error)
	// Metrics returns latest values and roll-ups.
	Metrics(ctx context.Context, q MetricQuery) ([]Series, error)
	// Compact applies retention: history older than r.History folds into
	// one baseline per entity, roll-ups older than r.Metrics go.
	Compact(ctx context.Context, now time.Time, r Retention) (Compacted, error)
	Close() error
}

// SharedStore is a Store that other model servers write too (PGStore):
// a server follows their writes into its graph.
type SharedStore interface {
	Store
	// Cursor is the position of the last stored change.
	Cursor(ctx context.Context) (int64, error)
	// Follow returns the current state of every entity changed after
	// cursor (nil Fields: gone) and the cursor to follow from next.
	Follow(ctx context.Context, cursor int64) ([]Entity, int64, error)
}

// Ingested is the outcome of one batch.
type Ingested struct {
	Ack     wire.Ack
	Changes []Change // what the batch changed, with After set
	// RestartedFrom is the stream's epoch when the batch started the
	// host over at an older epoch (a new stream); 0 otherwise.
	RestartedFrom int64
}

// ChangeQuery selects changes: Since <= time < Until (zero Until: no
// bound), of one host when Host is set, at most Limit (0: no limit).
type ChangeQuery struct {
	Since, Until time.Time
	Host         string
	Kind         wire.Kind
	Limit        int
}

// MetricQuery selects metric series of a host (all hosts when empty),
// whose name starts with Prefix, with roll-ups since Since (none when
// zero).
type MetricQuery struct {
	Host   string
	Prefix string
	Since  time.Time
}

// Series is one metric series: its latest sample and its roll-ups.
type Series struct {
	Host    string    `json:"host"`
	Name    string    `json:"name"`
	Time    time.Time `json:"time"`
	Value   float64   `json:"value"`
	Minutes []Rollup  `json:"minutes,omitempty"`
}

// Rollup summarises the samples of one series in one minute.
type Rollup struct {
	Minute time.Time `json:"minute"`
	Count  int64     `json:"count"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Mean   float64   `json:"mean"`
}

// Retention says how long history and metric roll-ups are kept.
type Retention struct {
	History time.Duration
	Metrics time.Duration
}

// Compacted reports what Compact removed.
type Compacted struct {
	HistoryFloor   time.Time `json:"history_floor"`
	ChangesFolded  int64     `json:"changes_folded"`
	RollupsRemoved int64     `json:"rollups_removed"`
	SeriesRemoved  int64     `json:"series_removed"`
}
