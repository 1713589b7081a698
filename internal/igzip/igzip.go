//go:build isal && cgo

package igzip

/*
#cgo LDFLAGS: -lisal
#include <stdlib.h>
#include <isa-l/igzip_lib.h>

// sg_inflate runs isal_inflate from in to out, both Go memory, which
// the state is pointed at for this call only (cgo's rule for Go
// pointers kept in C memory).
static int sg_inflate(struct inflate_state *s, unsigned char *in, unsigned int in_len,
		unsigned char *out, unsigned int out_len, unsigned int *used, unsigned int *made, int *finished) {
	s->next_in = in;
	s->avail_in = in_len;
	s->next_out = out;
	s->avail_out = out_len;
	int ret = isal_inflate(s);
	*used = in_len - s->avail_in;
	*made = out_len - s->avail_out;
	*finished = s->block_state == ISAL_BLOCK_FINISH;
	s->next_in = NULL;
	s->next_out = NULL;
	return ret;
}

static struct inflate_state *sg_inflate_new(void) {
	struct inflate_state *s = malloc(sizeof *s);
	if (s != NULL) {
		isal_inflate_init(s);
		s->crc_flag = ISAL_GZIP;
	}
	return s;
}

static void sg_inflate_reset(struct inflate_state *s) {
	isal_inflate_reset(s);
	s->crc_flag = ISAL_GZIP;
}
*/
import "C"

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"unsafe"
)

// Available: this build has ISA-L.
const Available = true

var gzipMagic = []byte{0x1f, 0x8b}

// NewReader reads the gzip data of src as gzip(1) does: members are
// concatenated, and zero bytes after the last one (the padding a tape or
// a preallocating copy leaves) end the data quietly; anything else after
// a member, or damage inside one, is an *Error after what was
// decompressed before it has been returned.
func NewReader(src io.Reader) (io.Reader, error) {
	s := C.sg_inflate_new()
	if s == nil {
		return nil, errors.New("out of memory for the gzip decompressor")
	}
	// Started as if after a member, so that the first is looked for as
	// the next ones are.
	g := &isalGunzip{src: src, state: s, in: make([]byte, 128<<10), finished: true}
	runtime.AddCleanup(g, func(s *C.struct_inflate_state) { C.free(unsafe.Pointer(s)) }, s)
	return g, nil
}

type isalGunzip struct {
	src      io.Reader
	state    *C.struct_inflate_state
	in       []byte // compressed bytes; in[pos:end] not yet used
	pos, end int
	read     int64 // bytes read from src
	eof      bool  // src has no more
	finished bool  // a member ended; the next one has not started
	members  int   // started
	err      error // to return once what was decompressed before it is
}

// offset is how far into the compressed file decompression has got.
func (g *isalGunzip) offset() int64 { return g.read - int64(g.end-g.pos) }

func (g *isalGunzip) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	p = p[:min(len(p), 1<<30)]
	for {
		if g.finished {
			if err := g.nextMember(); err != nil {
				g.err = err
				return 0, err
			}
		}
		if g.pos == g.end && !g.eof {
			if err := g.fill(); err != nil {
				g.err = err
				return 0, err
			}
		}
		var used, made C.uint
		var finished C.int
		var in *C.uchar
		if g.pos < g.end {
			in = (*C.uchar)(unsafe.Pointer(&g.in[g.pos]))
		}
		ret := C.sg_inflate(g.state, in, C.uint(g.end-g.pos), (*C.uchar)(unsafe.Pointer(&p[0])), C.uint(len(p)), &used, &made, &finished)
		g.pos += int(used)
		g.finished = finished != 0
		if ret < 0 {
			g.err = &Error{Offset: g.offset(), Err: isalError(ret)}
		} else if !g.finished && made == 0 && g.pos == g.end && g.eof {
			g.err = &Error{Offset: g.offset(), Err: io.ErrUnexpectedEOF}
		} else if !g.finished && made == 0 && used == 0 && g.pos < g.end {
			// Input left and room for output, but no step taken (a
			// header field ISA-L will not skip): never loop on it.
			g.err = &Error{Offset: g.offset(), Err: fmt.Errorf("isal_inflate stopped (result %d)", int(ret))}
		}
		if made > 0 {
			return int(made), nil
		}
		if g.err != nil {
			return 0, g.err
		}
	}
}

// fill reads more compressed bytes, keeping those not yet used.
func (g *isalGunzip) fill() error {
	g.end = copy(g.in, g.in[g.pos:g.end])
	g.pos = 0
	for g.end < len(g.in) && !g.eof {
		n, err := g.src.Read(g.in[g.end:])
		g.end += n
		g.read += int64(n)
		if err == io.EOF {
			g.eof = true
		} else if err != nil {
			return err
		}
		if n > 0 {
			break
		}
	}
	return nil
}

// nextMember starts the next member after one ended, or returns io.EOF
// at the end of the data (zero padding included).
func (g *isalGunzip) nextMember() error {
	for g.end-g.pos < len(gzipMagic) && !g.eof {
		if err := g.fill(); err != nil {
			return err
		}
	}
	if bytes.HasPrefix(g.in[g.pos:g.end], gzipMagic) {
		C.sg_inflate_reset(g.state)
		g.finished = false
		g.members++
		return nil
	}
	if g.members == 0 {
		return &Error{Offset: 0, Err: errors.New("not gzip data (no gzip magic)")}
	}
	if g.pos == g.end && g.eof {
		return io.EOF
	}
	at := g.offset()
	for {
		for _, b := range g.in[g.pos:g.end] {
			if b != 0 {
				return &Error{Offset: at, Garbage: true}
			}
		}
		g.pos = g.end
		if g.eof {
			return io.EOF
		}
		if err := g.fill(); err != nil {
			return err
		}
	}
}

// isalErrors say what isal_inflate's failures mean.
var isalErrors = map[C.int]string{
	C.ISAL_INVALID_BLOCK:      "invalid deflate block",
	C.ISAL_INVALID_SYMBOL:     "invalid deflate symbol",
	C.ISAL_INVALID_LOOKBACK:   "invalid back-reference distance",
	C.ISAL_INVALID_WRAPPER:    "invalid gzip header",
	C.ISAL_UNSUPPORTED_METHOD: "compression method not deflate",
	C.ISAL_INCORRECT_CHECKSUM: "gzip checksum mismatch",
}

func isalError(ret C.int) error {
	if s, ok := isalErrors[ret]; ok {
		return errors.New(s)
	}
	return fmt.Errorf("isal_inflate error %d", int(ret))
}
