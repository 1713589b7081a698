// Package model is the model server: the cross-layer model of a fleet of
// grid hosts, fed by the hosts' agents (package wire), kept with its full
// history, and queried for inventory, changes, impact and what-if safety
// checks.
//
// The pieces, bottom up:
//
//   - Store (store.go) persists what the agents report: the current
//     entities, every change with its time, the latest metric values and
//     one-minute roll-ups. SQLiteStore (sqlite.go) is the embedded
//     implementation: WAL, one transaction per group of batches.
//     De-duplication by (host, epoch, seq) and the meaning of snapshots and
//     diffs are decided here, in the same transaction as the writes, so an
//     acknowledged event is stored exactly once.
//   - Graph (graph.go) is the in-memory view of the current entities with
//     the relations between them: node -> host, node -> block devices (by
//     alias, and across hosts by WWID), node -> interfaces, VLAN -> parent,
//     bond -> slaves, address/route -> interface. Impact walks it.
//   - What-if checks (whatif.go) fork the graph with a hypothetical change
//     (a node moved, a host stopped) and evaluate every rule, reporting all
//     blockers at once.
//   - Server (server.go) is the HTTP API: ingest for agents (bearer token
//     per host), JSON queries for people and scripts. Client (client.go)
//     calls it; `node migrate` uses Client.CheckMigrate.
package model

import (
	"time"

	"github.com/storagegrid/storagegrid/wire"
)

// Key names an entity: host, kind and id.
type Key struct {
	Host string
	Kind wire.Kind
	ID   string
}

// Entity is one thing a host reported, as it is now (or was at a time).
// Fields is never modified in place once stored: a change makes a new map,
// so snapshots of the model can share maps safely.
type Entity struct {
	Host   string            `json:"host"`
	Kind   wire.Kind         `json:"kind"`
	ID     string            `json:"id"`
	Fields map[string]string `json:"fields"`
	Since  time.Time         `json:"since"` // time of its last change
}

// Key returns the entity's key.
func (e *Entity) Key() Key { return Key{e.Host, e.Kind, e.ID} }

// The ops a stored change can have. Added, changed and removed come from
// the agents' ops after resolution against the stored state (a snapshot of
// a new entity is an addition; of an unchanged one, nothing). Baseline
// rows stand for the history folded away by compaction.
const (
	OpAdded    = "added"
	OpChanged  = "changed"
	OpRemoved  = "removed"
	OpBaseline = "baseline"
)

// FieldChange is one field of a change: its value before and after; nil
// means absent.
type FieldChange struct {
	Field string  `json:"field"`
	From  *string `json:"from"`
	To    *string `json:"to"`
}

// Change is one stored change of one entity.
type Change struct {
	Time   time.Time     `json:"time"` // as observed on the host
	Host   string        `json:"host"`
	Kind   wire.Kind     `json:"kind"`
	ID     string        `json:"id"`
	Op     string        `json:"op"`
	Fields []FieldChange `json:"fields"`
	// After is the entity's fields after the change (nil when removed).
	// Set on changes returned by Ingest, for the live graph; not stored.
	After map[string]string `json:"-"`
}

// HostStream is what the store knows about one host's event stream.
type HostStream struct {
	Host      string    `json:"host"`
	Epoch     int64     `json:"epoch"`
	Seq       uint64    `json:"seq"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"` // server time of its last batch
}
