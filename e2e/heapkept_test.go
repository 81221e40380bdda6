package e2e

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/e2e/internal/proc"
)

// keptMaxPerWrite bounds the JS plus embedder heap a client write may
// keep alive in the hub's isolate while the client's stream is held. A
// write through the stream's writer keeps nothing; what the hub keeps per
// event (the chunk in its ring, the JS values Go holds until its collector
// runs) spread over the event's writes is a few bytes here. A chunk
// enqueued to a ReadableStream kept ≈ 90 B (docs/PLATFORM.md fact 24).
const keptMaxPerWrite = 20

// TestEdgeWritesKeepNoHeap holds streams on a hub in real workerd, writes
// events to them, and reads the isolate's heap through the DevTools
// inspector after a collection (e2e/bench/heapusage.mjs) before and
// after: the writes must not keep heap alive while the streams stay
// open. Workerd's full collections are atomic and take as long as the
// live heap is large, so a stream mode that keeps something per write
// makes every pause longer with every event (docs/EVIDENCE.md, "A client write must
// not keep JS heap alive").
func TestEdgeWritesKeepNoHeap(t *testing.T) {
	// Many streams, few events: what the hub keeps per event (its ring's
	// chunk, the JS values Go holds until its collector runs) is spread
	// over the event's writes; with 500 streams and 100 events it read
	// −2.6 to 13 B per write in four runs.
	const streams, events = 1000, 50
	inspector, _ := strconv.Atoi(strings.TrimPrefix(freeAddr(), "127.0.0.1:"))
	s, err := proc.Worker{Root: sys.root, LogDir: sys.logDir, Name: "heapkept",
		Snapshot:  filepath.Join(sys.logDir, "heapkept-bundle"),
		Persist:   filepath.Join(sys.logDir, "heapkept-state"),
		Inspector: inspector,
		Vars: []string{
			"ORIGIN_URL:" + sys.originURL,
			"FEED_SECRET:" + feedSecret,
			"STATS_TOKEN:" + operatorToken,
			"JWT_KEY:" + jwtKey,
			"ALLOW_ANONYMOUS:true",
			// No probe round while the heap is read.
			"CLIENT_HEARTBEAT_MS:120000",
			"MAX_CLIENTS:2000",
		},
	}.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()

	topic := uniqueTopic(t, "heapkept")
	u := s.URL + "/.well-known/mercure?topic=" + url.QueryEscape(topic)
	clients := dialSSEMany(t, u, streams)
	// receive waits until every client has had n more events.
	receive := func(n int) {
		t.Helper()
		for i, c := range clients {
			for k := 0; k < n; k++ {
				select {
				case <-c.events:
				case <-time.After(30 * time.Second):
					t.Fatalf("client %d of %d: event %d of %d did not arrive", i, streams, k+1, n)
				}
			}
		}
	}
	publish(t, sys.originURL, url.Values{"topic": {topic}, "data": {"warm"}})
	receive(1)
	time.Sleep(time.Second)

	// One inspector connection for the whole test (proc.HeapReader: a new
	// connection after the writes found wrangler's inspector proxy
	// unresponsive).
	r, err := proc.StartHeapReader(sys.root, inspector, s.URL+"/_edge/stats", operatorToken)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	heap := func() float64 {
		t.Helper()
		h, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		return h.Used + h.Embedder
	}
	before := heap()
	// One event at a time, each delivered before the next is published:
	// events that arrive together go out as one chunk per client, and
	// this counts one write per event and client.
	for i := 0; i < events; i++ {
		publish(t, sys.originURL, url.Values{"topic": {topic}, "data": {fmt.Sprintf("event %d with some bytes of payload", i)}})
		receive(1)
	}
	time.Sleep(2 * time.Second) // the last writes settle
	after := heap()
	perWrite := (after - before) / float64(streams*events)
	t.Logf("%d writes (%d events to %d held streams): JS + embedder heap %.0f → %.0f B, %.1f B kept per write", streams*events, events, streams, before, after, perWrite)
	if perWrite > keptMaxPerWrite {
		t.Errorf("the writes kept %.1f B of heap each while their streams are held, want ≤ %d", perWrite, keptMaxPerWrite)
	}
}
