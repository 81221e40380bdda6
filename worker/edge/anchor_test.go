package edge

import (
	"testing"

	"github.com/edge-sse/edge-sse/shared/frame"
)

// TestAnchoredClosesAtFirstHello: the adapter holds a new subscriber's
// answer until Anchored is closed, so it must stay open until the feed's
// first Hello and be closed by it (once: later Hellos must not panic).
func TestAnchoredClosesAtFirstHello(t *testing.T) {
	h := testHub(t)
	select {
	case <-h.Anchored():
		t.Fatal("Anchored closed before any Hello")
	default:
	}
	h.OnFrame(&frame.Frame{Type: frame.TypeEvent, ID: []byte("e0"), Topics: [][]byte{[]byte("https://example.com/a")}, SSE: []byte("id: e0\ndata: x\n\n")})
	select {
	case <-h.Anchored():
		t.Fatal("Anchored closed by an event before any Hello")
	default:
	}
	h.OnFrame(&frame.Frame{Type: frame.TypeHello, ID: []byte("e1")})
	select {
	case <-h.Anchored():
	default:
		t.Fatal("Anchored still open after the first Hello")
	}
	h.OnFrame(&frame.Frame{Type: frame.TypeHello, ID: []byte("e2")}) // a reconnect's Hello
}
