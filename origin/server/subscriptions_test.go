package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/origin/server"
	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/presence"
)

// fakeClock is the leases' clock in these tests: it moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const testLease = 10 * time.Second

// presenceHub is newHub with Active Subscriptions on, leases on clock.
func presenceHub(t testing.TB, store hub.History, clock *fakeClock, opts ...func(*server.Config)) *testHub {
	t.Helper()
	return newHub(t, store, append([]func(*server.Config){func(c *server.Config) {
		c.Subscriptions = true
		c.SubscriptionLease = testLease
		c.Now = clock.Now
		c.CORSOrigins = []string{"*"}
	}}, opts...)...)
}

// report posts a presence report with the given secret and returns the
// response with its body read.
func (h *testHub) report(t testing.TB, secret string, body any) (*http.Response, string) {
	t.Helper()
	var b []byte
	switch v := body.(type) {
	case string:
		b = []byte(v)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(http.MethodPost, h.URL+server.PresencePath, strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", presence.ContentType)
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	return do(t, req)
}

// mustReport posts r and fails unless it is answered with status.
func (h *testHub) mustReport(t testing.TB, r presence.Report, status int) string {
	t.Helper()
	resp, body := h.report(t, feedSecret, r)
	if resp.StatusCode != status {
		t.Fatalf("report seq %d full %v: %s %s, want %d", r.Seq, r.Full, resp.Status, body, status)
	}
	return body
}

// edgeConn is a connection of an edge hub, as its reports carry it.
type edgeConn struct {
	sub     string
	matches []string
}

func newEdgeConn(matches ...string) edgeConn {
	return edgeConn{sub: presence.NewSubscriberID(), matches: matches}
}

func (c edgeConn) add() presence.Op {
	op := presence.Op{Op: presence.OpAdd, Subscriber: c.sub, Payload: json.RawMessage(`{"name":"x"}`)}
	for _, m := range c.matches {
		op.Topics = append(op.Topics, presence.Topic{MatchType: "exact", Match: m})
	}
	return op
}

func (c edgeConn) remove() presence.Op { return presence.Op{Op: presence.OpRemove, Subscriber: c.sub} }

// sign renders the events of c: "+match/subscriber" for active ones,
// "-match/subscriber" for ended ones.
func (c edgeConn) evs(active bool) []string {
	var out []string
	for _, m := range c.matches {
		out = append(out, mark(active)+m+"/"+c.sub)
	}
	return out
}

func mark(active bool) string {
	if active {
		return "+"
	}
	return "-"
}

func docEv(d presence.Subscription) string { return mark(d.Active) + d.Match + "/" + d.Subscriber }

// watch subscribes to every update (topic=*, grant *) after lastEventID.
func (h *testHub) watch(t testing.TB, lastEventID string) *client {
	t.Helper()
	q := "topic=*"
	if lastEventID != "" {
		q += "&last_event_id=" + lastEventID
	}
	c, body := h.subscribe(t, q, bearer(sign(t, auth.Claims{Subscribe: exact("*")}, time.Hour)))
	if body != "" {
		t.Fatalf("watch: %s", body)
	}
	return c
}

// events publishes a marker and returns the subscription events c reads
// before it, as docEv strings in order, with their documents; the
// subscriptions to "*" (watchers themselves) are left out.
func (h *testHub) events(t testing.TB, c *client) ([]string, []presence.Subscription) {
	t.Helper()
	marker := h.publish(t, form("topic", "urn:marker"))
	var out []string
	var docs []presence.Subscription
	for {
		e := c.next(t, 5*time.Second)
		if e.ID == marker {
			return out, docs
		}
		if e.Type != presence.EventType {
			continue
		}
		var d presence.Subscription
		if err := json.Unmarshal([]byte(e.Data), &d); err != nil {
			t.Fatalf("event data %q: %v", e.Data, err)
		}
		if d.Match == "*" {
			continue
		}
		if d.Type != "subscription" || d.ID != d.Key().Topic(server.MercurePath) {
			t.Fatalf("event document %+v", d)
		}
		out = append(out, docEv(d))
		docs = append(docs, d)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	if s == nil {
		s = []string{}
	}
	return s
}

func join(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return sorted(out)
}

func expectEvents(t testing.TB, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(sorted(got), sorted(want)) {
		t.Fatalf("%s: events\n%v\nwant\n%v", what, sorted(got), sorted(want))
	}
}

// apiGet requests an API path with token and returns the response and
// body.
func (h *testHub) apiGet(t testing.TB, path, token string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, req)
}

// list reads the whole collection and the Link's last-event-id.
func (h *testHub) list(t testing.TB) ([]string, string) {
	t.Helper()
	resp, body := h.apiGet(t, server.SubscriptionsPath, sign(t, auth.Claims{Subscribe: exact("*")}, time.Hour), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list: %s %s", resp.Status, body)
	}
	var c presence.Collection
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		t.Fatal(err)
	}
	if c.Type != "subscriptions" || c.ID != server.SubscriptionsPath {
		t.Fatalf("collection %s", body)
	}
	var out []string
	for _, d := range c.Subscriptions {
		if d.Match != "*" {
			out = append(out, docEv(d))
		}
	}
	return sorted(out), lastEventIDOf(t, resp.Header.Get("Link"))
}

func lastEventIDOf(t testing.TB, link string) string {
	t.Helper()
	_, rest, ok := strings.Cut(link, `last-event-id="`)
	if !ok {
		t.Fatalf("Link %q has no last-event-id", link)
	}
	id, _, _ := strings.Cut(rest, `"`)
	return id
}

// TestPresenceReportAuth: the report endpoint's refusals.
func TestPresenceReportAuth(t *testing.T) {
	off := newHub(t, nil)
	r := presence.Report{Hub: presence.NewInstanceID(), Seq: 1, Full: true}
	if resp, body := off.report(t, feedSecret, r); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("presence off: %s %s", resp.Status, body)
	}
	if resp, _ := off.report(t, "", r); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("presence off, no secret: %s", resp.Status)
	}
	h := presenceHub(t, nil, newClock(), func(c *server.Config) { c.ReportLimits.MaxOps = 2 })
	for _, secret := range []string{"", "wrong", feedSecret + "x"} {
		resp, _ := h.report(t, secret, r)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("secret %q: %s", secret, resp.Status)
		}
	}
	for name, body := range map[string]string{
		"not json":  `{"hub"`,
		"bad hub":   `{"hub":"x","seq":1,"ops":[]}`,
		"bad op":    fmt.Sprintf(`{"hub":%q,"seq":1,"ops":[{"op":"x","subscriber":%q}]}`, r.Hub, presence.NewSubscriberID()),
		"zero seq":  fmt.Sprintf(`{"hub":%q,"seq":0,"ops":[]}`, r.Hub),
		"bad match": fmt.Sprintf(`{"hub":%q,"seq":1,"ops":[{"op":"add","subscriber":%q,"topics":[{"match_type":"regex","match":"a"}]}]}`, r.Hub, presence.NewSubscriberID()),
	} {
		if resp, b := h.report(t, feedSecret, body); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %s %s", name, resp.Status, b)
		}
	}
	big := r
	for range 3 {
		big.Ops = append(big.Ops, newEdgeConn("https://e/a").add())
	}
	if resp, b := h.report(t, feedSecret, big); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("3 ops past a limit of 2: %s %s", resp.Status, b)
	}
	body := h.mustReport(t, r, http.StatusOK)
	if strings.TrimSpace(body) != `{
  "lease_ms": 10000
}` && !strings.Contains(body, `"lease_ms": 10000`) {
		t.Fatalf("200 body %q", body)
	}
}

