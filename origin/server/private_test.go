package server_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/topic"
)

// The universe of the private-update property test: topics, the selectors
// and grants drawn over them, and the end-of-run marker every subscriber
// listens to.
const (
	propTopics      = 6
	propSubscribers = 40
	propEvents      = 150
	markerTopic     = "https://example.com/marker"
)

func propTopic(i int) string { return fmt.Sprintf("https://example.com/items/%d", i) }

// propSubscriber is one subscriber of the property test: its query, its
// token (empty: anonymous) and the model of what it may see.
type propSubscriber struct {
	query     string
	token     string
	selectors *topic.Set
	grants    *topic.Set // nil: anonymous
}

// propEvent is one published update of the property test.
type propEvent struct {
	topics  []string
	private bool
	id      string
}

// randomSpecs draws 1 to 3 selectors: exact topics, "*", a URI Template or
// a URL pattern over the items.
func randomSpecs(r *rand.Rand) []topic.Spec {
	var specs []topic.Spec
	for range 1 + r.IntN(3) {
		switch r.IntN(8) {
		case 0:
			specs = append(specs, topic.Spec{Kind: topic.KindTopic, Expr: "*"})
		case 1:
			specs = append(specs, topic.Spec{Kind: topic.KindTopic, Expr: "https://example.com/items/{id}"})
		case 2:
			specs = append(specs, topic.Spec{Kind: topic.KindURLPattern, Expr: "https://example.com/items/:id"})
		case 3:
			specs = append(specs, topic.Spec{Kind: topic.KindExact, Expr: propTopic(r.IntN(propTopics))})
		default:
			specs = append(specs, topic.Spec{Kind: topic.KindTopic, Expr: propTopic(r.IntN(propTopics))})
		}
	}
	return specs
}

// randomSubscriber draws a subscriber: selectors as query parameters, and
// grants in a token of either claim form, or no token at all.
func randomSubscriber(t *testing.T, r *rand.Rand, c *topic.Compiler) propSubscriber {
	specs := randomSpecs(r)
	q := url.Values{"topic": {markerTopic}}
	for _, s := range specs {
		name := map[topic.Kind]string{topic.KindExact: "match", topic.KindURLPattern: "match_urlpattern", topic.KindTopic: "topic"}[s.Kind]
		q.Add(name, s.Expr)
	}
	sub := propSubscriber{query: q.Encode()}
	var err error
	if sub.selectors, err = c.NewSet(append(specs, topic.Spec{Kind: topic.KindTopic, Expr: markerTopic})...); err != nil {
		t.Fatal(err)
	}
	if r.IntN(5) == 0 {
		return sub // anonymous
	}
	var grants []auth.Matcher
	var grantSpecs []topic.Spec
	for range r.IntN(3) { // zero grants is a valid token that reads public updates only
		var m auth.Matcher
		switch r.IntN(6) {
		case 0:
			m = auth.Matcher{Match: "*", Type: auth.MatchExact}
		case 1:
			m = auth.Matcher{Match: "https://example.com/items/:id", Type: auth.MatchURLPattern}
		default:
			m = auth.Matcher{Match: propTopic(r.IntN(propTopics)), Type: auth.MatchExact}
		}
		grants = append(grants, m)
		kind := map[auth.MatchType]topic.Kind{auth.MatchExact: topic.KindExact, auth.MatchURLPattern: topic.KindURLPattern}[m.Type]
		grantSpecs = append(grantSpecs, topic.Spec{Kind: kind, Expr: m.Match})
	}
	claims := auth.Claims{Subscribe: grants}
	if r.IntN(2) == 0 {
		claims.Form = auth.FormLegacy
	}
	sub.token = sign(t, claims, time.Hour)
	if sub.grants, err = c.NewSet(grantSpecs...); err != nil {
		t.Fatal(err)
	}
	return sub
}

// randomEvents draws updates of one to three topics, half of them private.
func randomEvents(r *rand.Rand) []propEvent {
	events := make([]propEvent, propEvents)
	for i := range events {
		n := 1 + r.IntN(3)
		for range n {
			events[i].topics = append(events[i].topics, propTopic(r.IntN(propTopics)))
		}
		events[i].private = r.IntN(2) == 0
	}
	return events
}

