package agent

import (
	"context"

	"github.com/prometheus/procfs"
)

func init() { register("loadavg", true, newLoad) }

type loadCollector struct{ fs procfs.FS }

func newLoad(src Sources) (Collector, error) {
	fs, err := procfs.NewFS(src.procPath())
	return loadCollector{fs}, err
}

// Collect reports the 1, 5 and 15 minute load averages.
func (c loadCollector) Collect(context.Context) ([]Item, error) {
	l, err := c.fs.LoadAvg()
	if err != nil {
		return nil, err
	}
	return []Item{sample(l.Load1, "node_load1"), sample(l.Load5, "node_load5"), sample(l.Load15, "node_load15")}, nil
}
