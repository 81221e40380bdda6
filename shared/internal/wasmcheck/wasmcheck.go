// Package wasmcheck proves that the shared codecs behave the same, byte for
// byte, natively and compiled to WebAssembly, as the origin (native) and the
// edge (js/wasm) both rely on (issue 3).
//
// Run generates random cases from a seed and writes a transcript of
// everything the two builds must agree on: the SSE encoder's output and
// errors, the SSE parser's events, retries and errors, the frame codec's
// bytes and decoded frames, and topic selectors' compile errors and matches.
// The command in cmd/wasmcheck prints Run's transcript; the package's native
// test builds that command for wasip1/wasm, runs it inside wazero, and
// compares its output with Run computed natively.
//
// Run depends only on its arguments: the random source is math/rand/v2's
// PCG, which computes the same numbers on every platform, every case has its
// own generator (so one difference does not shift every later case), and
// the transcript holds no addresses, times or map orders.
package wasmcheck

import (
	"fmt"
	"math/rand/v2"
)

// Run generates n cases from seed and returns their transcript. Case i
// draws from its own generator, seeded with seed and i, and writes a
// "case i" line followed by its sections.
func Run(seed int64, n int) []byte {
	t := &transcript{b: make([]byte, 0, n*4096)}
	t.line("wasmcheck seed=%d n=%d", seed, n)
	for i := range n {
		g := &gen{r: rand.New(rand.NewPCG(uint64(seed), uint64(i)))}
		t.line("case %d", i)
		sseCase(t, g)
		frameCase(t, g)
		topicCase(t, g)
	}
	return t.b
}

// transcript accumulates the lines of a Run.
type transcript struct {
	b []byte
}

// line appends one line; values that may hold line breaks must be quoted
// (%q, %x) so that every record stays on one line.
func (t *transcript) line(format string, args ...any) {
	t.b = fmt.Appendf(t.b, format, args...)
	t.b = append(t.b, '\n')
}

// errString renders an error, or "nil", for the transcript.
func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return fmt.Sprintf("%q", err.Error())
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
