package agent

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/storagegrid/storagegrid/blockdev"
	"github.com/storagegrid/storagegrid/internal/inotify"
	"github.com/storagegrid/storagegrid/wire"
)

func init() { register("blockdev", true, newBlockdev) }

// blockdevCollector reports the host's whole block devices with their
// WWIDs, which is how the model matches a shared LUN across hosts.
type blockdevCollector struct{ opts blockdev.Options }

func newBlockdev(src Sources) (Collector, error) {
	return blockdevCollector{blockdev.Options{Root: src.Root, SysfsRoot: src.Sys}}, nil
}

// Watch reports block devices appearing, going and being renamed, as udev
// makes and removes their nodes in /dev, /dev/mapper and /dev/disk/by-id
// (a resize shows at the agent's safety-net collection).
func (c blockdevCollector) Watch(ctx context.Context, changed, ready func()) error {
	in, err := inotify.New()
	if err != nil {
		return err
	}
	for _, dir := range []string{"/dev", "/dev/mapper", "/dev/disk/by-id"} {
		if _, err := in.Add(c.opts.Root.Join(dir), unix.IN_CREATE|unix.IN_DELETE|unix.IN_MOVED_TO|unix.IN_MOVED_FROM|unix.IN_ONLYDIR); err != nil &&
			!errors.Is(err, unix.ENOENT) {
			in.Close()
			return err
		}
	}
	ready()
	return in.Run(ctx, func([]byte) error { changed(); return nil })
}

func (c blockdevCollector) Collect(context.Context) ([]Item, error) {
	devs, err := blockdev.Inventory(c.opts)
	if err != nil {
		return nil, err
	}
	out := make([]Item, 0, len(devs))
	for _, d := range devs {
		f := map[string]string{
			wire.FieldSizeBytes: strconv.FormatInt(d.Size, 10),
			wire.FieldType:      blockType(d.Name),
			"dev":               d.ID,
		}
		if d.WWID != "" {
			f[wire.FieldWWID] = d.WWID
		}
		if len(d.Aliases) > 0 {
			f[wire.FieldAliases] = strings.Join(append([]string{"/dev/" + d.Name}, d.Aliases...), " ")
		}
		out = append(out, Item{Kind: wire.KindBlock, ID: d.Name, Fields: f})
	}
	return out, nil
}

// blockType classifies a device by its kernel name, which is enough to
// tell the model what it is looking at.
func blockType(name string) string {
	for _, p := range []struct{ prefix, kind string }{
		{"dm-", "dm"}, {"loop", "loop"}, {"nvme", "disk"}, {"sd", "disk"}, {"vd", "disk"},
		{"xvd", "disk"}, {"md", "md"}, {"nbd", "nbd"}, {"zram", "zram"}, {"sr", "rom"},
	} {
		if strings.HasPrefix(name, p.prefix) {
			return p.kind
		}
	}
	return "other"
}
