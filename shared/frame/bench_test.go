package frame_test

import (
	"testing"

	"github.com/edge-sse/edge-sse/shared/frame"
)

// BenchmarkAppendEvent measures the origin's per-event cost of framing an
// event for the edge feed, into a reused buffer.
func BenchmarkAppendEvent(b *testing.B) {
	e := benchEvent
	buf := frame.AppendEvent(nil, &e)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = frame.AppendEvent(buf[:0], &e)
	}
}

// BenchmarkDecodeEvent measures the edge's per-event cost of decoding a
// frame of its feed.
func BenchmarkDecodeEvent(b *testing.B) {
	buf := frame.AppendEvent(nil, &benchEvent)
	var f frame.Frame
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := frame.Decode(buf, frame.DefaultMaxSize, &f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReaderEvents measures a Reader pulling event frames off a stream
// in 32 KiB reads, Decode plus the Reader's buffering.
func BenchmarkReaderEvents(b *testing.B) {
	var feed []byte
	for range 100 {
		feed = frame.AppendEvent(feed, &benchEvent)
	}
	r := frame.NewReader(&loopReader{b: feed}, 0)
	b.SetBytes(int64(len(feed) / 100))
	b.ReportAllocs()
	for b.Loop() {
		if !r.Next() {
			b.Fatal(r.Err())
		}
	}
}
