package edge

import (
	"strconv"
	"testing"
)

func TestTracerKeepsNewest(t *testing.T) {
	var tr tracer
	for i := range traceSize + 10 {
		tr.add(BatchTrace{LastID: strconv.Itoa(i)})
	}
	got := tr.list()
	if len(got) != traceSize {
		t.Fatalf("%d traces kept, want %d", len(got), traceSize)
	}
	for i, b := range got {
		if want := strconv.Itoa(i + 10); b.LastID != want {
			t.Fatalf("trace %d is %s, want %s (oldest first, the 10 oldest dropped)", i, b.LastID, want)
		}
	}
}
