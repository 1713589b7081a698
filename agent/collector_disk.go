package agent

import (
	"context"
	"regexp"

	"github.com/prometheus/procfs/blockdevice"
)

func init() { register("diskstats", true, newDisk) }

type diskCollector struct{ fs blockdevice.FS }

func newDisk(src Sources) (Collector, error) {
	fs, err := blockdevice.NewFS(src.procPath(), src.sysPath())
	return diskCollector{fs}, err
}

// skipDisk is node_exporter's default --collector.diskstats.device-exclude:
// RAM and loop devices, floppies and partitions, whose counters say
// nothing the whole disks do not (a test host has hundreds of loop
// devices).
var skipDisk = regexp.MustCompile(`^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$`)

// sectorBytes is the unit of /proc/diskstats sector counts, whatever the
// device's real sector size.
const sectorBytes = 512

// Collect reports per-device I/O counters from /proc/diskstats.
func (c diskCollector) Collect(context.Context) ([]Item, error) {
	stats, err := c.fs.ProcDiskstats()
	if err != nil {
		return nil, err
	}
	out := make([]Item, 0, len(stats)*6)
	for _, d := range stats {
		dev := d.DeviceName
		if skipDisk.MatchString(dev) {
			continue
		}
		out = append(out,
			sample(float64(d.ReadIOs), "node_disk_reads_completed_total", "device", dev),
			sample(float64(d.WriteIOs), "node_disk_writes_completed_total", "device", dev),
			sample(float64(d.ReadSectors*sectorBytes), "node_disk_read_bytes_total", "device", dev),
			sample(float64(d.WriteSectors*sectorBytes), "node_disk_written_bytes_total", "device", dev),
			sample(float64(d.IOsInProgress), "node_disk_io_now", "device", dev),
			sample(float64(d.IOsTotalTicks)/1000, "node_disk_io_time_seconds_total", "device", dev))
	}
	return out, nil
}
