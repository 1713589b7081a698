package blockdev

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// BlockDevice is one whole block device of the host, as the agent
// reports it.
type BlockDevice struct {
	Name     string   `json:"name"` // kernel name, e.g. sda, dm-3
	Identity Identity `json:"-"`
	ID       string   `json:"id"`   // major:minor
	Size     int64    `json:"size"` // bytes
	WWID     string   `json:"wwid,omitempty"`
	Aliases  []string `json:"aliases,omitempty"` // host paths under /dev/mapper and /dev/disk/by-id, sorted
}

// aliasDirs are the /dev directories whose entries name devices stably.
var aliasDirs = []string{"mapper", "disk/by-id"}

// Inventory lists the block devices in sysfs's block directory that have
// media (size above zero), sorted by name. /dev is read under opts.Root,
// sysfs under opts.SysfsRoot.
func Inventory(opts Options) ([]BlockDevice, error) {
	dir := filepath.Join(opts.sysfs(), "block")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list block devices: %w", err)
	}
	byID := map[Identity]*BlockDevice{}
	var devs []*BlockDevice
	for _, e := range ents {
		d, err := sysBlockDevice(filepath.Join(dir, e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed while we looked (loop devices come and go)
		}
		if err != nil {
			return nil, err
		}
		if d.Size > 0 {
			devs = append(devs, &d)
			byID[d.Identity] = &d
		}
	}
	for _, sub := range aliasDirs {
		if err := addAliases(opts.Root.Join("/dev/"+sub), "/dev/"+sub, byID); err != nil {
			return nil, err
		}
	}
	out := make([]BlockDevice, len(devs))
	for i, d := range devs {
		sort.Strings(d.Aliases)
		out[i] = *d
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// sysBlockDevice reads one /sys/block/NAME directory: dev holds
// "MAJOR:MINOR", size the size in 512-byte sectors whatever the device's
// block size.
func sysBlockDevice(dir string) (BlockDevice, error) {
	d := BlockDevice{Name: filepath.Base(dir)}
	// The size first: an empty device (an unattached loop device, of
	// which a host may have hundreds) is skipped without reading more.
	size, err := readSysfs(dir, "size")
	if err != nil {
		return d, err
	}
	sectors, err := strconv.ParseInt(size, 10, 64)
	if err != nil {
		return d, fmt.Errorf("%s/size: malformed size %q", dir, size)
	}
	if d.Size = sectors * 512; d.Size == 0 {
		return d, nil
	}
	d.WWID = wwid(dir)
	dev, err := readSysfs(dir, "dev")
	if err != nil {
		return d, err
	}
	maj, min, ok := strings.Cut(dev, ":")
	ma, err1 := strconv.ParseUint(maj, 10, 32)
	mi, err2 := strconv.ParseUint(min, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		return d, fmt.Errorf("%s/dev: malformed device number %q", dir, dev)
	}
	d.Identity = Identity{Major: uint32(ma), Minor: uint32(mi)}
	d.ID = d.Identity.String()
	return d, nil
}

// readSysfs reads a short attribute ("259:0", a sector count). sysfs
// reports every attribute as 4 KiB long, so os.ReadFile would allocate
// that much per read, for every device, at every agent cycle; a sysfs
// attribute comes whole in one read, and these fit in 64 bytes.
func readSysfs(dir, name string) (string, error) {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return "", fmt.Errorf("block device %s: %w", filepath.Base(dir), err)
	}
	defer f.Close()
	var b [64]byte
	n, err := f.Read(b[:])
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("block device %s: %w", filepath.Base(dir), err)
	}
	if n == len(b) {
		return "", fmt.Errorf("block device %s: %s is longer than %d bytes", filepath.Base(dir), name, len(b))
	}
	return strings.TrimSpace(string(b[:n])), nil
}

// addAliases attaches every entry of dir that resolves to a known block
// device to that device, spelt as hostDir/NAME. Entries are matched by
// device number, so both udev's symlinks and device nodes count. A missing
// dir has no aliases; broken entries are skipped.
func addAliases(dir, hostDir string, byID map[Identity]*BlockDevice) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list device aliases: %w", err)
	}
	for _, e := range ents {
		var st unix.Stat_t
		if unix.Stat(filepath.Join(dir, e.Name()), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFBLK {
			continue
		}
		if d := byID[Identity{Major: unix.Major(st.Rdev), Minor: unix.Minor(st.Rdev)}]; d != nil {
			d.Aliases = append(d.Aliases, hostDir+"/"+e.Name())
		}
	}
	return nil
}
