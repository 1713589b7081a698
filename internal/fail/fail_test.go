package fail

import (
	"errors"
	"fmt"
	"testing"
)

func TestKindSurvivesWrapping(t *testing.T) {
	base := errors.New("node DC1-S3 is running")
	err := fmt.Errorf("export: %w", With(Refused, base))
	if got := KindOf(err); got != Refused {
		t.Fatalf("KindOf = %v, want Refused", got)
	}
	if !errors.Is(err, base) {
		t.Fatal("errors.Is lost the wrapped error")
	}
	if KindOf(errors.New("plain")) != Failed {
		t.Fatal("plain error should be Failed")
	}
	if With(Refused, nil) != nil {
		t.Fatal("With(nil) must stay nil")
	}
	if KindOf(Partialf("2 of 3 files: %d", 2)) != Partial {
		t.Fatal("Partialf kind lost")
	}
}
