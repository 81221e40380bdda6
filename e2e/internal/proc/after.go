package proc

import (
	"sync"
	"testing"
)

var after struct {
	sync.Mutex
	fns []func()
}

// AfterTests registers f to run once every test of the binary has run,
// whatever order the tests ran in (file names, -run, -shuffle), when the
// binary's TestMain runs its tests through RunTests. A summary that
// several tests add to is printed this way instead of by a test that
// must sort last.
func AfterTests(f func()) {
	after.Lock()
	defer after.Unlock()
	after.fns = append(after.fns, f)
}

// RunTests runs the tests of m, then the functions registered with
// AfterTests in the order they were registered, and returns m.Run's exit
// code. A TestMain calls it where it would call m.Run, before it stops
// the servers the tests used, so that those functions may still reach
// them.
func RunTests(m *testing.M) int {
	code := m.Run()
	after.Lock()
	fns := after.fns
	after.Unlock()
	for _, f := range fns {
		f()
	}
	return code
}
