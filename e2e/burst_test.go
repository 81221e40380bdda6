package e2e

import (
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestEdgeBurst1000 holds 1,000 clients on one hub object and publishes a
// burst of 1,000 events: every client must receive every event, in order,
// with no duplicate, while the origin serves exactly one edge feed.
func TestEdgeBurst1000(t *testing.T) {
	const clients, events = 1000, 1000
	topic := uniqueTopic(t, "burst")
	u := sys.edgeURL + "/.well-known/mercure?topic=" + url.QueryEscape(topic)
	cs := dialSSEMany(t, u, clients)
	if feeds := originFeeds(t); feeds != 1 {
		t.Fatalf("origin serves %d edge feeds for %d clients, want 1", feeds, clients)
	}
	start := time.Now()
	go func() {
		for i := 0; i < events; i++ {
			if _, err := tryPublish(sys.originURL, url.Values{"topic": {topic}, "data": {strconv.Itoa(i)}, "id": {fmt.Sprintf("%s#%d", topic, i)}}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var check sync.WaitGroup
	failures := make(chan string, clients)
	for ci, c := range cs {
		check.Add(1)
		go func() {
			defer check.Done()
			for i := 0; i < events; i++ {
				select {
				case e := <-c.events:
					if e.Data != strconv.Itoa(i) || e.ID != fmt.Sprintf("%s#%d", topic, i) {
						failures <- fmt.Sprintf("client %d: event %d is %q (id %s)", ci, i, e.Data, e.ID)
						return
					}
				case <-time.After(120 * time.Second):
					failures <- fmt.Sprintf("client %d: stalled after %d events", ci, i)
					return
				}
			}
		}()
	}
	check.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	t.Logf("e2e: %d clients x %d events = %d deliveries in %s", clients, events, clients*events, time.Since(start))
	for _, c := range cs {
		select {
		case e := <-c.events:
			t.Fatalf("duplicate or extra event %+v", e)
		default:
		}
	}
	if feeds := originFeeds(t); feeds != 1 {
		t.Fatalf("origin serves %d edge feeds, want 1", feeds)
	}
}

func originFeeds(t testing.TB) int {
	t.Helper()
	var m map[string]any
	getJSON(t, sys.originURL+"/healthz", &m)
	return int(m["edgeFeeds"].(float64))
}
