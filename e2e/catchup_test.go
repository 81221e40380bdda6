package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestEdgeCatchupShared: clients resuming from before the edge's ring wait
// for one fetch of the origin's history, however many they are and
// whichever of the ids the fetch covers they come from; past MAX_CATCHUP
// such a resume is refused with 503 + Retry-After while a resume the ring
// can serve is still accepted; once the fetch answers, every client gets
// exactly what it missed, then the live events, with no gap or duplicate.
//
// The worker reaches its origin through a TCP proxy; once the feed is up,
// the proxy holds new connections (the catch-up fetches) until the test
// releases them, so the test sees the clients wait.
func TestEdgeCatchupShared(t *testing.T) {
	origin, _ := startOwnOrigin(t, "origin-catchup")
	originAddr := strings.TrimPrefix(origin, "http://")
	proxy, err := startFeedProxy(originAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.close)
	const maxCatchup = 20
	edge := startOwnWorker(t, "wrangler-catchup", proxy.url(), "RING_SIZE:4", fmt.Sprintf("MAX_CATCHUP:%d", maxCatchup),
		"FEED_TIMEOUT_MS:5000") // the origin's heartbeat is 2 s
	topic := uniqueTopic(t, "catchup")
	sub := edge + "/.well-known/mercure?topic=" + url.QueryEscape(topic)
	pub := func(i int) string {
		return publish(t, origin, url.Values{"topic": {topic}, "data": {fmt.Sprintf("ev-%d", i)}})
	}

	// Events 0..2 before the edge has a feed, then a live client (the feed
	// starts, its Hello anchors the ring), then 3..11: the ring (4 events)
	// keeps 8..11 and starts after 7.
	var ids []string
	for i := range 3 {
		ids = append(ids, pub(i))
	}
	live := subscribeSSE(t, sub, nil)
	defer live.close()
	waitFor(10*time.Second, func() bool { st := stats(t, edge); return st["subscribers"] == 1 && st["lastEventID"] == ids[2] })
	for i := 3; i < 12; i++ {
		ids = append(ids, pub(i))
	}
	for i := 3; i < 12; i++ {
		if e := live.next(t, 10*time.Second); e.ID != ids[i] {
			t.Fatalf("live client got %q, want %s (event %d)", e.ID, ids[i], i)
		}
	}
	proxy.hold() // from now on catch-up fetches wait at the proxy

	// The first resume from event 1 (older than the ring) issues the fetch;
	// then 19 more from events 1 and 4 wait for it.
	type resumer struct {
		from int
		c    *sseClient
	}
	var resumers []resumer
	resume := func(from int) {
		resumers = append(resumers, resumer{from, subscribeSSE(t, sub, http.Header{"Last-Event-ID": {ids[from]}})})
	}
	resume(1)
	if !waitFor(10*time.Second, func() bool { return stats(t, edge)["catchingUp"] == 1 }) {
		t.Fatalf("first resume not catching up: %v", stats(t, edge))
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var dialErrs []error
	for i := 1; i < maxCatchup; i++ {
		wg.Add(1)
		go func(from int) {
			defer wg.Done()
			c, err := dialSSE(sub, http.Header{"Last-Event-ID": {ids[from]}})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				dialErrs = append(dialErrs, err)
				return
			}
			resumers = append(resumers, resumer{from, c})
		}([]int{1, 4}[i%2])
	}
	wg.Wait()
	defer func() {
		for _, r := range resumers {
			r.c.close()
		}
	}()
	if len(dialErrs) > 0 {
		t.Fatalf("%d resumes failed, first: %v", len(dialErrs), dialErrs[0])
	}
	if !waitFor(10*time.Second, func() bool { return stats(t, edge)["catchingUp"] == maxCatchup }) {
		t.Fatalf("want %d clients catching up, stats %v", maxCatchup, stats(t, edge))
	}

	// The limit is reached: one more resume from before the ring is refused...
	req, _ := http.NewRequest(http.MethodGet, sub, nil)
	req.Header.Set("Last-Event-ID", ids[4])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "MAX_CATCHUP") {
		t.Fatalf("resume past MAX_CATCHUP: %s, Retry-After %q, body %q; want 503 with Retry-After naming MAX_CATCHUP", resp.Status, resp.Header.Get("Retry-After"), body)
	}
	// ...and one the ring serves is not.
	inRing := subscribeSSE(t, sub, http.Header{"Last-Event-ID": {ids[9]}})
	defer inRing.close()
	for _, i := range []int{10, 11} {
		if e := inRing.next(t, 10*time.Second); e.ID != ids[i] {
			t.Fatalf("resume from the ring got %q, want %s", e.ID, ids[i])
		}
	}

	st := stats(t, edge)
	if st["catchupFetches"] != 1 {
		t.Fatalf("%v catch-up fetches issued for %d waiting clients, want 1 (stats %v)", st["catchupFetches"], maxCatchup, st)
	}
	// A live event while they wait is held for them, then the fetch answers.
	ids = append(ids, pub(12))
	proxy.release()
	for _, r := range resumers {
		for i := r.from + 1; i <= 12; i++ {
			if e := r.c.next(t, 20*time.Second); e.ID != ids[i] {
				t.Fatalf("client resuming after event %d got %q, want event %d (%s)", r.from, e.ID, i, ids[i])
			}
		}
	}
	ids = append(ids, pub(13))
	for _, r := range resumers {
		if e := r.c.next(t, 10*time.Second); e.ID != ids[13] {
			t.Fatalf("client resuming after event %d got %q after its catch-up, want event 13 (%s)", r.from, e.ID, ids[13])
		}
	}
	st = stats(t, edge)
	if st["catchupFetches"] != 1 || st["catchingUp"] != 0 || st["catchups"] != maxCatchup {
		t.Fatalf("after the catch-up: stats %v, want 1 fetch, 0 catching up, %d catch-ups", st, maxCatchup)
	}

	// A fetch the origin never answers: after FEED_TIMEOUT_MS the client
	// waiting for it is disconnected (to resume later), told nothing false,
	// and the next resume is served.
	proxy.hold() // released only after the fetch timed out
	stuck := subscribeSSE(t, sub, http.Header{"Last-Event-ID": {ids[2]}})
	asked := time.Now()
	select {
	case <-stuck.done:
		if d := time.Since(asked); d < 4*time.Second {
			t.Fatalf("client waiting for an unanswered fetch was closed after %s, before FEED_TIMEOUT_MS (5 s)", d)
		}
	case e := <-stuck.events:
		t.Fatalf("client waiting for an unanswered fetch got %+v", e)
	case <-time.After(20 * time.Second):
		t.Fatalf("client waiting for an unanswered fetch still open 20 s later (FEED_TIMEOUT_MS 5 s): %v", stats(t, edge))
	}
	if st := stats(t, edge); st["catchingUp"] != 0 || st["catchupInFlight"] != 0 {
		t.Fatalf("after the fetch timed out: stats %v, want nothing catching up or in flight", st)
	}
	proxy.release() // the late answer is ignored
	again := subscribeSSE(t, sub, http.Header{"Last-Event-ID": {ids[2]}})
	for i := 3; i <= 13; i++ {
		if e := again.next(t, 10*time.Second); e.ID != ids[i] {
			t.Fatalf("resume after the timed-out fetch got %q, want event %d (%s)", e.ID, i, ids[i])
		}
	}
}

// stats reads the edge hub's counters (numbers only; strings as "").
func stats(t testing.TB, edge string) map[string]any {
	t.Helper()
	var m map[string]any
	getJSON(t, edge+"/_edge/stats", &m)
	for k, v := range m {
		if f, ok := v.(float64); ok {
			m[k] = int(f)
		}
	}
	return m
}
