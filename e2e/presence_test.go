package e2e

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/presence"
)

// hubOfIP returns the hub object the front door of edge picks for a
// client at address ip, and its stats.
func hubOfIP(t testing.TB, edge, ip string) (string, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, edge+"/_edge/stats", nil)
	req.Header.Set("CF-Connecting-IP", ip)
	req.Header.Set("Authorization", "Bearer "+operatorToken)
	var m map[string]any
	getJSONReq(t, req, &m)
	return m["hub"].(string), m
}

// shardIPs returns one client address per hub object of edge (HUB_SHARDS=2).
func shardIPs(t testing.TB, edge string) []string {
	t.Helper()
	byHub := map[string]string{}
	for i := 1; len(byHub) < 2 && i < 200; i++ {
		ip := "198.51.100." + strconv.Itoa(i)
		if name, _ := hubOfIP(t, edge, ip); byHub[name] == "" {
			byHub[name] = ip
		}
	}
	if len(byHub) != 2 {
		t.Fatalf("200 addresses reached %d hub objects, want 2", len(byHub))
	}
	return slices.Sorted(maps.Values(byHub))
}

// TestPresence: browsers on two edge shards (Go clients, npm eventsource,
// Chromium's native EventSource) and one direct subscriber at the origin.
// A watcher with a grant on the subscriptions namespace sees every connect
// and disconnect of the others, in order, exactly once, each disconnect
// within 2 × CLIENT_HEARTBEAT_MS plus the batch interval of the client
// leaving; the API's list plus the events after its last-event-id equal
// the true set, through the worker and at the origin alike; the API and
// the events are refused without a grant (401 without a token, 403 with
// one that does not grant the path; no event reaches an ungranted
// subscriber).
func TestPresence(t *testing.T) {
	edgeAddr := freeAddr()
	hubURL := "http://" + edgeAddr + "/.well-known/mercure"
	ps := startPresenceOrigin(t, "origin-presence", hubURL)
	origin := ps.origin.url
	edge := startPresenceWorker(t, "wrangler-presence", edgeAddr, origin, hubURL).url
	prefix := uniqueTopic(t, "presence") + "/"
	w := watch(t, origin, prefix, "")
	// The same events through the worker (an edge hub object).
	wEdge := watch(t, edge, prefix, "")

	// Refusals, the same through the worker and at the origin.
	other := mustToken(auth.Claims{Form: auth.FormDetails, Subscribe: []auth.Matcher{{Match: prefix + "*", Type: auth.MatchURLPattern}}}, time.Hour)
	for _, base := range []string{origin, edge} {
		for _, c := range []struct {
			path, token string
			want        int
		}{
			{subscriptionsPath, "", http.StatusUnauthorized},
			{subscriptionsPath, "not-a-token", http.StatusUnauthorized},
			{subscriptionsPath, other, http.StatusForbidden},
			{presence.MatchPath("/.well-known/mercure", "exact", prefix+"x"), other, http.StatusForbidden},
			{presence.Key{MatchType: "exact", Match: prefix + "x", Subscriber: presence.NewSubscriberID()}.Topic("/.well-known/mercure"), watcherToken, http.StatusNotFound},
			{subscriptionsPath, watcherToken, http.StatusOK},
		} {
			if got, body, _ := apiGet(t, base, c.path, c.token); got != c.want {
				t.Errorf("GET %s%s with token %.10q: %d %s, want %d", base, c.path, c.token, got, body, c.want)
			}
		}
	}
	// The API's preflight, the same through the worker and at the origin.
	samePreflight(t, origin, edge, subscriptionsPath)
	samePreflight(t, origin, edge, presence.MatchPath("/.well-known/mercure", "exact", prefix+"x"))
	// A subscriber whose token does not grant the namespace asks for it
	// and must get nothing.
	snoop := subscribeSSE(t, edge+"/.well-known/mercure?match_urlpattern="+url.QueryEscape(subscriptionsPath+"/*"),
		http.Header{"Authorization": {"Bearer " + other}})

	ips := shardIPs(t, edge)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The clients, connected one after the other: each connect's events
	// must arrive before the next client connects.
	type client struct {
		name    string
		matches []string
		stop    func()
	}
	var clients []*client
	connect := func(name string, matches []string, start func() func()) *client {
		t.Helper()
		c := &client{name: name, matches: matches}
		c.stop = start()
		w.waitEvents(30*time.Second, name+" connecting", func(docs []presenceDoc) bool {
			for _, m := range matches {
				if !seen(docs, m, true) {
					return false
				}
			}
			return true
		})
		clients = append(clients, c)
		return c
	}
	sub := func(base, match string, h http.Header) func() {
		c := subscribeSSE(t, base+"/.well-known/mercure?match="+url.QueryEscape(match), h)
		return c.close
	}
	connect("go client, shard A", []string{prefix + "go-a"}, func() func() {
		return sub(edge, prefix+"go-a", http.Header{"Cf-Connecting-Ip": {ips[0]}})
	})
	// Two selectors, one connection, and a token whose grant carries a payload.
	payloadToken := mustToken(auth.Claims{Form: auth.FormDetails, Subscribe: []auth.Matcher{
		{Match: prefix + "*", Type: auth.MatchURLPattern, Payload: json.RawMessage(`{"user":"b"}`)}}}, time.Hour)
	goB := connect("go client, shard B, two selectors", []string{prefix + "go-b1", prefix + "go-b2"}, func() func() {
		c := subscribeSSE(t, edge+"/.well-known/mercure?match="+url.QueryEscape(prefix+"go-b1")+"&match="+url.QueryEscape(prefix+"go-b2"),
			http.Header{"Cf-Connecting-Ip": {ips[1]}, "Authorization": {"Bearer " + payloadToken}})
		return c.close
	})
	connect("npm eventsource", []string{prefix + "npm"}, func() func() {
		cctx, stop := context.WithCancel(ctx)
		nodeClient(t, cctx, "eventsource-client.mjs", edge+"/.well-known/mercure?topic="+url.QueryEscape(prefix+"npm"), "1000")
		return stop
	})
	connect("chromium EventSource", []string{prefix + "chromium"}, func() func() {
		cctx, stop := context.WithCancel(ctx)
		nodeClient(t, cctx, "chromium-client.mjs", edge+"/?topic="+url.QueryEscape(prefix+"chromium"), "1000", "", "--native")
		return stop
	})
	connect("direct subscriber at the origin", []string{prefix + "direct"}, func() func() {
		return sub(origin, prefix+"direct", nil)
	})

	// The two subscriptions of one connection: one subscriber, the payload.
	docs := w.events()
	var b1, b2 presenceDoc
	for _, d := range docs {
		switch d.Match {
		case prefix + "go-b1":
			b1 = d
		case prefix + "go-b2":
			b2 = d
		}
	}
	if b1.Subscriber == "" || b1.Subscriber != b2.Subscriber || !presence.ValidSubscriberID(b1.Subscriber) {
		t.Errorf("the two selectors of one connection: subscribers %q and %q, want one hub-generated id", b1.Subscriber, b2.Subscriber)
	}
	if string(b1.Payload) != `{"user":"b"}` || b1.MatchType != "exact" {
		t.Errorf("subscription document %+v: want match_type exact and the grant's payload", b1)
	}
	if want := (presence.Key{MatchType: "exact", Match: b1.Match, Subscriber: b1.Subscriber}).Topic("/.well-known/mercure"); b1.ID != want || b1.Type != "subscription" {
		t.Errorf("subscription document id %q type %q, want %q and subscription", b1.ID, b1.Type, want)
	}
	for _, d := range docs {
		if d.Match == prefix+"npm" && d.MatchType != "topic" {
			t.Errorf("a topic= selector reported as match_type %q, want topic", d.MatchType)
		}
	}

	// The API's list plus the events after its last-event-id are the true
	// set, through the worker and at the origin; both list the same.
	truth := func() map[string]bool {
		m := map[string]bool{}
		for _, c := range clients {
			for _, match := range c.matches {
				m[match] = true
			}
		}
		return m
	}
	checkAPI := func(step string) {
		t.Helper()
		var lists []map[string]presenceDoc
		for _, base := range []string{edge, origin} {
			set, last := apiList(t, base, prefix)
			// The events from the list's last-event-id on, from the same
			// place: through the worker, its hub object resumes them.
			follow := watch(t, base, prefix, last)
			time.Sleep(time.Second) // what happened since the list
			got := map[string]bool{}
			for _, d := range activeAfter(set, follow.events()) {
				got[d.Match] = true
			}
			follow.c.close()
			if !maps.Equal(got, truth()) {
				t.Errorf("%s: API at %s plus the events after %q: %v, want %v", step, base, last, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(truth())))
			}
			lists = append(lists, set)
		}
		if !maps.EqualFunc(lists[0], lists[1], func(a, b presenceDoc) bool { return a.ID == b.ID && a.Active == b.Active }) {
			t.Errorf("%s: the API lists differ through the worker and at the origin:\n%v\n%v", step, lists[0], lists[1])
		}
	}
	checkAPI("all connected")
	one := presence.Key{MatchType: "exact", Match: b1.Match, Subscriber: b1.Subscriber}.Topic("/.well-known/mercure")
	for _, base := range []string{edge, origin} {
		status, body, _ := apiGet(t, base, one, watcherToken)
		var d presenceDoc
		if status != http.StatusOK || json.Unmarshal(body, &d) != nil || d.ID != one || !d.Active || string(d.Payload) != `{"user":"b"}` {
			t.Errorf("GET %s%s: %d %s", base, one, status, body)
		}
	}

	// Disconnects, one after the other, each seen promptly.
	heartbeat, _ := strconv.Atoi(clientHeartbeatMS)
	batch, _ := strconv.Atoi(presenceBatchMS)
	bound := time.Duration(2*heartbeat+batch)*time.Millisecond + 2*time.Second
	order := []int{0, 2, 3, 1, 4} // go-a, npm, chromium, go-b, direct
	for _, i := range order {
		c := clients[i]
		left := time.Now()
		c.stop()
		w.waitEvents(30*time.Second, c.name+" leaving", func(docs []presenceDoc) bool {
			for _, m := range c.matches {
				if !seen(docs, m, false) {
					return false
				}
			}
			return true
		})
		took := time.Since(left)
		t.Logf("%s: active:false %v after it left", c.name, took.Round(time.Millisecond))
		// Chromium's process takes its own time to close its sockets.
		if c.name != "chromium EventSource" && took > bound {
			t.Errorf("%s: active:false %v after it left, want within %v (2 × CLIENT_HEARTBEAT_MS + PRESENCE_BATCH_MS + 2 s)", c.name, took, bound)
		}
		clients[i] = &client{name: c.name} // gone from the true set
	}
	_ = goB
	checkAPI("all gone")

	// Every connect and disconnect exactly once, in the order they happened.
	docs = w.events()
	checkAlternation(t, docs)
	step := map[string]int{} // match → its connect's index among the actions
	for i, c := range []string{"go-a", "go-b1", "go-b2", "npm", "chromium", "direct"} {
		step[prefix+c] = i
	}
	leave := map[string]int{}
	for i, c := range []string{"go-a", "npm", "chromium", "go-b1", "direct"} {
		leave[prefix+c] = 10 + i
	}
	leave[prefix+"go-b2"] = leave[prefix+"go-b1"]
	step[prefix+"go-b2"] = step[prefix+"go-b1"]
	last := -1
	count := map[string]int{}
	for _, d := range docs {
		k := step[d.Match]
		if !d.Active {
			k = leave[d.Match]
		}
		if k < last {
			t.Errorf("events out of order:\n%s", showDocs(docs))
			break
		}
		last = k
		count[d.Match+strconv.FormatBool(d.Active)]++
	}
	for m := range step {
		if count[m+"true"] != 1 || count[m+"false"] != 1 {
			t.Errorf("%s: %d active:true and %d active:false, want exactly one each", m, count[m+"true"], count[m+"false"])
		}
	}
	if len(docs) != 12 {
		t.Errorf("%d events, want 12:\n%s", len(docs), showDocs(docs))
	}
	wEdge.waitEvents(10*time.Second, "every event through the worker", func(d []presenceDoc) bool { return len(d) >= len(docs) })
	if got := wEdge.events(); !slices.EqualFunc(got, docs, func(a, b presenceDoc) bool { return a.ID == b.ID && a.Active == b.Active }) {
		t.Errorf("the watcher through the worker saw other events than the one at the origin:\n%s", showDocs(got))
	}
	snoop.quiet(t, 100*time.Millisecond)
	snoop.close()

	// A termination the hub decides: the token expires, the stream ends,
	// and so does the subscription, while the client is still there.
	expiring := uniqueTopic(t, "presence-expiry")
	we := watch(t, origin, expiring, "")
	tok := mustToken(auth.Claims{Form: auth.FormDetails, Subscribe: []auth.Matcher{{Match: expiring, Type: auth.MatchExact}}}, 4*time.Second)
	c := subscribeSSE(t, edge+"/.well-known/mercure?match="+url.QueryEscape(expiring), http.Header{"Authorization": {"Bearer " + tok}})
	we.waitEvents(10*time.Second, "the expiring client connecting", func(d []presenceDoc) bool { return seen(d, expiring, true) })
	we.waitEvents(15*time.Second, "the end of the expired token's subscription", func(d []presenceDoc) bool { return seen(d, expiring, false) })
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		t.Errorf("the stream of the expired token is still open")
	}
	checkAlternation(t, we.events())
}
