//go:build !race

package node

// raceEnabled: built without -race, the claim races run a sample; make
// test runs them again under -race in full.
const raceEnabled = false
