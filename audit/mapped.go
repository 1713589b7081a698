package audit

import (
	"bytes"
	"context"
	"io"
	"os"
	"runtime/debug"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A plain log is read through a read-only mapping of the file rather than
// read(2): copying a gigabyte out of the page cache costs a quarter of
// what parsing every line of it costs, and more than the needle search.
// The file is mapped a window at a time, so only a window's pages count
// against memory. What is appended after the scan began (a live
// audit.log) is read as any input is, and so is the rest of a file that
// shrinks under its mapping (see consumeWindow): a mapped read finds
// what a read finds.

// mapWindow is how much of a file one mapping shows, a multiple of the
// page size; mapMin is the smallest file worth mapping: below it the
// mapping's own cost (system calls, page tables) is more than the copy it
// saves. Tests make both small, to put many window edges in a small file.
var mapWindow, mapMin int64 = 4 << 20, 1 << 20

// readMapped reads f, a regular file, through mappings when it is large
// and not gzip data, and reports whether it did; when it did not, f has
// not been read from.
func (r *reader) readMapped(ctx context.Context, f *os.File) (bool, error) {
	fi, err := f.Stat()
	if err != nil || fi.Size() < mapMin {
		return false, nil
	}
	head := make([]byte, len(gzipMagic))
	if _, err := f.ReadAt(head, 0); err != nil || bytes.Equal(head, gzipMagic) {
		return false, nil
	}
	size := fi.Size()
	off, err := r.consumeMapped(ctx, f, size)
	if err != nil {
		return true, err
	}
	if off == 0 {
		return false, nil // not mappable here (a file system without mmap)
	}
	// The last message, perhaps unfinished when the window ended, and
	// whatever was appended since.
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return true, err
	}
	return true, r.readAll(ctx, f)
}

// consumeMapped handles f's messages in its first size bytes, a window at
// a time, and returns the offset up to which it handled them: the last
// one, which the end of the mapping may cut, and anything after a part of
// the file that could not be mapped or shrank away, is left to be read.
func (r *reader) consumeMapped(ctx context.Context, f *os.File, size int64) (int64, error) {
	page := int64(os.Getpagesize())
	off := int64(0)
	for off < size {
		if err := ctx.Err(); err != nil {
			return off, err
		}
		lo := off &^ (page - 1)
		hi := min(size, lo+mapWindow)
		window, err := unix.Mmap(int(f.Fd()), lo, int(hi-lo), unix.PROT_READ, unix.MAP_SHARED|unix.MAP_POPULATE)
		if err != nil {
			return off, nil
		}
		n, shrank, err := r.consumeWindow(window[off-lo:])
		off += int64(n)
		if merr := unix.Munmap(window); err == nil {
			err = merr
		}
		if err != nil || shrank || n == 0 { // n == 0: no whole message in a window
			return off, err
		}
	}
	return off, nil
}

// consumeWindow handles the whole messages in data, a chunk at a time as
// readAll does, so that the passes over a chunk (the searches, the line
// count, the parse) find it in the CPU's cache and do not each read it
// from memory. It returns how much it handled, and whether the file
// shrank under the mapping: then the pages past its new end fault
// (SIGBUS), which this goroutine turns into a panic, and what was handled
// before the fault counts; a read goes on from there, as reading a file
// that shrinks does.
func (r *reader) consumeWindow(data []byte) (done int, shrank bool, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		if fault, ok := p.(interface{ Addr() uintptr }); !ok || !inside(data, fault.Addr()) {
			panic(p)
		}
		done += r.doneAt
		r.base += r.doneLines
		r.cur, r.cpos, r.cline = nil, 0, 0
		shrank, err = true, nil
	}()
	for done < len(data) {
		rest := data[done:]
		n, err := r.consume(rest[:min(len(rest), readChunk)], false)
		if n == 0 && err == nil && len(rest) > readChunk {
			n, err = r.consume(rest, false) // a message longer than a chunk
		}
		done += n
		if err != nil || n == 0 {
			return done, false, err
		}
	}
	return done, false, nil
}

// inside reports whether addr is in b's memory.
func inside(b []byte, addr uintptr) bool {
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return addr >= lo && addr < lo+uintptr(len(b))
}
