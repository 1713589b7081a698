// Package igzip reads gzip data with Intel's ISA-L (igzip), which
// inflates about 2.5 times as fast as klauspost/compress; a scan of
// gzipped audit logs is mostly decompression. It needs cgo and libisal
// (Debian: libisal-dev to build, libisal2 to run) and the build tag isal;
// without them Available is false and the callers use klauspost.
package igzip

import "fmt"

// Error is damage in the gzip data: where decompression stopped, in
// bytes of the compressed file, and why. Garbage is data after a member
// that is neither another member nor zero padding.
type Error struct {
	Offset  int64
	Garbage bool
	Err     error
}

func (e *Error) Error() string {
	if e.Garbage {
		return fmt.Sprintf("trailing garbage after the gzip data at byte %d of the file", e.Offset)
	}
	return fmt.Sprintf("truncated or corrupt gzip data at byte %d of the file: %v", e.Offset, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }
