package vmware

import (
	"reflect"
	"testing"
)

func TestClosest(t *testing.T) {
	names := []string{"DC1-ADM1", "DC1-S1", "DC1-S2", "DC1-S3", "DC2-S1", "dc1-s4"}
	for _, tc := range []struct {
		name string
		want []int
	}{
		{"DC1-S5", []int{1, 2, 3}}, // nearest tier, at most three
		{"dc1-s4", []int{5}},       // exact, case ignored
		{"DC2_S1", []int{4}},       // one substitution
		{"ADM1", []int{0}},         // contained
		{"S9", []int{}},            // too short to match by containment, too far by distance
		{"nothing-like-it", []int{}},
	} {
		if got := closest(tc.name, names, 3); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("closest(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}