// TestPresenceReports: seq, retry and resync semantics, and a full
// report announces only the difference: no duplicate events.
func TestPresenceReports(t *testing.T) {
	h := presenceHub(t, boltStore(t), newClock())
	w := h.watch(t, "")
	hubID := presence.NewInstanceID()
	a, b, c := newEdgeConn("https://e/a"), newEdgeConn("https://e/b1", "https://e/b2"), newEdgeConn("https://e/c")

	var rs presence.Resync
	body := h.mustReport(t, presence.Report{Hub: hubID, Seq: 1, Ops: []presence.Op{a.add()}}, http.StatusConflict)
	if err := json.Unmarshal([]byte(body), &rs); err != nil || !rs.Resync || rs.Error == "" {
		t.Fatalf("409 body %q", body)
	}
	h.mustReport(t, presence.Report{Hub: hubID, Seq: 1, Full: true, Ops: []presence.Op{a.add(), b.add()}}, http.StatusOK)
	got, docs := h.events(t, w)
	expectEvents(t, "first full report", got, join(a.evs(true), b.evs(true)))
	if string(docs[0].Payload) != `{"name":"x"}` || !presence.ValidSubscriberID(docs[0].Subscriber) {
		t.Fatalf("document %+v", docs[0])
	}
	h.mustReport(t, presence.Report{Hub: hubID, Seq: 2, Ops: []presence.Op{c.add(), a.remove()}}, http.StatusOK)
	// The same seq again: a retry of a report whose answer was lost.
	h.mustReport(t, presence.Report{Hub: hubID, Seq: 2, Ops: []presence.Op{c.add(), a.remove()}}, http.StatusOK)
	got, _ = h.events(t, w)
	expectEvents(t, "seq 2 and its retry", got, join(c.evs(true), a.evs(false)))
	h.mustReport(t, presence.Report{Hub: hubID, Seq: 4}, http.StatusConflict)
	// The edge resyncs with what it holds: b and c, plus d, which came
	// while it was resyncing. Only d is new.
	d := newEdgeConn("https://e/d")
	h.mustReport(t, presence.Report{Hub: hubID, Seq: 4, Full: true, Ops: []presence.Op{c.add(), b.add(), d.add()}}, http.StatusOK)
	h.mustReport(t, presence.Report{Hub: hubID, Seq: 5, Ops: []presence.Op{b.remove()}}, http.StatusOK)
	got, _ = h.events(t, w)
	expectEvents(t, "full resync then seq 5", got, join(d.evs(true), b.evs(false)))
	list, _ := h.list(t)
	expectEvents(t, "list", list, join(c.evs(true), d.evs(true)))
}

