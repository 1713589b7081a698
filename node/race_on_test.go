//go:build race

package node

// raceEnabled: built with -race, the claim races run in full.
const raceEnabled = true
