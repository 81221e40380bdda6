package edge

import (
	"fmt"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/shared/frame"
)

// The Go share of a burst's thread time: what the hub's own code spends on
// one batch of the bench's burst (500 events of the bench's size, read
// from the feed in one go) and on its fan-out to 1,000 clients, with the
// writes themselves free (a Writer that does nothing). The stream writes
// (streams.enqueueMany in workerd) are not in it. Run natively and under
// js/wasm, for the factor:
//
//	go test -run '^$' -bench BurstBatch ./worker/edge/
//	GOOS=js GOARCH=wasm go test -exec "$(go env GOROOT)/lib/wasm/go_js_wasm_exec" -run '^$' -bench BurstBatch ./worker/edge/

type nopWriter struct{}

func (nopWriter) Enqueue(*Chunk, QueueLimit) Queued { return Queued{Chunks: 1} }
func (nopWriter) Close()                            {}

type nopBatch struct{}

func (nopBatch) EnqueueBatch(c *Chunk, ws []Writer, limits []QueueLimit, waiting []Queued) {
	for i := range waiting {
		waiting[i] = Queued{Chunks: 1}
	}
}

// burstFrames returns n event frames like the bench's burst (an id, one
// topic, "data: burst-i").
func burstFrames(n int) []byte {
	var b []byte
	for i := range n {
		id := fmt.Sprintf("urn:uuid:%08x-0000-4000-8000-%012x", i, i)
		b = frame.AppendEvent(b, &frame.Event{ID: id, Topics: []string{"https://example.com/bench/burst"},
			SSE: fmt.Appendf(nil, "id: %s\ndata: burst-%d\n\n", id, i)})
	}
	return b
}

func BenchmarkBurstBatch(b *testing.B) {
	const events, clients = 500, 1000
	buf := burstFrames(events)
	b.Run("decode500", func(b *testing.B) {
		h := testHub(&testing.T{})
		b.SetBytes(int64(len(buf)))
		for b.Loop() {
			var f frame.Frame
			for off := 0; off < len(buf); {
				n, err := frame.Decode(buf[off:], 1<<20, &f)
				if err != nil {
					b.Fatal(err)
				}
				off += n
				if newEvent(h.compiler, &f) == nil {
					b.Fatal("no event")
				}
			}
		}
	})
	b.Run("fanout500x1000", func(b *testing.B) {
		h := testHub(&testing.T{})
		h.SetBatchWriter(nopBatch{})
		for range clients {
			h.Attach(h.NextID(), nopWriter{}, all, nil, "", time.Time{}, StreamOptions{Queue: 1 << 20, MatchKey: "k"})
		}
		var evs []*Event
		var f frame.Frame
		for off := 0; off < len(buf); {
			n, _ := frame.Decode(buf[off:], 1<<20, &f)
			off += n
			evs = append(evs, newEvent(h.compiler, &f))
		}
		for b.Loop() {
			h.Deliver(evs)
		}
	})
}