// TestPresenceLeaseLapse: an edge hub that stops reporting has its
// subscriptions terminated once its lease lapses, and must resync.
func TestPresenceLeaseLapse(t *testing.T) {
	clock := newClock()
	h := presenceHub(t, nil, clock)
	w := h.watch(t, "")
	hubID, other := presence.NewInstanceID(), presence.NewInstanceID()
	a, b := newEdgeConn("https://e/a"), newEdgeConn("https://e/b")
	h.mustReport(t, presence.Report{Hub: hubID, Seq: 1, Full: true, Ops: []presence.Op{a.add()}}, http.StatusOK)
	h.mustReport(t, presence.Report{Hub: other, Seq: 1, Full: true, Ops: []presence.Op{b.add()}}, http.StatusOK)
	h.events(t, w)
	tr := h.srv.Tracker()
	ctx := context.Background()
	clock.Add(testLease - time.Millisecond)
	h.mustReport(t, presence.Report{Hub: other, Seq: 2}, http.StatusOK) // other renews
	if n, err := tr.Expire(ctx); n != 0 || err != nil {
		t.Fatalf("expire before the lease ends: %d %v", n, err)
	}
	clock.Add(time.Millisecond)
	if n, err := tr.Expire(ctx); n != 1 || err != nil {
		t.Fatalf("expire at the lease's end: %d %v", n, err)
	}
	if n, _ := tr.Expire(ctx); n != 0 {
		t.Fatal("expired twice")
	}
	got, _ := h.events(t, w)
	expectEvents(t, "lapse", got, a.evs(false))
	_, metrics := h.apiGet(t, server.MetricsPath, metricsToken, nil)
	for _, m := range []string{"edge_sse_origin_presence_expired_instances_total 1", "edge_sse_origin_presence_events_total 3", "edge_sse_origin_presence_reports_total 3"} {
		if !strings.Contains(metrics, m+"\n") {
			t.Errorf("metrics lack %q", m)
		}
	}
	list, _ := h.list(t)
	expectEvents(t, "list after the lapse", list, b.evs(true))
	h.mustReport(t, presence.Report{Hub: hubID, Seq: 2}, http.StatusConflict)
	h.mustReport(t, presence.Report{Hub: hubID, Seq: 3, Full: true, Ops: []presence.Op{a.add()}}, http.StatusOK)
	got, _ = h.events(t, w)
	expectEvents(t, "back after the lapse", got, a.evs(true))
}

