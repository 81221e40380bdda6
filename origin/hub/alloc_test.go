package hub_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/origin/hub/hubtest"
)

// publishAndWait publishes e and waits until the fan-out queued it to n
// subscribers.
func publishAndWait(tb testing.TB, h *hub.Hub, e *hub.Event, n uint64) {
	before := h.Stats().Delivered
	if err := h.Publish(e); err != nil {
		tb.Fatal(err)
	}
	for h.Stats().Delivered < before+n {
		runtime.Gosched()
	}
}

// TestFanoutAllocations fails when delivering an event allocates per
// subscriber: publishing to 1,000 subscribers must cost a few allocations
// in all (the memory history's id map, the inbox), not one per delivery.
func TestFanoutAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation budget")
	}
	const subs, runs = 1000, 200
	h := hub.New(hub.NewMemoryHistory(16))
	defer h.Close()
	for range subs {
		h.Subscribe(hub.NewSubscriber(runs+10, func(e *hub.Event) bool { return e.Topics[0] == "t" }), "")
	}
	events := make([]*hub.Event, runs+1)
	for i := range events {
		events[i] = hubtest.NewEvent(fmt.Sprintf("e%d", i), "d", "t")
	}
	i := 0
	allocs := testing.AllocsPerRun(runs, func() {
		publishAndWait(t, h, events[i], subs)
		i++
	})
	t.Logf("%.2f allocations per publish to %d subscribers", allocs, subs)
	if allocs > 3 {
		t.Fatalf("%.1f allocations per publish to %d subscribers, want at most 3", allocs, subs)
	}
}

// BenchmarkFanout measures Publish plus delivery to subscribers whose
// goroutines drain their queues.
func BenchmarkFanout(b *testing.B) {
	for _, subs := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("subs=%d", subs), func(b *testing.B) {
			h := hub.New(hub.NewMemoryHistory(1024))
			defer h.Close()
			for range subs {
				s := hub.NewSubscriber(1024, nil)
				h.Subscribe(s, "")
				go func() {
					for {
						select {
						case <-s.Events():
						case <-s.Done():
							return
						}
					}
				}()
			}
			events := make([]*hub.Event, b.N)
			for i := range events {
				events[i] = hubtest.NewEvent(fmt.Sprintf("e%d", i), "d", "t")
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				publishAndWait(b, h, events[i], uint64(subs))
			}
			b.ReportMetric(float64(b.N*subs)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}
