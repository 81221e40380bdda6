package server_test

import (
	"net/http"
	"testing"

	"github.com/edge-sse/edge-sse/origin/server"
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

// TestCORSWildcard: "*" allows any origin, never with credentials.
func TestCORSWildcard(t *testing.T) {
	h := newHub(t, nil, allowAnonymous, func(c *serverConfig) { c.CORSOrigins = []string{"*"} })
	resp := preflight(t, h, "https://anywhere.example")
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("preflight: %s %v", resp.Status, resp.Header)
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
