package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/origin/server"
	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/mercure"
)

const appOrigin = "https://app.example.com"

// preflight sends a CORS preflight for a GET with an Authorization header.
func preflight(t *testing.T, h *testHub, origin string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodOptions, h.URL+server.MercurePath, nil)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "GET")
	req.Header.Set("Access-Control-Request-Headers", "authorization, last-event-id")
	resp, _ := do(t, req)
	return resp
}

// TestCORSExplicitOrigins: listed origins are echoed with credentials, so
// that the authorization cookie works (Mercure §"Subscription"); others
// get no CORS headers and a refused preflight.
func TestCORSExplicitOrigins(t *testing.T) {
	h := newHub(t, nil, allowAnonymous, func(c *serverConfig) { c.CORSOrigins = []string{appOrigin} })

	resp := preflight(t, h, appOrigin)
	hd := resp.Header
	if resp.StatusCode != http.StatusNoContent ||
		hd.Get("Access-Control-Allow-Origin") != appOrigin ||
		hd.Get("Access-Control-Allow-Credentials") != "true" ||
		hd.Get("Access-Control-Allow-Methods") != "GET, POST, OPTIONS" ||
		hd.Get("Access-Control-Allow-Headers") != "Authorization, Content-Type, Last-Event-ID, Cache-Control" ||
		hd.Get("Access-Control-Max-Age") == "" {
		t.Fatalf("preflight from %s: %s %v", appOrigin, resp.Status, hd)
	}
	if resp := preflight(t, h, "https://evil.example.com"); resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from a foreign origin: %s %v", resp.Status, resp.Header)
	}

	cl, _ := h.subscribe(t, "topic=*", http.Header{"Origin": {appOrigin}})
	hd = cl.resp.Header
	if hd.Get("Access-Control-Allow-Origin") != appOrigin || hd.Get("Access-Control-Allow-Credentials") != "true" ||
		hd.Get("Access-Control-Expose-Headers") == "" || hd.Get("Vary") != "Origin" {
		t.Fatalf("subscribe from %s: %v", appOrigin, hd)
	}
	foreign, _ := h.subscribe(t, "topic=*", http.Header{"Origin": {"https://evil.example.com"}})
	if v := foreign.resp.Header.Get("Access-Control-Allow-Origin"); v != "" {
		t.Fatalf("foreign origin allowed: %q", v)
	}
}

// TestCORSWildcard: "*" allows any origin, never with credentials. As
// with mercure.CORS at the edge, a request without Origin gets "*" too,
// and the answer, the same for every request, has no Vary: Origin.
func TestCORSWildcard(t *testing.T) {
	h := newHub(t, nil, allowAnonymous, func(c *serverConfig) { c.CORSOrigins = []string{"*"} })
	resp := preflight(t, h, "https://anywhere.example")
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("preflight: %s %v", resp.Status, resp.Header)
	}
	for _, origin := range []string{"https://anywhere.example", ""} {
		hdr := http.Header{}
		if origin != "" {
			hdr.Set("Origin", origin)
		}
		cl, _ := h.subscribe(t, "topic=*", hdr)
		hd := cl.resp.Header
		if hd.Get("Access-Control-Allow-Origin") != "*" || hd.Get("Access-Control-Allow-Credentials") != "" ||
			hd.Get("Access-Control-Expose-Headers") == "" || hd.Get("Vary") != "" {
			t.Fatalf("subscribe with Origin %q: %v", origin, hd)
		}
	}
}

// TestCORSTrailingSlash: an origin configured with a trailing "/" is
// allowed as the browser sends it (without one).
func TestCORSTrailingSlash(t *testing.T) {
	h := newHub(t, nil, allowAnonymous, func(c *serverConfig) { c.CORSOrigins = []string{appOrigin + "/"} })
	cl, _ := h.subscribe(t, "topic=*", http.Header{"Origin": {appOrigin}})
	if hd := cl.resp.Header; hd.Get("Access-Control-Allow-Origin") != appOrigin || hd.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("subscribe from %s: %v", appOrigin, hd)
	}
}

// TestCORSOff: without CORSOrigins no CORS header is sent and preflights
// are refused; the discovery Link header is on every hub response.
func TestCORSOff(t *testing.T) {
	h := newHub(t, nil, func(c *serverConfig) { c.HubURL = "" })
	resp := preflight(t, h, appOrigin)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight: %s %v", resp.Status, resp.Header)
	}
	if link := resp.Header.Get("Link"); link != `</.well-known/mercure>; rel="mercure"` {
		t.Fatalf("Link %q", link)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []server.Config{
		{HubURL: "/relative"},
		{HubURL: "ftp://hub.example.com/.well-known/mercure"},
		{CORSOrigins: []string{"https://app.example.com/path"}},
		{CORSOrigins: []string{"app.example.com"}},
		{CORSOrigins: []string{"ftp://app.example.com"}},
		{CORSOrigins: []string{"chrome-extension://abcdefghijklmnop"}},
		{CORSOrigins: []string{"https://user@app.example.com"}},
		{CORSOrigins: []string{"https://app.example.com#x"}},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: Validate accepted it", c)
		}
	}
	ok := server.Config{HubURL: "https://hub.example.com/.well-known/mercure", CORSOrigins: []string{"*", "http://localhost:3000"}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
}

