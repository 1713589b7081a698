package agent

import (
	"context"

	"github.com/prometheus/procfs"
)

func init() { register("memory", true, newMemory) }

type memoryCollector struct{ fs procfs.FS }

func newMemory(src Sources) (Collector, error) {
	fs, err := procfs.NewFS(src.procPath())
	return memoryCollector{fs}, err
}

// Collect reports the meminfo values capacity planning needs, in bytes.
func (c memoryCollector) Collect(context.Context) ([]Item, error) {
	m, err := c.fs.Meminfo()
	if err != nil {
		return nil, err
	}
	var out []Item
	for name, v := range map[string]*uint64{
		"node_memory_MemTotal_bytes":     m.MemTotalBytes,
		"node_memory_MemFree_bytes":      m.MemFreeBytes,
		"node_memory_MemAvailable_bytes": m.MemAvailableBytes,
		"node_memory_Buffers_bytes":      m.BuffersBytes,
		"node_memory_Cached_bytes":       m.CachedBytes,
		"node_memory_SwapTotal_bytes":    m.SwapTotalBytes,
		"node_memory_SwapFree_bytes":     m.SwapFreeBytes,
	} {
		if v != nil {
			out = append(out, sample(float64(*v), name))
		}
	}
	return out, nil
}
