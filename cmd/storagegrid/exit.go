package main

import (
	"context"
	"errors"

	"github.com/storagegrid/storagegrid/internal/fail"
)

// exitCode is the one place where errors become exit codes (DESIGN.md).
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, context.Canceled) {
		return 130
	}
	switch fail.KindOf(err) {
	case fail.Usage:
		return 2
	case fail.Invalid:
		return 3
	case fail.Partial:
		return 4
	case fail.Refused:
		return 5
	case fail.Interrupted:
		return 130
	default:
		return 1
	}
}
