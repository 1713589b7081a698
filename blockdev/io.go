package blockdev

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// alignment satisfies O_DIRECT on devices with 512-byte and 4 KiB logical
// blocks alike, for offsets, lengths and buffer addresses.
const alignment = 4096

// buffer is page-aligned memory for O_DIRECT I/O. Anonymous mmap gives
// alignment without unsafe pointer arithmetic.
type buffer struct{ b []byte }

func alignedBuffer(n int) (buffer, error) {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return buffer{}, fmt.Errorf("allocate %d-byte I/O buffer: %w", n, err)
	}
	return buffer{b}, nil
}

func (b buffer) free() { unix.Munmap(b.b) }

// open opens the device for record I/O: block devices with O_DIRECT, so
// that a read sees what another host wrote rather than this host's page
// cache; regular files through the page cache (tmpfs has no O_DIRECT).
func (d Device) open(flag int) (*os.File, error) {
	if d.Kind == Block {
		flag |= unix.O_DIRECT
	}
	f, err := os.OpenFile(d.real, flag|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Path, err)
	}
	return f, nil
}
