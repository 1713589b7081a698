package blockdev

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// ioctlGetSize64 asks the kernel for a block device's size in bytes.
// x/sys/unix has no uint64 getter, and IoctlGetInt would hand the kernel
// a 4-byte int on 32-bit systems while BLKGETSIZE64 always writes 8 bytes.
func ioctlGetSize64(fd int, size *uint64) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.BLKGETSIZE64, uintptr(unsafe.Pointer(size)))
	if errno != 0 {
		return errno
	}
	return nil
}
