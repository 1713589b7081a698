// Package fail classifies errors by what the caller should do about them,
// so that library packages can say "this was refused for safety" without
// knowing about exit codes. cmd/storagegrid maps each kind to an exit code
// in one place.
package fail

import (
	"errors"
	"fmt"
)

// Kind is the class of a failure.
type Kind int

// The kinds, in the order of the exit codes they map to.
const (
	Failed      Kind = iota // the operation failed (exit 1)
	Usage                   // the command line or input was wrong (exit 2)
	Invalid                 // validation found errors (exit 3)
	Partial                 // some items failed, others were done (exit 4)
	Refused                 // refused for safety; --force may override (exit 5)
	Interrupted             // stopped by a signal (exit 130)
)

type kinded struct {
	kind Kind
	err  error
}

func (k *kinded) Error() string { return k.err.Error() }
func (k *kinded) Unwrap() error { return k.err }

// With marks err as being of kind k. A nil err stays nil.
func With(k Kind, err error) error {
	if err == nil {
		return nil
	}
	return &kinded{kind: k, err: err}
}

// Refusedf, Usagef and friends build a new error of a kind.
func Refusedf(format string, a ...any) error { return With(Refused, fmt.Errorf(format, a...)) }

// Usagef builds a usage error.
func Usagef(format string, a ...any) error { return With(Usage, fmt.Errorf(format, a...)) }

// Invalidf builds a validation error.
func Invalidf(format string, a ...any) error { return With(Invalid, fmt.Errorf(format, a...)) }

// Partialf builds a partial-failure error.
func Partialf(format string, a ...any) error { return With(Partial, fmt.Errorf(format, a...)) }

// KindOf reports the outermost kind attached to err, or Failed.
func KindOf(err error) Kind {
	var k *kinded
	if errors.As(err, &k) {
		return k.kind
	}
	return Failed
}
