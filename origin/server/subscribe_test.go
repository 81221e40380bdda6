package server_test

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/origin/server"
	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/mercure"
	"github.com/edge-sse/edge-sse/shared/topic"
)

// TestSelectors: each selector form of Mercure §"Subscription" and the
// pre-standardization topic parameter selects the right updates; bad
// selectors are refused with 400.
func TestSelectors(t *testing.T) {
	h := newHub(t, nil, allowAnonymous, func(c *serverConfig) { c.MaxSelectors = 3 })
	cases := []struct {
		query string
		want  []string // data of the updates received, of those published below
	}{
		{"topic=*", []string{"book1", "book2", "author"}},
		{"topic=" + url.QueryEscape(bookTopic), []string{"book1"}},
		{"topic=" + url.QueryEscape("https://example.com/books/{id}"), []string{"book1", "book2"}},
		{"match=" + url.QueryEscape(bookTopic), []string{"book1"}},
		{"match_exact=" + url.QueryEscape("https://example.com/books/{id}"), nil},
		{"match_urlpattern=" + url.QueryEscape("https://example.com/books/:id"), []string{"book1", "book2"}},
		{"match_urlpattern=" + url.QueryEscape("/authors/*"), []string{"author"}}, // relative to the hub URL
		{"match=*", []string{"book1", "book2", "author"}},
		{"topic=" + url.QueryEscape(bookTopic) + "&match=" + url.QueryEscape("https://example.com/authors/1"), []string{"book1", "author"}},
	}
	clients := make([]*client, len(cases))
	for i, c := range cases {
		// Every subscriber also listens to the marker, to know when it has
		// received all it will.
		cl, body := h.subscribe(t, c.query+"&topic="+url.QueryEscape(markerTopic), nil)
		if cl.resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s %q", c.query, cl.resp.Status, body)
		}
		clients[i] = cl
	}
	ids := map[string]string{}
	ids[h.publish(t, form("topic", bookTopic, "data", "book1"))] = "book1"
	ids[h.publish(t, form("topic", "https://example.com/books/2", "data", "book2"))] = "book2"
	// The canonical topic is under the hub's origin; the alternate one is not.
	ids[h.publish(t, form("topic", "https://hub.test/authors/1", "topic", "https://example.com/authors/1", "data", "author"))] = "author"
	marker := h.publish(t, form("topic", markerTopic))
	for i, c := range cases {
		var got []string
		for _, id := range clients[i].until(t, marker, 5*time.Second) {
			got = append(got, ids[id])
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: got %v, want %v", c.query, got, c.want)
		}
	}

	bad := []struct {
		query   string
		wantErr error
	}{
		{"", server.ErrNoSelector},
		{"last_event_id=x", server.ErrNoSelector},
		{"topic=", server.ErrEmptySelector},
		{"match_regexp=.*", topic.ErrUnknownParam},
		{"MATCH=a", topic.ErrUnknownParam},
		{"match_urlpattern=" + url.QueryEscape("https://example.com/("), topic.ErrInvalidURLPattern},
		{"match=a%0Ab", topic.ErrInvalidChar},
		{"topic=a&topic=b&topic=c&topic=d", topic.ErrTooManySelectors},
	}
	for _, b := range bad {
		cl, body := h.subscribe(t, b.query, nil)
		if cl.resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, b.wantErr.Error()) {
			t.Errorf("%q: %s %q, want 400 saying %q", b.query, cl.resp.Status, body, b.wantErr)
		}
	}
}

