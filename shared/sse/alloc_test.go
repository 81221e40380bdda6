package sse_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/edge-sse/edge-sse/shared/sse"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// Allocation budgets of the hot paths: the encoder must not allocate with a
// pre-sized buffer, and the parser must not allocate per line or per event
// until Event builds strings.
func TestAllocs(t *testing.T) {
	e := sse.Event{ID: "urn:uuid:0b7f5c8e", Type: "update", Data: "{\"a\":1}\r\n{\"b\":2}\n", Retry: 1000}
	buf := make([]byte, 0, 512)
	tests := []struct {
		name string
		max  float64
		fn   func()
	}{
		{"AppendEvent", 0, func() { buf, _ = sse.AppendEvent(buf[:0], e) }},
		{"AppendEvent invalid", 0, func() { buf, _ = sse.AppendEvent(buf[:0], sse.Event{ID: "\n"}) }},
		{"AppendComment", 0, func() { buf = sse.AppendComment(buf[:0], "keep\nalive") }},
		{"AppendRetry", 0, func() { buf = sse.AppendRetry(buf[:0], 3000) }},
		{"Parser.Next", 0, nextFunc(false)},
		// Event allocates once, for the data and the id, which changes with
		// every event here; the type string is reused.
		{"Parser.Next+Event", 1, nextFunc(true)},
	}
	for _, tc := range tests {
		if got := testing.AllocsPerRun(1000, tc.fn); got > tc.max {
			t.Errorf("%s: %v allocations per call, want at most %v", tc.name, got, tc.max)
		}
	}
}

// nextFunc returns a function that parses the next event of an endless
// stream, with the parser already warmed up.
func nextFunc(event bool) func() {
	var stream []byte
	for i := range 10 {
		stream, _ = sse.AppendEvent(stream, sse.Event{ID: strings.Repeat("i", i+1), Type: "update", Data: "line 1\nline 2"})
		stream = sse.AppendComment(stream, "")
	}
	p := sse.NewParser(&loopReader{data: stream}, sse.Config{})
	fn := func() {
		if !p.Next() {
			panic(p.Err())
		}
		if event {
			_ = p.Event()
		}
	}
	for range 100 {
		fn()
	}
	return fn
}

// loopReader repeats data forever.
type loopReader struct {
	data []byte
	off  int
}

func (r *loopReader) Read(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		c := copy(b[n:], r.data[r.off:])
		n += c
		r.off = (r.off + c) % len(r.data)
	}
	return n, nil
}
