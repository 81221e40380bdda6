package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/frame"
	"github.com/edge-sse/edge-sse/shared/mercure"
)

// TestResumeEarliest: "earliest", in the header or either query parameter,
// replays every stored event the subscriber may see, from the oldest one
// the history still holds, with Mercure-Last-Event-ID "earliest" and no
// mercure-missed notice; then live events follow.
func TestResumeEarliest(t *testing.T) {
	h := newHub(t, hub.NewMemoryHistory(4), allowAnonymous)
	var ids []string
	for i := range 6 {
		f := form("topic", bookTopic, "data", string(rune('a'+i)))
		if i == 4 {
			f.Set("private", "on") // not for an anonymous subscriber
		}
		ids = append(ids, h.publish(t, f))
	}
	waitNewest(t, h, ids[5])
	q := "topic=" + url.QueryEscape(bookTopic)
	for _, c := range []struct {
		name   string
		query  string
		header http.Header
	}{
		{"header", q, http.Header{"Last-Event-ID": {"earliest"}}},
		{"last_event_id", q + "&last_event_id=earliest", nil},
		{"lastEventID", q + "&lastEventID=earliest", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl, body := h.subscribe(t, c.query, c.header)
			if cl.resp.StatusCode != http.StatusOK {
				t.Fatalf("%s %q", cl.resp.Status, body)
			}
			for _, name := range []string{"Mercure-Last-Event-ID", "Last-Event-ID"} {
				if got := cl.resp.Header.Get(name); got != mercure.Earliest {
					t.Errorf("%s %q, want earliest", name, got)
				}
			}
			// The history holds the newest 4: ids[2..5]; ids[4] is private.
			for _, want := range []string{ids[2], ids[3], ids[5]} {
				if e := cl.next(t, 5*time.Second); e.ID != want {
					t.Fatalf("replayed %q (type %q), want %q", e.ID, e.Type, want)
				}
			}
		})
	}
	cl, _ := h.subscribe(t, q+"&last_event_id=earliest", nil)
	cl.until(t, ids[5], 5*time.Second)
	id := h.publish(t, form("topic", bookTopic))
	if e := cl.next(t, 5*time.Second); e.ID != id {
		t.Fatalf("after the replay got %q, want live %q", e.ID, id)
	}
}

// TestFeedEarliest: the edge feed accepts "earliest" as lastEventID, live
// (every stored event, then live ones) and as the start of a bounded
// catch-up (every stored event up to until).
func TestFeedEarliest(t *testing.T) {
	h := newHub(t, boltStore(t))
	var ids []string
	for i := range 4 {
		ids = append(ids, h.publish(t, form("topic", bookTopic, "data", string(rune('a'+i)))))
	}
	waitNewest(t, h, ids[3])
	hello := "hello(" + ids[3] + ")"
	for _, c := range []struct{ name, query, want string }{
		{"catch-up", "lastEventID=earliest&until=" + url.QueryEscape(ids[2]),
			hello + " event(" + ids[0] + ") event(" + ids[1] + ") event(" + ids[2] + ")"},
		{"catch-up, unknown until", "lastEventID=earliest&until=future", hello + " gap(future)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fc, body := h.openFeed(t, c.query, feedSecret)
			if fc.resp.StatusCode != http.StatusOK {
				t.Fatalf("%s %q", fc.resp.Status, body)
			}
			var got []string
			for _, f := range fc.all(t) {
				got = append(got, f.String())
			}
			if s := strings.Join(got, " "); s != c.want {
				t.Fatalf("frames %s, want %s", s, c.want)
			}
		})
	}
	t.Run("live", func(t *testing.T) {
		fc, body := h.openFeed(t, "lastEventID=earliest", feedSecret)
		if fc.resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %q", fc.resp.Status, body)
		}
		if f := fc.next(t, frame.TypeHello, frame.TypeGap, frame.TypeEvent); f.String() != hello {
			t.Fatalf("first frame %s, want %s", f, hello)
		}
		for _, want := range ids {
			if f := fc.next(t, frame.TypeEvent, frame.TypeGap); f.typ != frame.TypeEvent || f.id != want {
				t.Fatalf("frame %s, want event(%s)", f, want)
			}
		}
		id := h.publish(t, form("topic", bookTopic))
		if f := fc.next(t, frame.TypeEvent, frame.TypeGap); f.id != id {
			t.Fatalf("then %s, want live event(%s)", f, id)
		}
	})
}

// TestMetadata: the protected resource metadata (RFC 9728) names the
// hub's URL as its resource, the Mercure detail type, the header bearer
// method and the cookie; a 401 points to it.
func TestMetadata(t *testing.T) {
	h := newHub(t, nil)
	resp, body := do(t, mustRequest(t, h.URL+mercure.MetadataPath))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%s %s %q", resp.Status, resp.Header.Get("Content-Type"), body)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	if m["resource"] != testAudience || m["mercure_cookie"] != auth.CookieName ||
		!jsonList(m["authorization_details_types_supported"], auth.DetailType) || !jsonList(m["bearer_methods_supported"], "header") {
		t.Fatalf("metadata %s", body)
	}
	cl, _ := h.subscribe(t, "topic=*", nil)
	if got, want := cl.resp.Header.Get("WWW-Authenticate"), `Bearer `+testMetadata; got != want {
		t.Fatalf("401 challenge %q, want %q", got, want)
	}
}

func jsonList(v any, want string) bool {
	l, ok := v.([]any)
	return ok && len(l) == 1 && l[0] == want
}

func mustRequest(t *testing.T, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestNoHubURL: without a configured hub URL, a relative URL pattern (in
// the query or in a token's grants) is refused, saying to configure
// --hub-url, and absolute ones work; the metadata names the requested
// host, for that request only.
func TestNoHubURL(t *testing.T) {
	h := newHub(t, nil, allowAnonymous, func(c *serverConfig) { c.HubURL = "" })
	cl, body := h.subscribe(t, "match_urlpattern=/books/:id", nil)
	if cl.resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "--hub-url") {
		t.Fatalf("relative pattern without a hub URL: %s %q, want 400 naming --hub-url", cl.resp.Status, body)
	}
	token := sign(t, auth.Claims{Subscribe: []auth.Matcher{{Match: "/books/:id", Type: auth.MatchURLPattern}}}, time.Hour)
	cl, body = h.subscribe(t, "topic=*", bearer(token))
	if cl.resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "--hub-url") {
		t.Fatalf("relative grant without a hub URL: %s %q, want 401 naming --hub-url", cl.resp.Status, body)
	}
	cl, body = h.subscribe(t, "match_urlpattern="+url.QueryEscape("https://example.com/books/:id"), nil)
	if cl.resp.StatusCode != http.StatusOK {
		t.Fatalf("absolute pattern: %s %q", cl.resp.Status, body)
	}
	id := h.publish(t, form("topic", bookTopic))
	if e := cl.next(t, 5*time.Second); e.ID != id {
		t.Fatalf("absolute pattern got %q, want %q", e.ID, id)
	}
	req := mustRequest(t, h.URL+mercure.MetadataPath)
	req.Host = "evil.example"
	_, body = do(t, req)
	if !strings.Contains(body, `"resource":"http://evil.example/.well-known/mercure"`) {
		t.Fatalf("metadata for Host evil.example: %s", body)
	}
	_, body = do(t, mustRequest(t, h.URL+mercure.MetadataPath))
	if strings.Contains(body, "evil.example") {
		t.Fatalf("a later request's metadata kept the earlier Host: %s", body)
	}
}
