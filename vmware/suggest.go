package vmware

import (
	"sort"
	"strings"

	"github.com/xrash/smetrics"
)

// closest returns the indexes of up to n names near name: within an edit
// distance of a third of its length (at least 2), or containing it (when
// it has three characters or more), case
// ignored; nearest first. smetrics is the edit-distance code urfave/cli
// already brings in for its own suggestions.
func closest(name string, names []string, n int) []int {
	want := strings.ToLower(name)
	limit := max(2, len(want)/3)
	type cand struct{ i, d int }
	var cands []cand
	for i, s := range names {
		s = strings.ToLower(s)
		d := smetrics.WagnerFischer(want, s, 1, 1, 1)
		if d > limit && !(len(want) >= 3 && strings.Contains(s, want)) {
			continue
		}
		cands = append(cands, cand{i, d})
	}
	sort.SliceStable(cands, func(a, b int) bool { return cands[a].d < cands[b].d })
	out := make([]int, 0, n)
	for _, c := range cands {
		if len(out) == n || c.d > cands[0].d {
			break
		}
		out = append(out, c.i)
	}
	return out
}
