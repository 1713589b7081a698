package archive

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/archive/adesim"
	"github.com/storagegrid/storagegrid/internal/fail"
)

func TestCancelAllTwiceIsHarmless(t *testing.T) {
	s := startSim(t, adesim.Config{})
	c := dial(t, s, 2*time.Second)
	for round, want := range []int{1, 0} {
		res, err := CancelAll(context.Background(), c, testCBIDs[:2])
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for i, r := range res {
			if r.CBID != testCBIDs[i] || r.Cancelled == nil || *r.Cancelled != want || r.Error != "" {
				t.Errorf("round %d: result %d = %+v, want %d cancelled", round, i, r, want)
			}
		}
	}
}

func TestCancelAllStopsOnBrokenSession(t *testing.T) {
	broken := CancelCommand(testCBIDs[1])
	s := startSim(t, adesim.Config{Faults: []adesim.Fault{{Kind: adesim.CloseMidReply, Match: broken}}})
	c := dial(t, s, 2*time.Second)
	res, err := CancelAll(context.Background(), c, testCBIDs)
	if fail.KindOf(err) != fail.Partial || !strings.Contains(err.Error(), "2 of 3 cancels failed") {
		t.Fatalf("error %v, want partial: 2 of 3 cancels failed", err)
	}
	if res[0].Cancelled == nil || *res[0].Cancelled != 1 {
		t.Errorf("first CBID: %+v, want 1 cancelled", res[0])
	}
	if res[1].Cancelled != nil || !strings.Contains(res[1].Error, "connection closed") {
		t.Errorf("second CBID: %+v, want the closed connection", res[1])
	}
	if !strings.HasPrefix(res[2].Error, "not sent: ") {
		t.Errorf("third CBID: %+v, want not sent", res[2])
	}
	for _, cmd := range s.Received() {
		if cmd == CancelCommand(testCBIDs[2]) {
			t.Errorf("the console received %q after the session broke", cmd)
		}
	}
}

// A reply that does not parse leaves the session usable: the next CBID
// still goes out.
func TestCancelAllGoesOnAfterAnUnreadableReply(t *testing.T) {
	odd := CancelCommand(testCBIDs[0])
	s := startSim(t, adesim.Config{Replies: map[string]string{odd: "maybe"}})
	c := dial(t, s, 2*time.Second)
	res, err := CancelAll(context.Background(), c, testCBIDs[:2])
	if res[0].Cancelled != nil || !strings.Contains(res[0].Error, "unexpected reply") {
		t.Errorf("first CBID: %+v, want an unexpected reply", res[0])
	}
	if res[1].Cancelled == nil || *res[1].Cancelled != 1 {
		t.Errorf("second CBID: %+v, want 1 cancelled", res[1])
	}
	if fail.KindOf(err) != fail.Partial {
		t.Errorf("error %v, want partial", err)
	}
	res, err = CancelAll(context.Background(), c, testCBIDs[:1])
	if err == nil || fail.KindOf(err) == fail.Partial || err.Error() != "all 1 cancels failed" || res[0].Error == "" {
		t.Errorf("all failed: %+v, %v; want a plain failure", res, err)
	}
}
