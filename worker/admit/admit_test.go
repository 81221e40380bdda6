package admit_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/shared/mercure"
	"github.com/edge-sse/edge-sse/worker/admit"
)

// stateHub is an edge hub state set by the test.
type stateHub struct {
	streams, catchingUp int
	ring                []string
	newest              string
}

func (s stateHub) Streams() int    { return s.streams }
func (s stateHub) CatchingUp() int { return s.catchingUp }
func (s stateHub) InRing(id string) bool {
	for _, r := range s.ring {
		if r == id {
			return true
		}
	}
	return id == ""
}
func (s stateHub) LastEventID() string { return s.newest }

func newGate(t *testing.T, cfg admit.Config) *admit.Gate {
	t.Helper()
	g, err := admit.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// cors parses a CORS_ORIGINS value.
func cors(t testing.TB, list string) mercure.CORS {
	t.Helper()
	c, err := mercure.ParseCORS(list)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func open(g *admit.Gate, rawURL, lastEventID string, hub admit.Hub) admit.Answer {
	return g.Open(admit.Request{URL: rawURL, LastEventID: lastEventID}, hub)
}

// TestGateLimits: past MAX_CLIENTS streams, and past MAX_CATCHUP streams
// waiting for the origin when the ring cannot serve the resume id, a
// request gets 503 with Retry-After and a message naming the limit.
func TestGateLimits(t *testing.T) {
	g := newGate(t, admit.Config{AllowAnonymous: true, MaxClients: 2, MaxCatchup: 1, CORSOrigins: cors(t, "https://app.example"), Retry: 2500 * time.Millisecond})
	u := "http://edge.test" + mercure.Path + "?topic=*"
	full := open(g, u, "", stateHub{streams: 2})
	if full.Status != http.StatusServiceUnavailable || full.Header.Get("Retry-After") != "2" || !strings.Contains(full.Body, "MAX_CLIENTS") {
		t.Errorf("at MAX_CLIENTS: %d %v %q", full.Status, full.Header, full.Body)
	}
	busy := stateHub{streams: 1, catchingUp: 1, ring: []string{"in-ring"}, newest: "in-ring"}
	if a := open(g, u, "old", busy); a.Status != http.StatusServiceUnavailable || !strings.Contains(a.Body, "MAX_CATCHUP") {
		t.Errorf("at MAX_CATCHUP with an id older than the ring: %d %q", a.Status, a.Body)
	}
	a := g.Open(admit.Request{URL: u, LastEventID: "in-ring", Origin: "https://app.example"}, busy)
	if a.Status != http.StatusOK || a.Sub == nil || a.Sub.Resume != "in-ring" {
		t.Fatalf("at MAX_CATCHUP with an id in the ring: %d %q", a.Status, a.Body)
	}
	if a.Header.Get("Access-Control-Allow-Origin") != "https://app.example" || a.Header.Get("Access-Control-Expose-Headers") != mercure.ExposeHeaders {
		t.Errorf("CORS %v", a.Header)
	}
}

// TestGateCORS: a page of an origin CORS_ORIGINS lists gets its origin
// back with Access-Control-Allow-Credentials (the cookie mode), on a
// stream and on a refusal alike; any other origin gets "*" without
// credentials when "*" is listed, nothing otherwise; Vary: Origin always.
func TestGateCORS(t *testing.T) {
	const app = "http://127.0.0.1:8081"
	u := "http://edge.test" + mercure.Path + "?topic=*"
	for _, tc := range []struct {
		list, origin, allow, creds string
		status                     int
	}{
		{"*," + app, app, app, "true", http.StatusOK},
		{"*," + app, "https://other.example", "*", "", http.StatusOK},
		{app, "https://other.example", "", "", http.StatusOK},
		{"*," + app, app, app, "true", http.StatusBadRequest},
		{"*", app, "*", "", http.StatusOK},
	} {
		g := newGate(t, admit.Config{AllowAnonymous: true, MaxClients: 10, MaxCatchup: 10, CORSOrigins: cors(t, tc.list)})
		req := admit.Request{URL: u, Origin: tc.origin}
		if tc.status == http.StatusBadRequest {
			req.URL = "http://edge.test" + mercure.Path
		}
		a := g.Open(req, stateHub{})
		h := a.Header
		if a.Status != tc.status || h.Get("Access-Control-Allow-Origin") != tc.allow || h.Get("Access-Control-Allow-Credentials") != tc.creds ||
			(h.Get("Vary") == "Origin") != (tc.list != "*") || h.Get("Access-Control-Expose-Headers") != mercure.ExposeHeaders {
			t.Errorf("CORS_ORIGINS %q, Origin %q: %d %v", tc.list, tc.origin, a.Status, h)
		}
	}
}

// TestGateResponseHeaders: the stream's headers carry Mercure-Last-Event-ID
// and Last-Event-ID with the id the stream resumes after (the edge used to
// omit the first and send its newest id in the second, even when it
// replayed from an older one), "earliest" for earliest, and only
// Last-Event-ID (the newest id) without a resume id.
func TestGateResponseHeaders(t *testing.T) {
	g := newGate(t, admit.Config{AllowAnonymous: true, MaxClients: 10, MaxCatchup: 10})
	hub := stateHub{ring: []string{"a", "b", "c"}, newest: "c"}
	u := "http://edge.test" + mercure.Path + "?topic=*"
	for _, c := range []struct{ name, url, header, mercure, legacy string }{
		{"no resume", u, "", "", "c"},
		{"header", u, "a", "a", "a"},
		{"last_event_id", u + "&last_event_id=b&lastEventID=a", "", "b", "b"},
		{"earliest", u + "&lastEventID=earliest", "", "earliest", "earliest"},
	} {
		a := open(g, c.url, c.header, hub)
		if a.Status != http.StatusOK {
			t.Fatalf("%s: %d %q", c.name, a.Status, a.Body)
		}
		if got := a.Header.Get("Mercure-Last-Event-ID"); got != c.mercure {
			t.Errorf("%s: Mercure-Last-Event-ID %q, want %q", c.name, got, c.mercure)
		}
		if got := a.Header.Get("Last-Event-ID"); got != c.legacy {
			t.Errorf("%s: Last-Event-ID %q, want %q", c.name, got, c.legacy)
		}
		if a.Header.Get("Content-Type") != "text/event-stream" || a.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: headers %v", c.name, a.Header)
		}
	}
}

// TestGateBaseURL: relative URL patterns resolve against PUBLIC_URL only.
// Without it they are refused, whatever host a request names; the
// challenge's metadata URL follows each request's own host and leaves
// nothing behind for the next.
func TestGateBaseURL(t *testing.T) {
	rel := mercure.Path + "?match_urlpattern=%2Fbooks%2F%3Aid"
	g := newGate(t, admit.Config{AllowAnonymous: true, MaxClients: 10, MaxCatchup: 10})
	for _, host := range []string{"evil.example", "edge.test"} {
		a := open(g, "http://"+host+rel, "", stateHub{})
		if a.Status != http.StatusBadRequest || !strings.Contains(a.Body, "PUBLIC_URL") {
			t.Errorf("relative pattern via %s without PUBLIC_URL: %d %q", host, a.Status, a.Body)
		}
	}
	g = newGate(t, admit.Config{PublicURL: "https://hub.example/.well-known/mercure", MaxClients: 10, MaxCatchup: 10})
	open(g, "http://evil.example"+rel, "", stateHub{})
	a := open(g, "https://hub.example"+rel, "", stateHub{})
	if a.Status != http.StatusUnauthorized {
		t.Fatalf("anonymous on a hub that refuses it: %d %q", a.Status, a.Body)
	}
	if got, want := a.Header.Get("WWW-Authenticate"), `Bearer resource_metadata="https://hub.example/.well-known/oauth-protected-resource/.well-known/mercure"`; got != want {
		t.Errorf("challenge %q, want %q", got, want)
	}
	g = newGate(t, admit.Config{PublicURL: "https://hub.example/.well-known/mercure", AllowAnonymous: true, MaxClients: 10, MaxCatchup: 10})
	open(g, "http://evil.example"+rel, "", stateHub{})
	a = open(g, "http://edge.test"+rel, "", stateHub{})
	if a.Status != http.StatusOK {
		t.Fatalf("relative pattern with PUBLIC_URL: %d %q", a.Status, a.Body)
	}
	if !a.Sub.Selectors.Match("https://hub.example/books/1") || a.Sub.Selectors.Match("http://evil.example/books/1") {
		t.Error("the relative pattern did not resolve against PUBLIC_URL")
	}
	if _, err := admit.New(admit.Config{PublicURL: "/relative"}); err == nil || !strings.Contains(err.Error(), "PUBLIC_URL") {
		t.Errorf("PUBLIC_URL /relative: %v, want an error naming PUBLIC_URL", err)
	}
}