// TestSubscriptionAPI: the three URL shapes, their authorization, and
// the headers.
func TestSubscriptionAPI(t *testing.T) {
	h := presenceHub(t, nil, newClock())
	a := newEdgeConn("https://example.com/a", "https://example.com/b/:id")
	h.mustReport(t, presence.Report{Hub: presence.NewInstanceID(), Seq: 1, Full: true, Ops: []presence.Op{a.add()}}, http.StatusOK)
	last := h.publish(t, form("topic", "urn:x"))
	time.Sleep(50 * time.Millisecond) // the fan-out moves the hub's last event id
	one := presence.Key{MatchType: "exact", Match: "https://example.com/a", Subscriber: a.sub}.Topic(server.MercurePath)
	byMatch := presence.MatchPath(server.MercurePath, "exact", "https://example.com/b/:id")
	all := server.SubscriptionsPath
	tok := func(ms ...auth.Matcher) string { return sign(t, auth.Claims{Subscribe: ms}, time.Hour) }
	star := tok(auth.Matcher{Match: "*"})

	for _, c := range []struct {
		name, path, token string
		header            http.Header
		status            int
	}{
		{"no token", all, "", nil, 401},
		{"bad token", all, "not.a.token", nil, 401},
		{"grant elsewhere", all, tok(auth.Matcher{Match: "https://example.com/a"}), nil, 403},
		{"grant on another path", one, tok(auth.Matcher{Match: all}), nil, 403},
		{"exact grant on the collection", all, tok(auth.Matcher{Match: all}), nil, 200},
		{"exact grant on one, as encoded", one, tok(auth.Matcher{Match: one}), nil, 200},
		{"urlpattern grant on the namespace", byMatch, tok(auth.Matcher{Match: "/.well-known/mercure/subscriptions/*", Type: auth.MatchURLPattern}), nil, 200},
		{"cookie", all, "", http.Header{"Cookie": {auth.CookieName + "=" + star}}, 200},
		{"unknown one", one + "x", star, nil, 404},
		{"bad shape", all + "/exact", star, nil, 404},
		{"star", one, star, nil, 200},
	} {
		resp, body := h.apiGet(t, c.path, c.token, c.header)
		if resp.StatusCode != c.status {
			t.Errorf("%s: %s %s, want %d", c.name, resp.Status, body, c.status)
			continue
		}
		if c.status == 403 && !strings.Contains(resp.Header.Get("WWW-Authenticate"), "insufficient_scope") {
			t.Errorf("%s: challenge %q", c.name, resp.Header.Get("WWW-Authenticate"))
		}
		if c.status != 200 {
			continue
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", c.name, ct)
		}
		wantLink := `<` + testAudience + `>; rel="mercure"; last-event-id="` + last + `"; type="mercure"; content-type="application/json"`
		if l := resp.Header.Get("Link"); l != wantLink {
			t.Errorf("%s: Link %q, want %q", c.name, l, wantLink)
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-cache") || !strings.Contains(cc, "private") {
			t.Errorf("%s: Cache-Control %q", c.name, cc)
		}
	}

	// One subscription: the event's document, as is.
	_, body := h.apiGet(t, one, star, nil)
	var d presence.Subscription
	if err := json.Unmarshal([]byte(body), &d); err != nil || d.ID != one || !d.Active || d.Subscriber != a.sub || string(d.Payload) != `{"name":"x"}` {
		t.Fatalf("one: %s", body)
	}
	// The collection of one selector.
	_, body = h.apiGet(t, byMatch, star, nil)
	var col presence.Collection
	if err := json.Unmarshal([]byte(body), &col); err != nil || col.ID != byMatch || col.Type != "subscriptions" ||
		len(col.Subscriptions) != 1 || col.Subscriptions[0].Match != "https://example.com/b/:id" {
		t.Fatalf("by match: %s", body)
	}
	// CORS: a cross-origin client may read the Link header.
	resp, _ := h.apiGet(t, all, star, http.Header{"Origin": {"https://app.example"}})
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "Link") {
		t.Fatalf("CORS headers %v", resp.Header)
	}
	req, _ := http.NewRequest(http.MethodOptions, h.URL+one, nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "GET")
	req.Header.Set("Access-Control-Request-Headers", "authorization")
	if resp, _ := do(t, req); resp.StatusCode != http.StatusNoContent || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight %s %v", resp.Status, resp.Header)
	}
	// Empty: an empty array, and last-event-id "earliest" on a fresh hub.
	empty := presenceHub(t, nil, newClock())
	resp, body = empty.apiGet(t, all, star, nil)
	if !strings.Contains(body, `"subscriptions": []`) || lastEventIDOf(t, resp.Header.Get("Link")) != "earliest" {
		t.Fatalf("empty: %s %v", body, resp.Header)
	}
	// Off: no API, and the metadata says so.
	off := newHub(t, nil)
	if resp, _ := off.apiGet(t, all, star, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("API with subscriptions off: %s", resp.Status)
	}
	for hub, want := range map[*testHub]bool{h: true, off: false} {
		_, body := hub.apiGet(t, server.MetadataPath, "", nil)
		if strings.Contains(body, `"mercure_subscriptions":true`) != want {
			t.Fatalf("metadata %s, want mercure_subscriptions %v", body, want)
		}
	}
}

