package admit_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/origin/hub/hubtest"
	"github.com/edge-sse/edge-sse/origin/server"
	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/mercure"
	"github.com/edge-sse/edge-sse/shared/mercure/mercuretest"
	"github.com/edge-sse/edge-sse/shared/topic"
	"github.com/edge-sse/edge-sse/worker/admit"
)

const (
	secret = "contract-test-key-0123456789abcdef0123"
	known  = "urn:uuid:known"
	// host is where both hubs are reached, so that the resource_metadata
	// of their challenges is the same URL.
	host = "hub.test"
	// metadata is the resource_metadata parameter of the challenges.
	metadata = `resource_metadata="http://` + host + mercure.MetadataPath + `"`
)

func verifier(t *testing.T) *auth.Verifier {
	t.Helper()
	k, err := auth.HMACKey([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(auth.Config{Keys: []auth.Key{k}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func signer(t *testing.T) mercuretest.Signer {
	return func(c auth.Claims, kid string, ttl time.Duration) string {
		t.Helper()
		c.ExpiresAt = time.Now().Add(ttl)
		tok, err := auth.Signer{Alg: auth.HS256, Key: []byte(secret), KeyID: kid}.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
}

// answer is what a hub answered, in the terms the two sides share.
type answer struct {
	status int
	body   string
	header http.Header
}

// fakeHub is the edge hub's state as the gate reads it: its ring holds
// known, the newest event.
type fakeHub struct{}

func (fakeHub) Streams() int          { return 0 }
func (fakeHub) InRing(id string) bool { return id == "" || id == known }
func (fakeHub) CatchingUp() int       { return 0 }
func (fakeHub) LastEventID() string   { return known }

// TestContractOriginAndEdge runs every case of the subscribe contract
// against the origin's handler (over HTTP) and the edge's gate, configured
// alike, and requires the status, body and headers the case gives, and
// the same answer from both.
func TestContractOriginAndEdge(t *testing.T) {
	v := verifier(t)
	store := hub.NewMemoryHistory(100)
	h := hub.New(store)
	defer h.Close()
	if err := h.Publish(hubtest.NewEvent(known, "x", "https://example.com/books/1")); err != nil {
		t.Fatal(err)
	}
	hubtest.WaitFanned(t, h, known)
	origin := httptest.NewServer(server.New(h, server.Config{
		Subscribers: v, AllowAnonymous: true, History: store,
		MaxSelectors: mercuretest.MaxSelectors, MaxFieldBytes: mercuretest.MaxLastEventID,
		Logger: slog.New(slog.DiscardHandler),
	}))
	defer origin.Close()
	gate, err := admit.New(admit.Config{
		Verifier: v, AllowAnonymous: true,
		Limits: topic.Config{MaxSelectors: mercuretest.MaxSelectors}, MaxLastEventID: mercuretest.MaxLastEventID,
		MaxClients: 10, MaxCatchup: 10, CORSOrigins: cors(t, "*"),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range mercuretest.Cases(signer(t), mercuretest.RawHS256([]byte(secret)), known) {
		t.Run(c.Name, func(t *testing.T) {
			o := askOrigin(t, origin.URL, c)
			a := gate.Open(admit.Request{
				URL:           "http://" + host + mercure.Path + "?" + c.Query,
				LastEventID:   c.Combined("Last-Event-ID"),
				Authorization: c.Combined("Authorization"),
				Cookie:        c.Combined("Cookie"),
			}, fakeHub{})
			if (a.Sub != nil) != (a.Status == http.StatusOK) {
				t.Fatalf("edge: status %d with subscription %v", a.Status, a.Sub)
			}
			e := answer{status: a.Status, body: a.Body, header: a.Header}
			check(t, "origin", c, o)
			check(t, "edge", c, e)
			if o.status != e.status || o.body != e.body {
				t.Errorf("origin %d %q, edge %d %q", o.status, o.body, e.status, e.body)
			}
			for _, name := range mercuretest.Compared {
				if c.EdgeAnchor != "" && strings.HasSuffix(name, "Last-Event-ID") {
					continue // checked against the case alone
				}
				if o.header.Get(name) != e.header.Get(name) {
					t.Errorf("%s: origin %q, edge %q", name, o.header.Get(name), e.header.Get(name))
				}
			}
		})
	}
}

// askOrigin sends c to the origin as if to host, and returns its answer
// (for a stream, the headers only).
func askOrigin(t *testing.T, base string, c mercuretest.Case) answer {
	t.Helper()
	req, err := c.Request(base)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return answer{status: resp.StatusCode, header: resp.Header}
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, body: string(b), header: resp.Header}
}

// check compares one side's answer with the case.
func check(t *testing.T, side string, c mercuretest.Case, a answer) {
	t.Helper()
	if a.status != c.Status {
		t.Errorf("%s: status %d, want %d (body %q)", side, a.status, c.Status, a.body)
	}
	if c.Body != "" && !strings.Contains(a.body, c.Body) {
		t.Errorf("%s: body %q does not say %q", side, a.body, c.Body)
	}
	anchor := c.Anchor
	if side == "edge" && c.EdgeAnchor != "" {
		anchor = c.EdgeAnchor
	}
	if got := a.header.Get("Mercure-Last-Event-ID"); got != anchor {
		t.Errorf("%s: Mercure-Last-Event-ID %q, want %q", side, got, anchor)
	}
	challenge := a.header.Get("WWW-Authenticate")
	switch {
	case a.status == http.StatusOK:
		if ct := a.header.Get("Content-Type"); ct != "text/event-stream" {
			t.Errorf("%s: Content-Type %q", side, ct)
		}
	case c.Challenge == "" && a.status != http.StatusUnauthorized:
		if challenge != "" {
			t.Errorf("%s: WWW-Authenticate %q, want none", side, challenge)
		}
	default:
		want := "Bearer " + metadata
		if c.Challenge != "" {
			want = c.Challenge + ", " + metadata
		}
		if got := challenge; got != want {
			t.Errorf("%s: WWW-Authenticate %q, want %q", side, got, want)
		}
	}
}

// TestContractNoKey: a hub with no key to verify subscriber tokens refuses
// every token, whatever its kid, with the same 401 at the origin and the
// edge, and still admits anonymous subscribers.
func TestContractNoKey(t *testing.T) {
	h := hub.New(hub.NewMemoryHistory(10))
	defer h.Close()
	origin := httptest.NewServer(server.New(h, server.Config{AllowAnonymous: true, Logger: slog.New(slog.DiscardHandler)}))
	defer origin.Close()
	gate, err := admit.New(admit.Config{AllowAnonymous: true, MaxClients: 10, MaxCatchup: 10})
	if err != nil {
		t.Fatal(err)
	}
	sign := signer(t)
	for _, c := range []mercuretest.Case{
		{Name: "anonymous", Query: "topic=*", Status: 200},
		{Name: "token without kid", Query: "topic=*", Header: []mercuretest.Header{{Name: "Authorization", Value: "Bearer " + sign(auth.Claims{}, "", time.Hour)}},
			Status: 401, Body: mercure.ErrNoSubscriberKey.Error(), Challenge: `Bearer error="invalid_token"`},
		{Name: "token with a kid", Query: "topic=*", Header: []mercuretest.Header{{Name: "Cookie", Value: auth.CookieName + "=" + sign(auth.Claims{}, "k1", time.Hour)}},
			Status: 401, Body: mercure.ErrNoSubscriberKey.Error(), Challenge: `Bearer error="invalid_token"`},
	} {
		t.Run(c.Name, func(t *testing.T) {
			o := askOrigin(t, origin.URL, c)
			a := gate.Open(admit.Request{URL: "http://" + host + mercure.Path + "?" + c.Query,
				Authorization: c.Combined("Authorization"), Cookie: c.Combined("Cookie")}, fakeHub{})
			e := answer{status: a.Status, body: a.Body, header: a.Header}
			check(t, "origin", c, o)
			check(t, "edge", c, e)
			if o.status != e.status || o.body != e.body || o.header.Get("WWW-Authenticate") != e.header.Get("WWW-Authenticate") {
				t.Errorf("origin %d %q %q, edge %d %q %q", o.status, o.body, o.header.Get("WWW-Authenticate"), e.status, e.body, e.header.Get("WWW-Authenticate"))
			}
		})
	}
}
