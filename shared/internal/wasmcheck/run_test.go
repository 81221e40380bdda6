package wasmcheck_test

import (
	"bytes"
	"testing"

	"github.com/edge-sse/edge-sse/shared/internal/wasmcheck"
)

// TestRunDeterministic checks what the cross-target comparison relies on,
// on every target: Run depends on its seed and count only, a longer run
// extends a shorter one, and the transcript covers every codec.
func TestRunDeterministic(t *testing.T) {
	a, b := wasmcheck.Run(42, 100), wasmcheck.Run(42, 100)
	if !bytes.Equal(a, b) {
		t.Fatal("two runs with the same seed differ")
	}
	if bytes.Equal(a, wasmcheck.Run(43, 100)) {
		t.Fatal("two seeds give the same transcript")
	}
	longer := wasmcheck.Run(42, 150)
	_, tail, _ := bytes.Cut(a, []byte("\n"))
	_, longTail, _ := bytes.Cut(longer, []byte("\n"))
	if !bytes.HasPrefix(longTail, tail) {
		t.Fatal("the first 100 cases of Run(42, 150) differ from Run(42, 100): cases are not independent")
	}
	for _, section := range []string{
		"\nsse.AppendEvent ", "\nsse.AppendComment ", "\nsse.AppendRetry ", "\nsse.Parser encoded ", "\nsse.Parser stream ",
		"\n  event id=", "\n  retry ", "sse: line too long", "sse: invalid id",
		"\nframe.AppendEvent ", "\nframe.AppendHello ", "\nframe.AppendHeartbeat ", "\nframe.AppendGap ",
		"\nframe.Decode mutated ", "\nframe.Reader feed ", "frame: malformed body", "frame: short buffer",
		"\ntopic.Compile ", "\ntopic.NewSet ", "MatchTopics=true", "MatchTopics=false", "set=true", "check=\"topic: topics under the hub URL's path are reserved",
		"topic: invalid URL pattern", "all=true",
	} {
		if !bytes.Contains(a, []byte(section)) {
			t.Errorf("the transcript of 100 cases has no %q", section)
		}
	}
}

func TestRunZero(t *testing.T) {
	if got, want := string(wasmcheck.Run(7, 0)), "wasmcheck seed=7 n=0\n"; got != want {
		t.Fatalf("Run(7, 0) = %q, want %q", got, want)
	}
}
