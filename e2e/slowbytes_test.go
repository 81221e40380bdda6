package e2e

import (
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestEdgeSlowClientByteBound holds one client that never reads next to a
// reading one on the run's worker (CLIENT_QUEUE=64 chunks, CLIENT_QUEUE_KB
// at its default of 64 KiB) and publishes 400 events of 60 KiB (23 MiB:
// more than the network buffers hold). The stalled client must be
// dropped, the reading client must get every event, and what waited for
// any client in the hub's own stream queues (queuedBytesPeak, as the
// streams counted it) must stay within the byte bound plus one chunk:
// with the chunk bound alone it could reach 64 of these chunks, 3.75 MiB.
// (Measured 2026-12-02: the peak stays near 1 KiB here, and the stalled
// client is dropped by a failed write: under wrangler dev, workerd moves
// a stalled stream's chunks out of the hub's queue into buffers outside
// the isolate until the stream fails. The bound itself is exercised by
// TestStreamSinkQueueBytesDrop and worker/queue.test.mjs.)
func TestEdgeSlowClientByteBound(t *testing.T) {
	edge, origin := sys.edgeURL, sys.originURL
	const boundKB = 64
	topic := uniqueTopic(t, "slowbytes")
	u, _ := url.Parse(edge + "/.well-known/mercure?topic=" + url.QueryEscape(topic))
	dialStalled(t, u)
	healthy := subscribeSSE(t, u.String(), nil)
	stats := func() map[string]any {
		var m map[string]any
		getJSON(t, edge+"/_edge/stats", &m)
		return m
	}
	before := stats()["dropped"].(float64)

	const events, publishers = 400, 1
	data := strings.Repeat("y", 60<<10) // a line under the client parser's 64 KiB
	errs := make(chan error, publishers)
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := p; i < events; i += publishers {
				if _, err := tryPublish(origin, url.Values{"topic": {topic}, "data": {data}}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	// What waits for one client, as its stream counts it, while the
	// events flow.
	var maxQueued float64
	stop := make(chan struct{})
	polled := make(chan struct{})
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-polled
	}()
	go func() {
		defer close(polled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			if q, ok := stats()["queuedBytesPeak"].(float64); ok {
				maxQueued = max(maxQueued, q)
			}
		}
	}()
	for i := 0; i < events; i++ {
		select {
		case e := <-healthy.events:
			if len(e.Data) != len(data) {
				t.Fatalf("healthy client: event %d has %d bytes", i, len(e.Data))
			}
		case err := <-errs:
			t.Fatal(err)
		case <-time.After(30 * time.Second):
			select {
			case <-healthy.done:
				t.Fatalf("healthy client's stream ended after %d events (%v); hub %v", i, healthy.err, stats())
			default:
			}
			t.Fatalf("healthy client stalled after %d events; hub %v", i, stats())
		}
	}
	wg.Wait()
	close(stop)
	<-polled
	st := stats()
	if !waitFor(20*time.Second, func() bool { st = stats(); return st["dropped"].(float64) > before }) {
		t.Fatalf("the stalled client was not dropped: %v", st)
	}
	maxQueued = max(maxQueued, st["queuedBytesPeak"].(float64))
	if limit := float64((boundKB + 61) << 10); maxQueued > limit {
		t.Fatalf("%.0f bytes waited for one client, past the bound plus one chunk (%.0f)", maxQueued, limit)
	}
	t.Logf("stalled client dropped; at most %.1f KiB waited for one client (bound %d KiB); the reading client got all %d events of 60 KiB; hub: writes %v, batches %v, events %v, wasmMemoryBytes %v",
		maxQueued/1024, boundKB, events, st["writes"], st["batches"], st["events"], st["wasmMemoryBytes"])
}
