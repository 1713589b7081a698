//go:build !isal || !cgo

package igzip

import (
	"errors"
	"io"
)

// Available: this build has ISA-L. Not this one: it was built without
// the isal tag or without cgo.
const Available = false

// NewReader fails: no ISA-L in this build.
func NewReader(io.Reader) (io.Reader, error) {
	return nil, errors.New("built without ISA-L (build tag isal)")
}
