package agent

import (
	"context"
	"strconv"

	"github.com/prometheus/procfs"
)

func init() { register("cpu", true, newCPU) }

type cpuCollector struct{ fs procfs.FS }

func newCPU(src Sources) (Collector, error) {
	fs, err := procfs.NewFS(src.procPath())
	return cpuCollector{fs}, err
}

// Collect reports seconds per CPU and mode, as node_exporter's
// node_cpu_seconds_total does, plus context switches and forks.
func (c cpuCollector) Collect(context.Context) ([]Item, error) {
	st, err := c.fs.Stat()
	if err != nil {
		return nil, err
	}
	out := make([]Item, 0, len(st.CPU)*8+2)
	for i, t := range st.CPU {
		cpu := strconv.FormatInt(i, 10)
		for mode, v := range map[string]float64{
			"user": t.User, "nice": t.Nice, "system": t.System, "idle": t.Idle,
			"iowait": t.Iowait, "irq": t.IRQ, "softirq": t.SoftIRQ, "steal": t.Steal,
		} {
			out = append(out, sample(v, "node_cpu_seconds_total", "cpu", cpu, "mode", mode))
		}
	}
	out = append(out, sample(float64(st.ContextSwitches), "node_context_switches_total"),
		sample(float64(st.ProcessCreated), "node_forks_total"))
	return out, nil
}
