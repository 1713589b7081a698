package agent

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/prometheus/procfs"

	"github.com/storagegrid/storagegrid/hostid"
	"github.com/storagegrid/storagegrid/internal/buildinfo"
	"github.com/storagegrid/storagegrid/wire"
)

func init() { register("host", true, newHost) }

// hostCollector reports the host entity itself: names, identity, size.
type hostCollector struct {
	src Sources
	fs  procfs.FS
}

func newHost(src Sources) (Collector, error) {
	fs, err := procfs.NewFS(src.procPath())
	return &hostCollector{src: src, fs: fs}, err
}

func (c *hostCollector) Collect(context.Context) ([]Item, error) {
	uuid, err := hostid.Get(c.src.Root)
	if err != nil {
		return nil, err
	}
	name, _ := os.Hostname()
	f := map[string]string{
		wire.FieldHostname: name,
		wire.FieldUUID:     uuid,
		wire.FieldCPUs:     strconv.Itoa(runtime.NumCPU()),
		"agent_version":    buildinfo.Version,
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		f[wire.FieldKernel] = unix.ByteSliceToString(u.Release[:])
	}
	// The boot id is new at every boot: it tells a host that rebooted
	// from one whose agent merely restarted (fleet patch waits for a new
	// one). It is read under the root, as the host's UUID is, so that a
	// --root sandbox has an identity of its own.
	if b, err := os.ReadFile(c.src.Root.Join("/proc/sys/kernel/random/boot_id")); err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			f[wire.FieldBootID] = id
		}
	}
	for k, v := range map[string]string{wire.FieldSite: c.src.Placement.Site, wire.FieldRoom: c.src.Placement.Room,
		wire.FieldRack: c.src.Placement.Rack} {
		if v != "" {
			f[k] = v
		}
	}
	if m, err := c.fs.Meminfo(); err == nil && m.MemTotalBytes != nil {
		f[wire.FieldMemoryBytes] = strconv.FormatUint(*m.MemTotalBytes, 10)
	}
	return []Item{{Kind: wire.KindHost, ID: c.src.HostID, Fields: f}}, nil
}
