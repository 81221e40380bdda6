package frame_test

import (
	"testing"

	"github.com/edge-sse/edge-sse/shared/frame"
)

// benchEvent is a typical event: a UUID id, a type, a canonical and an
// alternate topic, and a small JSON payload.
var benchEvent = frame.Event{
	ID:      "urn:uuid:5e94c686-2c0b-4f9a-8c8e-1e1b2c3d4e5f",
	Type:    "update",
	Topics:  []string{"https://example.com/books/1", "https://example.com/users/42/books/1"},
	Private: true,
	Retry:   3000,
	SSE:     []byte("id: urn:uuid:5e94c686-2c0b-4f9a-8c8e-1e1b2c3d4e5f\nevent: update\nretry: 3000\ndata: {\"@id\":\"/books/1\",\"title\":\"Dune\",\"author\":\"Frank Herbert\",\"year\":1965}\n\n"),
}

// TestAllocs is the allocation budget of the hot paths: an edge decodes
// every frame of its feed, and an origin encodes every event once, so
// neither may allocate per frame: garbage per frame is GC work paid for
// every event, and at the edge Go's collector shares the hub object's one
// thread with the fan-out.
func TestAllocs(t *testing.T) {
	event := frame.AppendEvent(nil, &benchEvent)
	feed := frame.AppendHello(nil, "urn:uuid:1")
	feed = frame.AppendEvent(feed, &benchEvent)
	feed = frame.AppendHeartbeat(feed, 1767225600000)
	feed = frame.AppendGap(feed, "urn:uuid:0")
	feed = append(feed, rawFrame(99, []byte("newer"))...)

	buf := make([]byte, 0, 1024)
	var f frame.Frame
	// Let f.Topics grow to the largest topic count, as a long-lived edge's
	// Frame does after its first frames.
	if _, err := frame.Decode(event, frame.DefaultMaxSize, &f); err != nil {
		t.Fatal(err)
	}
	e := benchEvent
	tests := []struct {
		name string
		fn   func()
	}{
		{"Decode event", func() { _, _ = frame.Decode(event, frame.DefaultMaxSize, &f) }},
		{"Decode every type", func() {
			for b := feed; len(b) > 0; {
				n, err := frame.Decode(b, frame.DefaultMaxSize, &f)
				if err != nil {
					panic(err)
				}
				b = b[n:]
			}
		}},
		{"Decode short buffer", func() { _, _ = frame.Decode(event[:len(event)-1], frame.DefaultMaxSize, &f) }},
		{"Validate event", func() {
			_, _ = frame.Decode(event, frame.DefaultMaxSize, &f)
			_ = frame.Validate(&f)
		}},
		{"AppendEvent", func() { buf = frame.AppendEvent(buf[:0], &e) }},
		{"AppendHello", func() { buf = frame.AppendHello(buf[:0], "urn:uuid:1") }},
		{"AppendHeartbeat", func() { buf = frame.AppendHeartbeat(buf[:0], 1767225600000) }},
		{"AppendGap", func() { buf = frame.AppendGap(buf[:0], "urn:uuid:0") }},
	}
	for _, tc := range tests {
		if got := testing.AllocsPerRun(1000, tc.fn); got != 0 {
			t.Errorf("%s: %v allocations per call, want 0", tc.name, got)
		}
	}
	if string(f.ID) != benchEvent.ID || len(f.Topics) != 2 {
		t.Fatalf("decoded %s", describe(&f))
	}
}

// TestAllocsReader checks that a Reader, once its buffer has grown, returns
// frame after frame without allocating.
func TestAllocsReader(t *testing.T) {
	var feed []byte
	for range 100 {
		feed = frame.AppendEvent(feed, &benchEvent)
	}
	src := &loopReader{b: feed}
	r := frame.NewReader(src, 0)
	if !r.Next() {
		t.Fatal(r.Err())
	}
	got := testing.AllocsPerRun(1000, func() {
		if !r.Next() {
			panic(r.Err())
		}
	})
	if got != 0 {
		t.Errorf("Reader.Next: %v allocations per frame, want 0", got)
	}
}

// loopReader returns its bytes over and over, for ever.
type loopReader struct {
	b   []byte
	off int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.b[l.off:])
	l.off = (l.off + n) % len(l.b)
	return n, nil
}
