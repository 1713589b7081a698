package blockdev

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/storagegrid/storagegrid/internal/hostpath"
)

// Kind says what a device path turned out to be.
type Kind string

// The kinds Probe accepts.
const (
	Block Kind = "block" // a block special file
	File  Kind = "file"  // a regular file, accepted only with Options.AllowFiles
)

// ErrInUse is returned by CheckExclusive when the kernel refuses an
// exclusive open: the device is mounted, part of a device-mapper or md
// device, or held open with O_EXCL by another process.
var ErrInUse = errors.New("in use")

// Options tell Probe and Inventory where to look.
type Options struct {
	// Root is the --root prefix. Paths passed in are host paths: they are
	// opened under Root but named in errors and results as given, so a
	// sandbox reports what a real host would.
	Root hostpath.Root
	// AllowFiles accepts regular files as devices (sandboxes, demos).
	AllowFiles bool
	// SysfsRoot is where sysfs is mounted; empty means /sys. It is not
	// under Root: even in a sandbox the devices are the kernel's.
	SysfsRoot string
}

func (o Options) sysfs() string {
	if o.SysfsRoot == "" {
		return "/sys"
	}
	return o.SysfsRoot
}

// Identity tells whether two paths name the same device: major:minor of a
// block device, or the filesystem's major:minor plus the inode of a regular
// file. Identities compare equal with ==.
type Identity struct {
	Major, Minor uint32
	Inode        uint64 // zero for block devices
}

func (id Identity) String() string {
	if id.Inode == 0 {
		return fmt.Sprintf("%d:%d", id.Major, id.Minor)
	}
	return fmt.Sprintf("%d:%d inode %d", id.Major, id.Minor, id.Inode)
}

// Device is a probed device path.
type Device struct {
	Path     string   `json:"path"`     // host path as given
	Resolved string   `json:"resolved"` // host path after following symlinks
	Kind     Kind     `json:"kind"`
	Size     int64    `json:"size"` // bytes
	Identity Identity `json:"-"`
	ID       string   `json:"id"`             // Identity as text
	WWID     string   `json:"wwid,omitempty"` // from sysfs, block devices only

	real string // Resolved under the root: what to open
}

// Probe checks that path names a block device (following symlinks), or a
// regular file when opts.AllowFiles is set, and reports its size and
// identity. Every error names path.
func Probe(path string, opts Options) (Device, error) {
	real := opts.Root.Join(path)
	var st unix.Stat_t
	if err := unix.Stat(real, &st); err != nil {
		return Device{}, statError(path, real, err)
	}
	resolved, err := filepath.EvalSymlinks(real)
	if err != nil {
		return Device{}, fmt.Errorf("%s: %w", path, err)
	}
	d := Device{Path: path, Resolved: opts.Root.Strip(resolved), real: resolved}
	switch typ := st.Mode & unix.S_IFMT; {
	case typ == unix.S_IFBLK:
		d.Kind = Block
		d.Identity = Identity{Major: unix.Major(st.Rdev), Minor: unix.Minor(st.Rdev)}
		if d.Size, err = blockSize(resolved); err != nil {
			return Device{}, fmt.Errorf("%s: size: %w", path, err)
		}
		d.WWID = wwid(filepath.Join(opts.sysfs(), "dev", "block", d.Identity.String()))
	case typ == unix.S_IFREG && opts.AllowFiles:
		d.Kind = File
		d.Identity = Identity{Major: unix.Major(st.Dev), Minor: unix.Minor(st.Dev), Inode: st.Ino}
		d.Size = st.Size
	default:
		return Device{}, fmt.Errorf("%s is not a valid block device: it is %s", path, describe(typ))
	}
	d.ID = d.Identity.String()
	return d, nil
}

func statError(path, real string, err error) error {
	switch {
	case errors.Is(err, unix.ELOOP):
		return fmt.Errorf("%s: symlink loop", path)
	case errors.Is(err, fs.ErrNotExist):
		if target, lerr := os.Readlink(real); lerr == nil {
			return notFound(fmt.Sprintf("%s does not exist (a symlink to %s, which does not exist)", path, target))
		}
		return notFound(path + " does not exist")
	}
	return fmt.Errorf("%s: %w", path, err)
}

// notFound is a missing device: its text says so once, and it still
// matches errors.Is(err, fs.ErrNotExist).
type notFound string

func (e notFound) Error() string        { return string(e) }
func (e notFound) Is(target error) bool { return target == fs.ErrNotExist }

// describe names a file type Probe refused.
func describe(typ uint32) string {
	switch typ {
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFREG:
		return "a regular file (files are accepted only with [devices] allow_files)"
	case unix.S_IFIFO:
		return "a named pipe"
	case unix.S_IFSOCK:
		return "a socket"
	}
	return fmt.Sprintf("of file type %#o", typ)
}

func blockSize(path string) (int64, error) {
	// O_NONBLOCK: opening a removable drive without media must not hang.
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	var size uint64
	if err := ioctlGetSize64(fd, &size); err != nil {
		return 0, err
	}
	return int64(size), nil
}

// wwid reads the World Wide Identifier the kernel exports in a sysfs block
// device directory: SCSI disks have device/wwid, NVMe namespaces wwid, and
// device-mapper devices (multipath, LVM) dm/uuid. Empty when none is there.
func wwid(dir string) string {
	for _, f := range []string{"device/wwid", "wwid", "dm/uuid"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			continue
		}
		if s := strings.TrimSpace(string(b)); s != "" {
			return s
		}
	}
	return ""
}

// CheckExclusive opens a block device with O_EXCL, which the kernel refuses
// with EBUSY while the device is mounted or otherwise held, and reports that
// as ErrInUse. Regular files have no such check and always pass.
func (d Device) CheckExclusive() error {
	if d.Kind != Block {
		return nil
	}
	fd, err := unix.Open(d.real, unix.O_RDONLY|unix.O_EXCL|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("%s is %w (mounted, or held open exclusively)", d.Path, ErrInUse)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", d.Path, err)
	}
	unix.Close(fd)
	return nil
}