// corsOf is what a CORS policy decided in an answer's headers: the allowed
// origin, the credentials flag and how many Vary entries name Origin.
type corsOf struct {
	allow, credentials string
	varyOrigin         int
}

func corsHeadersOf(h http.Header) corsOf {
	c := corsOf{allow: h.Get("Access-Control-Allow-Origin"), credentials: h.Get("Access-Control-Allow-Credentials")}
	for _, v := range h.Values("Vary") {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), "Origin") {
				c.varyOrigin++
			}
		}
	}
	return c
}

// TestCORSSameAsShared runs one table of requests (Origin listed, not
// listed or absent; with and without credentials; preflights) on the
// subscribe and publish endpoint, the subscription API and the metadata,
// for several --cors-origins lists, through the origin's handler and
// through mercure.CORS (the edge's policy) directly, and requires the same
// CORS headers from both. The metadata is public: its policy is "*".
func TestCORSSameAsShared(t *testing.T) {
	const other = "https://other.example"
	lists := [][]string{
		nil,
		{"*"},
		{appOrigin},
		{"*", appOrigin},
		{appOrigin + "/"},
		{"http://localhost:3000", appOrigin},
	}
	type request struct {
		name, method, path string
		origin, cookie     string
		bearer             bool
		preflight          bool
		metadata           bool
	}
	var reqs []request
	for _, o := range []struct{ name, origin string }{{"listed", appOrigin}, {"not listed", other}, {"absent", ""}} {
		reqs = append(reqs,
			request{name: "subscribe, Origin " + o.name, method: http.MethodGet, path: server.MercurePath + "?topic=*", origin: o.origin},
			request{name: "subscribe with a token, Origin " + o.name, method: http.MethodGet, path: server.MercurePath + "?topic=*", origin: o.origin, bearer: true},
			request{name: "subscribe with the cookie, Origin " + o.name, method: http.MethodGet, path: server.MercurePath + "?topic=*", origin: o.origin, cookie: "mercureAuthorization=not.a.jwt"},
			request{name: "refused subscribe, Origin " + o.name, method: http.MethodGet, path: server.MercurePath, origin: o.origin},
			request{name: "publish without a token, Origin " + o.name, method: http.MethodPost, path: server.MercurePath, origin: o.origin},
			request{name: "publish with the cookie, Origin " + o.name, method: http.MethodPost, path: server.MercurePath, origin: o.origin, cookie: "mercureAuthorization=not.a.jwt"},
			request{name: "preflight, Origin " + o.name, method: http.MethodOptions, path: server.MercurePath, origin: o.origin, preflight: true},
			request{name: "subscription API, Origin " + o.name, method: http.MethodGet, path: server.SubscriptionsPath, origin: o.origin, bearer: true},
			request{name: "subscription API preflight, Origin " + o.name, method: http.MethodOptions, path: server.SubscriptionsPath, origin: o.origin, preflight: true},
			request{name: "metadata, Origin " + o.name, method: http.MethodGet, path: server.MetadataPath, origin: o.origin, metadata: true},
		)
	}
	public, err := mercure.ParseCORS("*")
	if err != nil {
		t.Fatal(err)
	}
	token := sign(t, auth.Claims{Subscribe: []auth.Matcher{{Match: "*", Type: auth.MatchExact}, {Match: "/.well-known/mercure/subscriptions/*", Type: auth.MatchURLPattern}}}, time.Hour)
	for _, list := range lists {
		policy, err := mercure.ParseCORS(strings.Join(list, ","))
		if err != nil {
			t.Fatal(err)
		}
		h := presenceHub(t, nil, newClock(), allowAnonymous, func(c *serverConfig) { c.CORSOrigins = list })
		for _, r := range reqs {
			t.Run(fmt.Sprintf("%q/%s", list, r.name), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				req, _ := http.NewRequestWithContext(ctx, r.method, h.URL+r.path, nil)
				if r.origin != "" {
					req.Header.Set("Origin", r.origin)
				}
				if r.cookie != "" {
					req.Header.Set("Cookie", r.cookie)
				}
				if r.bearer {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				if r.preflight {
					req.Header.Set("Access-Control-Request-Method", "GET")
					req.Header.Set("Access-Control-Request-Headers", "authorization")
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close() // a stream's headers are all this needs
				want := http.Header{}
				p := policy
				if r.metadata {
					p = public
				}
				p.Set(want, r.origin)
				if got, want := corsHeadersOf(resp.Header), corsHeadersOf(want); got != want {
					t.Errorf("%s: origin's CORS %+v, mercure.CORS %+v", resp.Status, got, want)
				}
				allowed, _ := p.Allow(r.origin)
				if r.preflight && (resp.StatusCode == http.StatusNoContent) != (allowed != "") {
					t.Errorf("preflight: %s with Access-Control-Allow-Origin %q", resp.Status, allowed)
				}
				if !r.metadata && (resp.Header.Get("Access-Control-Expose-Headers") != "") != (allowed != "") {
					t.Errorf("Access-Control-Expose-Headers %q with Access-Control-Allow-Origin %q", resp.Header.Get("Access-Control-Expose-Headers"), allowed)
				}
			})
		}
	}
}