// TestSubscriptionAPIConsistency: under concurrent connects and
// disconnects, the list and the events after its last-event-id always
// give the true set.
func TestSubscriptionAPIConsistency(t *testing.T) {
	h := presenceHub(t, boltStore(t), newClock())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.srv.RunSubscriptions(ctx)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	// Two edge hubs churn their connections; direct subscribers come and go.
	for e := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hubID := presence.NewInstanceID()
			var held []edgeConn
			seq := uint64(1)
			h.mustReport(t, presence.Report{Hub: hubID, Seq: seq, Full: true}, http.StatusOK)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				seq++
				c := newEdgeConn(fmt.Sprintf("https://e/%d/%d", e, i%3))
				ops := []presence.Op{c.add()}
				held = append(held, c)
				if len(held) > 3 {
					ops = append(ops, held[0].remove())
					held = held[1:]
				}
				h.mustReport(t, presence.Report{Hub: hubID, Seq: seq, Ops: ops}, http.StatusOK)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		tok := sign(t, auth.Claims{Subscribe: exact("*")}, time.Hour)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			c, _ := h.subscribe(t, fmt.Sprintf("topic=https://direct/%d", i%2), bearer(tok))
			time.Sleep(5 * time.Millisecond)
			c.cancel()
			<-c.closed
		}
	}()
	type snap struct {
		list []string
		last string
	}
	var snaps []snap
	for range 8 {
		time.Sleep(30 * time.Millisecond)
		l, id := h.list(t)
		snaps = append(snaps, snap{l, id})
	}
	close(stop)
	wg.Wait()
	// Let the own instance's last report go out.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := h.srv.Tracker().Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		final, _ := h.list(t)
		if !slices.ContainsFunc(final, func(s string) bool { return strings.Contains(s, "direct") }) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	final, _ := h.list(t)
	for i, s := range snaps {
		set := map[string]bool{}
		for _, e := range s.list {
			set[e[1:]] = true
		}
		w := h.watch(t, s.last)
		got, _ := h.events(t, w)
		for _, e := range got {
			set[e[1:]] = e[0] == '+'
		}
		var rebuilt []string
		for k, on := range set {
			if on {
				rebuilt = append(rebuilt, "+"+k)
			}
		}
		if !slices.Equal(sorted(rebuilt), final) {
			t.Fatalf("snapshot %d (%d listed, last-event-id %s) + %d events: %d subscriptions, the list holds %d\n%v\nwant\n%v",
				i, len(s.list), s.last, len(got), len(rebuilt), len(final), sorted(rebuilt), final)
		}
		w.cancel()
	}
}

