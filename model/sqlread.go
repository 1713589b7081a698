package model

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
)

// sqlReads answers the queries both stores answer with the same SQL,
// written with ? placeholders and rebound to $1, $2... for PostgreSQL.
type sqlReads struct {
	db *sql.DB
	pg bool
}

// rebind numbers the placeholders of q for PostgreSQL. The queries of
// this package hold no '?' other than placeholders.
func (q sqlReads) rebind(s string) string {
	if !q.pg {
		return s
	}
	var b strings.Builder
	n := 0
	for {
		i := strings.IndexByte(s, '?')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		n++
		b.WriteString(s[:i])
		b.WriteString("$" + strconv.Itoa(n))
		s = s[i+1:]
	}
}

func (q sqlReads) query(ctx context.Context, s string, args ...any) (*sql.Rows, error) {
	return q.db.QueryContext(ctx, q.rebind(s), args...)
}

// Streams returns the stream state of every host.
func (q sqlReads) Streams(ctx context.Context) ([]HostStream, error) {
	return queryStreams(ctx, q.db)
}