// TestResume: a subscriber resuming from the Last-Event-ID header or the
// last_event_id or lastEventID query parameter gets exactly the events
// after that id, then live ones, and the Mercure-Last-Event-ID header;
// the header wins over the query (Mercure §"Reconciliation").
func TestResume(t *testing.T) {
	h := newHub(t, boltStore(t), allowAnonymous)
	var ids []string
	for _, d := range []string{"a", "b", "c"} {
		ids = append(ids, h.publish(t, form("topic", bookTopic, "data", d)))
	}
	q := "topic=" + url.QueryEscape(bookTopic)
	for _, c := range []struct {
		name   string
		query  string
		header http.Header
	}{
		{"header", q, http.Header{"Last-Event-ID": {ids[0]}}},
		{"last_event_id", q + "&last_event_id=" + url.QueryEscape(ids[0]), nil},
		{"lastEventID", q + "&lastEventID=" + url.QueryEscape(ids[0]), nil},
		{"header wins", q + "&last_event_id=" + url.QueryEscape(ids[2]), http.Header{"Last-Event-ID": {ids[0]}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl, body := h.subscribe(t, c.query, c.header)
			if cl.resp.StatusCode != http.StatusOK {
				t.Fatalf("%s %q", cl.resp.Status, body)
			}
			if got := cl.resp.Header.Get("Mercure-Last-Event-ID"); got != ids[0] {
				t.Errorf("Mercure-Last-Event-ID %q, want %q", got, ids[0])
			}
			for _, want := range ids[1:] {
				if e := cl.next(t, 5*time.Second); e.ID != want {
					t.Fatalf("replayed %q, want %q", e.ID, want)
				}
			}
		})
	}
	live, _ := h.subscribe(t, q, http.Header{"Last-Event-ID": {ids[2]}})
	id := h.publish(t, form("topic", bookTopic, "data", "d"))
	if e := live.next(t, 5*time.Second); e.ID != id {
		t.Fatalf("after resuming from the newest id got %q, want live %q", e.ID, id)
	}
}

// TestResumeUnknownID: an unknown or expired id gets the in-band
// mercure-missed event first, then live events, and Mercure-Last-Event-ID
// "earliest".
func TestResumeUnknownID(t *testing.T) {
	h := newHub(t, nil, allowAnonymous)
	// Fanned out before the subscriber comes: published and subscribed at
	// once, the event may reach it live after the notice.
	waitNewest(t, h, h.publish(t, form("topic", bookTopic)))
	cl, _ := h.subscribe(t, "topic=*&last_event_id=never-published", nil)
	if got := cl.resp.Header.Get("Mercure-Last-Event-ID"); got != "earliest" {
		t.Errorf("Mercure-Last-Event-ID %q, want earliest", got)
	}
	e := cl.next(t, 5*time.Second)
	if e.Type != mercure.MissedEventType || e.Data != `{"reason":"`+mercure.ReasonUnknownID+`"}` || e.ID != "" {
		t.Fatalf("first event %+v, want the %s notice", e, mercure.MissedEventType)
	}
	id := h.publish(t, form("topic", bookTopic))
	if e := cl.next(t, 5*time.Second); e.ID != id {
		t.Fatalf("then %q, want live %q", e.ID, id)
	}
}

// TestStreamPrelude: a subscription starts with the retry advice and, when
// idle, carries keep-alive comments.
func TestStreamPrelude(t *testing.T) {
	h := newHub(t, nil, allowAnonymous, func(c *serverConfig) {
		c.Heartbeat, c.Retry = 50*time.Millisecond, 2*time.Second
	})
	resp, err := http.Get(h.URL + server.MercurePath + "?topic=*")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	if link := resp.Header.Get("Link"); link != "<"+testAudience+`>; rel="mercure"` {
		t.Errorf("Link %q", link)
	}
	r := bufio.NewReader(resp.Body)
	var lines []string
	for len(lines) < 4 {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	if want := []string{"retry: 2000\n", ":\n", ":\n", ":\n"}; strings.Join(lines, "") != strings.Join(want, "") {
		t.Fatalf("stream starts %q, want %q", lines, want)
	}
}

// TestTokenExpiryClosesStream: the hub closes a subscription no later
// than its token's exp (Mercure §"Subscribers").
func TestTokenExpiryClosesStream(t *testing.T) {
	h := newHub(t, nil)
	tok := sign(t, auth.Claims{Subscribe: exact("*")}, 2*time.Second)
	v := hmacVerifier(t)
	claims, err := v.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	cl, body := h.subscribe(t, "topic=*", bearer(tok))
	if cl.resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %q", cl.resp.Status, body)
	}
	cl.waitClosed(t, time.Until(claims.ExpiresAt)+time.Second)
	if early := time.Until(claims.ExpiresAt); early > 50*time.Millisecond {
		t.Fatalf("stream closed %v before exp", early)
	}
}