// mayReceive is the model of Mercure §"Subscribers": a selector matches a
// topic of the update, and a private update needs a grant matching one too.
func (s propSubscriber) mayReceive(e propEvent) bool {
	if !s.selectors.MatchAny(e.topics) {
		return false
	}
	return !e.private || (s.grants != nil && s.grants.MatchAny(e.topics))
}

func (h *testHub) publishProp(t *testing.T, events []propEvent) {
	for i := range events {
		f := url.Values{"topic": events[i].topics, "data": {fmt.Sprint(i)}}
		if events[i].private {
			f.Set("private", "") // presence alone makes it private
		}
		events[i].id = h.publish(t, f)
	}
}

// checkDelivery reads every subscriber's stream up to the marker and
// compares the ids with the model: exactly the allowed events, in order.
func checkDelivery(t *testing.T, subs []propSubscriber, clients []*client, events []propEvent, marker string) {
	t.Helper()
	leaks := 0
	for i, s := range subs {
		var want []string
		for _, e := range events {
			if s.mayReceive(e) {
				want = append(want, e.id)
			}
		}
		got := clients[i].until(t, marker, 10*time.Second)
		for _, id := range got {
			for _, e := range events {
				if e.id == id && !s.mayReceive(e) {
					leaks++
				}
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("subscriber %d (%s, token %v): got %d events, want %d\n got %v\nwant %v", i, s.query, s.token != "", len(got), len(want), got, want)
		}
	}
	if leaks > 0 {
		t.Fatalf("%d private events leaked to unauthorized subscribers", leaks)
	}
}

// TestPrivateUpdatesProperty checks Mercure §"Subscribers" over random
// subscribers, grants and updates: on live delivery and on replay, each
// subscriber receives exactly the updates its selectors match and its
// token may read, in order, and no private update reaches anyone else.
func TestPrivateUpdatesProperty(t *testing.T) {
	c, err := topic.NewCompiler(topic.Config{HubURL: testAudience})
	if err != nil {
		t.Fatal(err)
	}
	for seed := range uint64(3) {
		r := rand.New(rand.NewPCG(seed, 42))
		subs := make([]propSubscriber, propSubscribers)
		for i := range subs {
			subs[i] = randomSubscriber(t, r, c)
		}
		events := randomEvents(r)

		t.Run(fmt.Sprintf("live/seed=%d", seed), func(t *testing.T) {
			h := newHub(t, boltStore(t), allowAnonymous)
			clients := connectAll(t, h, subs, "")
			h.publishProp(t, events)
			marker := h.publish(t, form("topic", markerTopic))
			checkDelivery(t, subs, clients, events, marker)
		})
		t.Run(fmt.Sprintf("replay/seed=%d", seed), func(t *testing.T) {
			h := newHub(t, boltStore(t), allowAnonymous)
			anchor := h.publish(t, form("topic", propTopic(0)))
			h.publishProp(t, events)
			marker := h.publish(t, form("topic", markerTopic))
			clients := connectAll(t, h, subs, anchor)
			checkDelivery(t, subs, clients, events, marker)
		})
	}
}

func allowAnonymous(c *serverConfig) { c.AllowAnonymous = true }

// connectAll subscribes every subscriber, resuming after lastID when set.
func connectAll(t *testing.T, h *testHub, subs []propSubscriber, lastID string) []*client {
	clients := make([]*client, len(subs))
	for i, s := range subs {
		hdr := http.Header{}
		if s.token != "" {
			hdr.Set("Authorization", "Bearer "+s.token)
		}
		if lastID != "" {
			hdr.Set("Last-Event-ID", lastID)
		}
		c, body := h.subscribe(t, s.query, hdr)
		if c.resp.StatusCode != http.StatusOK {
			t.Fatalf("subscribe %s: %s %q", s.query, c.resp.Status, body)
		}
		clients[i] = c
	}
	return clients
}
