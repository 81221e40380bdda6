package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/mercure"
	"github.com/edge-sse/edge-sse/shared/mercure/mercuretest"
	"github.com/edge-sse/edge-sse/shared/sse"
)

// TestContractOriginVsEdge runs the representative cases of the subscribe
// contract (mercuretest.Case.E2E) against the origin and through the
// worker (real workerd, the same origin behind it), and requires from both
// the status, body and headers of the case, the same answer, and for a
// stream the same first events: the replay, then one live event.
func TestContractOriginVsEdge(t *testing.T) {
	keepFeedOpen(t)
	topic := uniqueTopic(t, "contract")
	ids := publishN(t, topic, "contract", 3)
	waitEdgeHas(t, ids[2])
	sign := func(c auth.Claims, kid string, ttl time.Duration) string {
		c.ExpiresAt = time.Now().Add(ttl)
		tok, err := auth.Signer{Alg: auth.HS256, Key: []byte(jwtKey), KeyID: kid}.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	n := 0
	for _, c := range mercuretest.Cases(sign, mercuretest.RawHS256([]byte(jwtKey)), ids[0]) {
		if !c.E2E {
			continue
		}
		n++
		t.Run(c.Name, func(t *testing.T) {
			o := askHub(t, sys.originURL, c)
			e := askHub(t, sys.edgeURL, c)
			for _, a := range []*hubAnswer{o, e} {
				if a.status != c.Status {
					t.Errorf("%s: status %d, want %d (body %q)", a.side, a.status, c.Status, a.body)
				}
				if !strings.Contains(a.body, c.Body) {
					t.Errorf("%s: body %q does not say %q", a.side, a.body, c.Body)
				}
				if got := a.header.Get("Mercure-Last-Event-ID"); got != c.Anchor {
					t.Errorf("%s: Mercure-Last-Event-ID %q, want %q", a.side, got, c.Anchor)
				}
				if ch := a.header.Get("WWW-Authenticate"); c.Challenge != "" && !strings.HasPrefix(ch, c.Challenge+", resource_metadata=") {
					t.Errorf("%s: WWW-Authenticate %q, want %s with resource_metadata", a.side, ch, c.Challenge)
				}
			}
			if o.status != e.status || o.body != e.body {
				t.Errorf("origin %d %q, edge %d %q", o.status, o.body, e.status, e.body)
			}
			// Both sides have the same CORS origins here: the CORS headers
			// too.
			for _, name := range append(slices.Clone(mercuretest.Compared), corsHeaders...) {
				if ov, ev := o.normalized(name), e.normalized(name); ov != ev {
					t.Errorf("%s: origin %q, edge %q", name, ov, ev)
				}
			}
			if o.status != http.StatusOK || e.status != http.StatusOK {
				return
			}
			live := publish(t, sys.originURL, url.Values{"topic": {topic}, "data": {"live " + c.Name}})
			oe, ee := o.eventsUntil(t, live), e.eventsUntil(t, live)
			if !slices.Equal(oe, ee) {
				t.Fatalf("first events differ:\norigin %q\nedge   %q", oe, ee)
			}
			// A resume replays everything after ids[0] (the live events of
			// the cases before this one too), then the live event.
			// A resume from earliest replays the whole retained history:
			// the events published before the cases are in it.
			if strings.Contains(c.Query, "lastEventID="+mercure.Earliest) && !slices.Contains(oe, "message "+ids[0]) {
				t.Fatalf("resumed from earliest: %d events without %s", len(oe), ids[0])
			}
			if c.Anchor == ids[0] && (len(oe) < 3 || !slices.Equal(oe[:2], []string{"message " + ids[1], "message " + ids[2]})) {
				t.Fatalf("resumed after %s: %q, want %s, %s, …, %s", ids[0], oe, ids[1], ids[2], live)
			}
		})
	}
	if n < 10 {
		t.Fatalf("only %d end-to-end cases", n)
	}
}

// corsHeaders are the CORS headers of an answer that is not a preflight.
var corsHeaders = []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Expose-Headers", "Vary"}

// TestContractPreflight: the origin and the worker, given the same CORS
// origins, answer a CORS preflight of the hub endpoint alike
// (mercure.CORS.Preflight).
func TestContractPreflight(t *testing.T) {
	samePreflight(t, sys.originURL, sys.edgeURL, mercure.Path)
}

// samePreflight requires the same answer from the origin and the edge to
// a CORS preflight of path, from a listed origin, an origin only "*"
// allows, and no Origin at all: 204 with the hub's methods, request
// headers and max age, and the same CORS headers.
func samePreflight(t *testing.T, originBase, edgeBase, path string) {
	t.Helper()
	for _, from := range []string{sys.appURL, "https://not-listed.example", ""} {
		var answers [2]*http.Response
		for i, base := range []string{originBase, edgeBase} {
			req, _ := http.NewRequest(http.MethodOptions, base+path, nil)
			if from != "" {
				req.Header.Set("Origin", from)
			}
			req.Header.Set("Access-Control-Request-Method", "GET")
			req.Header.Set("Access-Control-Request-Headers", "authorization, last-event-id")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			answers[i] = resp
		}
		o, e := answers[0], answers[1]
		if o.StatusCode != http.StatusNoContent || e.StatusCode != http.StatusNoContent {
			t.Errorf("preflight of %s from %q: origin %s, edge %s, want 204 from both", path, from, o.Status, e.Status)
		}
		if got := e.Header.Get("Access-Control-Allow-Methods"); got != mercure.PreflightMethods {
			t.Errorf("preflight of %s from %q: the edge allows the methods %q, want %q", path, from, got, mercure.PreflightMethods)
		}
		for _, name := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods",
			"Access-Control-Allow-Headers", "Access-Control-Max-Age", "Vary"} {
			if ov, ev := strings.Join(o.Header.Values(name), ", "), strings.Join(e.Header.Values(name), ", "); ov != ev {
				t.Errorf("preflight of %s from %q: %s: origin %q, edge %q", path, from, name, ov, ev)
			}
		}
	}
}