// TestMaxSubscribers: one subscription over the limit is refused with 429
// and Retry-After; a slot frees when a subscriber leaves.
func TestMaxSubscribers(t *testing.T) {
	h := newHub(t, nil, allowAnonymous, func(c *serverConfig) { c.MaxSubscribers = 2 })
	a, _ := h.subscribe(t, "topic=*", nil)
	h.subscribe(t, "topic=*", nil)
	c, body := h.subscribe(t, "topic=*", nil)
	if c.resp.StatusCode != http.StatusTooManyRequests || c.resp.Header.Get("Retry-After") == "" || !strings.Contains(body, server.ErrTooManyStreams.Error()) {
		t.Fatalf("third subscriber: %s %q, want 429 with Retry-After", c.resp.Status, body)
	}
	a.cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, _ := h.subscribe(t, "topic=*", nil)
		if c.resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no slot after a subscriber left: %s", c.resp.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDrain: on Drain each subscriber gets what was queued, a retry field
// between a quarter of the configured retry and all of it, and the end of
// its stream; new subscriptions are refused with 503.
//
// A publish returns once the event is stored; the fan-out queues it for
// the subscriber just after, on its own goroutine. The test waits for that
// (waitNewest) before Drain: drained earlier, the stream ends before the
// event is queued, and the client resumes it from the history with
// Last-Event-ID instead (under load, 13 of 200 runs got no event).
func TestDrain(t *testing.T) {
	h := newHub(t, nil, allowAnonymous, func(c *serverConfig) { c.Retry = 4 * time.Second })
	cl, _ := h.subscribe(t, "topic=*", nil)
	id := h.publish(t, form("topic", bookTopic))
	waitNewest(t, h, id)
	h.srv.Drain()
	var got []string
	var retries []int
	for it := range cl.items {
		if it.isRetry {
			retries = append(retries, it.retry)
		} else {
			got = append(got, it.event.ID)
		}
		if len(retries) == 2 {
			break
		}
	}
	cl.waitClosed(t, 5*time.Second)
	if len(got) != 1 || got[0] != id {
		t.Fatalf("events %v, want %q", got, id)
	}
	if len(retries) != 2 || retries[0] != 4000 || retries[1] < 1000 || retries[1] > 4000 {
		t.Fatalf("retry fields %v, want 4000 at connect then one in [1000, 4000]", retries)
	}
	c, body := h.subscribe(t, "topic=*", nil)
	if c.resp.StatusCode != http.StatusServiceUnavailable || c.resp.Header.Get("Retry-After") == "" || !strings.Contains(body, server.ErrDraining.Error()) {
		t.Fatalf("subscribe while draining: %s %q", c.resp.Status, body)
	}
	if resp, _ := h.post(t, publisher(t), form("topic", bookTopic)); resp.StatusCode != http.StatusOK {
		t.Fatalf("publish while draining: %s, want 200", resp.Status)
	}
}

func TestSubscribeRefusesOversizedLastEventID(t *testing.T) {
	srv := httptest.NewServer(server.New(hub.New(hub.NewMemoryHistory(10)), server.Config{AllowAnonymous: true}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/.well-known/mercure?topic=*", nil)
	req.Header.Set("Last-Event-ID", strings.Repeat("x", server.DefaultMaxFieldBytes+1))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "Last-Event-ID") {
		t.Fatalf("got %s %q, want 400 naming Last-Event-ID", resp.Status, body)
	}
}