// TestDirectSubscriberEvents: a direct subscriber's connection is
// announced, one event per selector with the token's payload, and its end
// too, however it ends: the client leaves, its token expires, or the
// origin drains.
func TestDirectSubscriberEvents(t *testing.T) {
	h := presenceHub(t, nil, newClock())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.srv.RunSubscriptions(ctx)
	w := h.watch(t, "")
	tok := sign(t, auth.Claims{Subscribe: []auth.Matcher{
		{Match: "https://e/a", Payload: json.RawMessage(`{"who":"alice"}`)},
		{Match: "*"},
	}}, time.Hour)
	c, body := h.subscribe(t, "topic=https://e/a&match_urlpattern=https://e/b/:id", bearer(tok))
	if body != "" {
		t.Fatal(body)
	}
	waitEvents := func(what string, n int) []presence.Subscription {
		t.Helper()
		var docs []presence.Subscription
		deadline := time.Now().Add(5 * time.Second)
		for len(docs) < n && time.Now().Before(deadline) {
			_, d := h.events(t, w)
			docs = append(docs, d...)
		}
		if len(docs) != n {
			t.Fatalf("%s: %d events %+v, want %d", what, len(docs), docs, n)
		}
		return docs
	}
	docs := waitEvents("connect", 2)
	slices.SortFunc(docs, func(a, b presence.Subscription) int { return strings.Compare(a.Match, b.Match) })
	sub := docs[0].Subscriber
	if !presence.ValidSubscriberID(sub) || docs[1].Subscriber != sub ||
		docs[0].MatchType != "topic" || string(docs[0].Payload) != `{"who":"alice"}` ||
		docs[1].MatchType != "urlpattern" || docs[1].Payload != nil || !docs[0].Active || !docs[1].Active {
		t.Fatalf("connect events %+v", docs)
	}
	list, _ := h.list(t)
	if len(list) != 2 {
		t.Fatalf("list %v", list)
	}
	c.cancel()
	docs = waitEvents("client left", 2)
	if docs[0].Active || docs[1].Active || docs[0].Subscriber != sub {
		t.Fatalf("disconnect events %+v", docs)
	}

	// Token expiry ends the stream, and the subscription.
	short := sign(t, auth.Claims{Subscribe: exact("*")}, 1500*time.Millisecond)
	c2, _ := h.subscribe(t, "topic=https://e/short", bearer(short))
	if d := waitEvents("connect with a short token", 1); !d[0].Active {
		t.Fatalf("%+v", d)
	}
	c2.waitClosed(t, 5*time.Second)
	if d := waitEvents("token expiry", 1); d[0].Active || d[0].Match != "https://e/short" {
		t.Fatalf("%+v", d)
	}

	// Drain: the stream ends, and the tracker reports it. Drain closes
	// the watcher too, so a subscriber of the hub itself watches.
	c3, _ := h.subscribe(t, "topic=https://e/drain", bearer(tok))
	waitEvents("connect before drain", 1)
	raw := hub.NewSubscriber(100, nil)
	if _, err := h.hub.Subscribe(raw, ""); err != nil {
		t.Fatal(err)
	}
	h.srv.Drain()
	c3.waitClosed(t, 5*time.Second)
	for {
		select {
		case e := <-raw.Events():
			var d presence.Subscription
			if json.Unmarshal([]byte(e.Data), &d) != nil || d.Match == "*" {
				continue
			}
			if d.Active || d.Match != "https://e/drain" || e.Type != "mercure" || !e.Private {
				t.Fatalf("drain event %+v %+v", e, d)
			}
			return
		case <-time.After(5 * time.Second):
			t.Fatal("no event for the drained subscriber")
		}
	}
}

// TestDirectSubscriberSlow: a subscriber dropped as too slow has its
// subscription ended like any other.
func TestDirectSubscriberSlow(t *testing.T) {
	h := presenceHub(t, nil, newClock(), allowAnonymous, func(c *serverConfig) {
		c.QueueSize, c.WriteTimeout, c.MaxBodyBytes = 2, 2*time.Second, 1<<20
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.srv.RunSubscriptions(ctx)
	stalledClient(t, h) // topic=*, anonymous, reads nothing
	waitFor(t, func() bool { l, _ := h.listAll(t); return len(l) == 1 })
	publishUntil(t, h, func(m map[string]float64) bool { return m["edge_sse_origin_slow_consumer_disconnects_total"] >= 1 })
	waitFor(t, func() bool { l, _ := h.listAll(t); return len(l) == 0 })
	waitFor(t, func() bool { return scrape(t, h)["edge_sse_origin_presence_events_total"] == 2 })
}

// listAll is list with the watchers' own subscriptions (to "*") too.
func (h *testHub) listAll(t testing.TB) ([]presence.Subscription, string) {
	t.Helper()
	resp, body := h.apiGet(t, server.SubscriptionsPath, sign(t, auth.Claims{Subscribe: exact("*")}, time.Hour), nil)
	var c presence.Collection
	if err := json.Unmarshal([]byte(body), &c); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("list: %s %s", resp.Status, body)
	}
	return c.Subscriptions, lastEventIDOf(t, resp.Header.Get("Link"))
}