// TestEdgeMetadata: both sides serve the protected resource metadata
// (RFC 9728), the same document for their own URL, and a 401 of the edge
// points to it.
func TestEdgeMetadata(t *testing.T) {
	var docs []string
	for _, base := range []string{sys.originURL, sys.edgeURL} {
		resp, err := http.Get(base + mercure.MetadataPath)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %s %s %q", base, resp.Status, resp.Header.Get("Content-Type"), b)
		}
		doc := strings.ReplaceAll(string(b), strings.TrimPrefix(base, "http://"), "HUB")
		if !strings.Contains(doc, `"resource":"http://HUB/.well-known/mercure"`) || !strings.Contains(doc, auth.DetailType) {
			t.Fatalf("%s: metadata %s", base, b)
		}
		docs = append(docs, doc)
	}
	if docs[0] != docs[1] {
		t.Fatalf("origin metadata %s, edge %s", docs[0], docs[1])
	}
	c := mercuretest.Case{Query: "topic=*", Header: []mercuretest.Header{{Name: "Authorization", Value: "Bearer not.a.jwt"}}}
	a := askHub(t, sys.edgeURL, c)
	want := `Bearer error="invalid_token", resource_metadata="` + sys.edgeURL + mercure.MetadataPath + `"`
	if a.status != http.StatusUnauthorized || a.header.Get("WWW-Authenticate") != want {
		t.Fatalf("edge 401: %d %q, want %q", a.status, a.header.Get("WWW-Authenticate"), want)
	}
}

// hubAnswer is one side's answer to a case: for a stream, its events are
// read on a goroutine.
type hubAnswer struct {
	side   string
	base   string
	status int
	body   string
	header http.Header
	events chan sse.Event
}

// askHub sends c to the hub at base.
func askHub(t *testing.T, base string, c mercuretest.Case) *hubAnswer {
	t.Helper()
	req, err := c.Request(base)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	side := "origin"
	if base == sys.edgeURL {
		side = "edge"
	}
	a := &hubAnswer{side: side, base: base, status: resp.StatusCode, header: resp.Header}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		a.body = string(b)
		return a
	}
	a.events = make(chan sse.Event, 1024)
	go func() {
		defer resp.Body.Close()
		defer close(a.events)
		p := sse.NewParser(resp.Body, sse.Config{})
		for p.Next() {
			if p.Kind() == sse.KindEvent {
				a.events <- p.Event()
			}
		}
	}()
	return a
}

// normalized returns the header's values, joined, with the side's own
// address replaced, so that URLs derived from it compare equal.
func (a *hubAnswer) normalized(name string) string {
	return strings.ReplaceAll(strings.Join(a.header.Values(name), ", "), strings.TrimPrefix(a.base, "http://"), "HUB")
}

// eventsUntil returns "type id" of the events read up to and including the
// one with id last.
func (a *hubAnswer) eventsUntil(t *testing.T, last string) []string {
	t.Helper()
	var got []string
	timeout := time.After(20 * time.Second)
	for {
		select {
		case e, ok := <-a.events:
			if !ok {
				t.Fatalf("%s: stream ended after %q", a.side, got)
			}
			got = append(got, fmt.Sprintf("%s %s", e.Type, e.ID))
			if e.ID == last {
				return got
			}
		case <-timeout:
			t.Fatalf("%s: no event %s within 20s; got %q", a.side, last, got)
		}
	}
}

// TestEdgeHostDoesNotSetBaseURL: a hub object used to take the base URL of
// relative URL patterns from the first request it saw and keep it. After a
// restart, the fresh object's first request names Host evil.example; later
// clients must match as if it never came: without PUBLIC_URL a relative
// URL pattern is refused naming PUBLIC_URL, and a relative topic reaches no
// client whose absolute pattern names evil.example.
func TestEdgeHostDoesNotSetBaseURL(t *testing.T) {
	restartWrangler(t)
	req, err := http.NewRequest(http.MethodGet, sys.edgeURL+mercure.Path+"?topic=*", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "evil.example"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("first request with Host evil.example: %s", resp.Status)
	}

	path := fmt.Sprintf("/e2e-host/%d", time.Now().UnixNano())
	watcher := subscribeSSE(t, sys.edgeURL+mercure.Path+"?match_urlpattern="+url.QueryEscape("http://evil.example"+path+"/*"), nil)
	rel := askHub(t, sys.edgeURL, mercuretest.Case{Query: "match_urlpattern=" + url.QueryEscape(path+"/:id")})
	if rel.status != http.StatusBadRequest || !strings.Contains(rel.body, "PUBLIC_URL") {
		t.Errorf("relative URL pattern after a request with Host evil.example: %d %q, want 400 naming PUBLIC_URL", rel.status, rel.body)
	}
	publish(t, sys.originURL, url.Values{"topic": {path + "/relative"}})
	marker := publish(t, sys.originURL, url.Values{"topic": {"http://evil.example" + path + "/marker"}})
	if e := watcher.next(t, 20*time.Second); e.ID != marker {
		t.Fatalf("the client of http://evil.example%s/* got %+v first: the relative topic resolved against the Host of another client's request", path, e)
	}
}
