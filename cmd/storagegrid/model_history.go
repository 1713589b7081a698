//go:build !agentonly

package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/model"
	"github.com/storagegrid/storagegrid/wire"
)

// The queries over time: model changes, model state and model metrics.

type modelChangesOptions struct {
	since, until, host, kind string
	limit                    int
}

func modelChangesCommand(g *globals) *cli.Command {
	o := &modelChangesOptions{}
	return &cli.Command{
		Name:      "changes",
		Usage:     "list what changed in the fleet, field by field",
		UsageText: "storagegrid model changes --since WHEN [--until WHEN] [--host HOST] [--kind KIND] [--limit N]",
		Description: "WHEN is a duration ago (30m, 1h, 7d, 1.5d), an RFC 3339 time, or a UTC\n" +
			"YYYY-MM-DD[ HH:MM[:SS]]. Example, what changed on a host before an incident:\n" +
			"   storagegrid model changes --since 2h --host dc1-h3",
		Flags: append(clientFlags(),
			&cli.StringFlag{Name: "since", Destination: &o.since, Usage: "from `WHEN` (required)"},
			&cli.StringFlag{Name: "until", Destination: &o.until, Usage: "up to `WHEN` (default now)"},
			hostFlag(&o.host, "only `HOST`"),
			kindFlag(&o.kind, "only entities of `KIND` (host, node, blockdev, link, address, route)"),
			&cli.IntFlag{Name: "limit", Destination: &o.limit, Usage: "at most `N` changes"},
		),
		Action: func(c *cli.Context) error {
			q, err := o.query(c)
			if err != nil {
				return err
			}
			return modelQuery(g, c, func(cl *model.Client) ([]model.Change, error) { return cl.Changes(c.Context, q) }, g.printChanges)
		},
	}
}

func kindFlag(dst *string, usage string) cli.Flag {
	return &cli.StringFlag{Name: "kind", Destination: dst, Usage: usage}
}

func (o *modelChangesOptions) query(c *cli.Context) (model.ChangeQuery, error) {
	q := model.ChangeQuery{Host: o.host, Kind: wire.Kind(o.kind), Limit: o.limit}
	if o.since == "" {
		return q, fail.Usagef("changes needs --since WHEN (see '%s --help')", c.Command.HelpName)
	}
	now := time.Now()
	var err error
	if q.Since, err = timeFlag("since", o.since, now); err != nil {
		return q, err
	}
	q.Until, err = timeFlag("until", o.until, now)
	return q, err
}

func (g *globals) printChanges(changes []model.Change) error {
	for _, ch := range changes {
		g.printf("%s %s %s %s %s: %s\n", ch.Time.UTC().Format(time.RFC3339), ch.Host, ch.Op, ch.Kind, ch.ID, describeFields(ch))
	}
	return nil
}

// describeFields writes a change's fields as "mtu 1500 -> 9000, ...";
// additions and removals list the values they added or took away.
func describeFields(ch model.Change) string {
	parts := make([]string, 0, len(ch.Fields))
	for _, f := range ch.Fields {
		switch {
		case ch.Op == model.OpAdded:
			parts = append(parts, f.Field+"="+*f.To)
		case ch.Op == model.OpRemoved:
			parts = append(parts, f.Field+"="+*f.From)
		default:
			parts = append(parts, fmt.Sprintf("%s %s -> %s", f.Field, valueOr(f.From), valueOr(f.To)))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

func valueOr(v *string) string {
	if v == nil {
		return "(unset)"
	}
	return *v
}

type modelStateOptions struct{ at, host, kind string }

func modelStateCommand(g *globals) *cli.Command {
	o := &modelStateOptions{}
	return &cli.Command{
		Name:      "state",
		Usage:     "print every entity as it is now, or as it was at a past time",
		UsageText: "storagegrid model state [--at WHEN] [--host HOST] [--kind KIND]",
		Description: "Reconstructs the model from its history. Example, the host as it was\n" +
			"before last night's change:\n" +
			"   storagegrid model state --at '2024-06-10 02:00' --host dc1-h3",
		Flags: append(clientFlags(),
			&cli.StringFlag{Name: "at", Destination: &o.at, Usage: "as at `WHEN` (default now)"},
			hostFlag(&o.host, "only `HOST`"),
			kindFlag(&o.kind, "only entities of `KIND`"),
		),
		Action: func(c *cli.Context) error {
			at, err := timeFlag("at", o.at, time.Now())
			if err != nil {
				return err
			}
			return modelQuery(g, c, func(cl *model.Client) (model.State, error) {
				st, err := cl.State(c.Context, at, o.host)
				return st.OfKind(wire.Kind(o.kind)), err
			}, g.printState)
		},
	}
}

func (g *globals) printState(st model.State) error {
	for _, e := range st.Entities {
		g.printf("%s %s %s %s\n", e.Host, e.Kind, e.ID, fieldList(e.Fields))
	}
	return nil
}

func fieldList(f map[string]string) string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + f[k]
	}
	return strings.Join(keys, " ")
}

type modelMetricsOptions struct{ host, prefix, since string }

func modelMetricsCommand(g *globals) *cli.Command {
	o := &modelMetricsOptions{}
	return &cli.Command{
		Name:      "metrics",
		Usage:     "print the latest metric values, and one-minute roll-ups",
		UsageText: "storagegrid model metrics [--host HOST] [--prefix NAME] [--since WHEN]",
		Description: "Example, one host's load over the last quarter hour:\n" +
			"   storagegrid model metrics --host dc1-h3 --prefix node_load --since 15m",
		Flags: append(clientFlags(),
			hostFlag(&o.host, "only `HOST`"),
			&cli.StringFlag{Name: "prefix", Destination: &o.prefix, Usage: "only series whose name starts with `NAME`"},
			&cli.StringFlag{Name: "since", Destination: &o.since, Usage: "with the roll-ups since `WHEN`"},
		),
		Action: func(c *cli.Context) error {
			since, err := timeFlag("since", o.since, time.Now())
			if err != nil {
				return err
			}
			q := model.MetricQuery{Host: o.host, Prefix: o.prefix, Since: since}
			return modelQuery(g, c, func(cl *model.Client) ([]model.Series, error) { return cl.Metrics(c.Context, q) }, g.printSeries)
		},
	}
}

func (g *globals) printSeries(series []model.Series) error {
	for _, s := range series {
		g.printf("%s %s %s %s\n", s.Host, s.Name, wire.FormatValue(s.Value), s.Time.UTC().Format(time.RFC3339))
		for _, r := range s.Minutes {
			g.printf("  %s n=%d min=%s mean=%s max=%s\n", r.Minute.Format("15:04"), r.Count,
				wire.FormatValue(r.Min), wire.FormatValue(r.Mean), wire.FormatValue(r.Max))
		}
	}
	return nil
}
