package agent

import (
	"context"

	"github.com/prometheus/procfs"
)

func init() { register("netdev", true, newNetDev) }

type netDevCollector struct{ fs procfs.FS }

func newNetDev(src Sources) (Collector, error) {
	fs, err := procfs.NewFS(src.procPath())
	return netDevCollector{fs}, err
}

// Collect reports per-interface traffic and error counters.
func (c netDevCollector) Collect(context.Context) ([]Item, error) {
	nd, err := c.fs.NetDev()
	if err != nil {
		return nil, err
	}
	out := make([]Item, 0, len(nd)*6)
	for name, l := range nd {
		if name == "lo" {
			continue // loopback traffic says nothing about the grid's network
		}
		out = append(out,
			sample(float64(l.RxBytes), "node_network_receive_bytes_total", "device", name),
			sample(float64(l.TxBytes), "node_network_transmit_bytes_total", "device", name),
			sample(float64(l.RxPackets), "node_network_receive_packets_total", "device", name),
			sample(float64(l.TxPackets), "node_network_transmit_packets_total", "device", name),
			sample(float64(l.RxErrors), "node_network_receive_errs_total", "device", name),
			sample(float64(l.TxErrors), "node_network_transmit_errs_total", "device", name))
	}
	return out, nil
}
