//go:build !race

package hub_test

// raceEnabled tells tests that the race detector slows everything down.
const raceEnabled = false
