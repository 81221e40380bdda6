package front

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

// TestForwardRequestHeaders: credentials, Origin and Referer reach the
// origin (the CSRF check of a cookie publish needs them), with the
// forwarding headers; nothing else of the client's request does.
func TestForwardRequestHeaders(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "https://edge.example.com/.well-known/mercure", nil)
	r.Header.Set("Authorization", "Bearer t")
	r.Header.Add("Cookie", "a=1")
	r.Header.Add("Cookie", "mercureAuthorization=tok")
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", "https://app.example.com")
	r.Header.Set("Referer", "https://app.example.com/page")
	r.Header.Set("CF-Connecting-IP", "203.0.113.7")
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	r.Header.Set("X-Secret-Internal", "no")
	dst := http.Header{}
	ForwardRequestHeaders(dst, r)
	want := http.Header{
		"Authorization":     {"Bearer t"},
		"Cookie":            {"a=1", "mercureAuthorization=tok"},
		"Content-Type":      {"application/x-www-form-urlencoded"},
		"Origin":            {"https://app.example.com"},
		"Referer":           {"https://app.example.com/page"},
		"X-Forwarded-For":   {"198.51.100.1, 203.0.113.7"},
		"X-Forwarded-Host":  {"edge.example.com"},
		"X-Forwarded-Proto": {"https"},
	}
	if !reflect.DeepEqual(dst, want) {
		t.Fatalf("forwarded %v\nwant      %v", dst, want)
	}
}

// TestRelayResponseHeaders: the origin's challenge, caching and content
// headers reach the client; hop-by-hop, length, discovery and CORS
// headers do not, and the edge's own stay.
func TestRelayResponseHeaders(t *testing.T) {
	src := http.Header{
		"Www-Authenticate":            {`Bearer error="insufficient_scope"`},
		"Cache-Control":               {"no-store"},
		"Content-Type":                {"text/plain; charset=utf-8"},
		"Retry-After":                 {"1"},
		"X-Content-Type-Options":      {"nosniff"},
		"Connection":                  {"close"},
		"Content-Length":              {"12"},
		"Link":                        {`<http://origin/.well-known/mercure>; rel="mercure"`},
		"Access-Control-Allow-Origin": {"https://origin-app"},
		"Vary":                        {"Origin"},
	}
	dst := http.Header{"Link": {"<edge>"}, "Access-Control-Allow-Origin": {"*"}}
	RelayResponseHeaders(dst, src)
	want := http.Header{
		"Www-Authenticate":            {`Bearer error="insufficient_scope"`},
		"Cache-Control":               {"no-store"},
		"Content-Type":                {"text/plain; charset=utf-8"},
		"Retry-After":                 {"1"},
		"X-Content-Type-Options":      {"nosniff"},
		"Link":                        {"<edge>"},
		"Access-Control-Allow-Origin": {"*"},
	}
	if !reflect.DeepEqual(dst, want) {
		t.Fatalf("relayed %v\nwant    %v", dst, want)
	}
}

// TestPage: the development token reaches the page only for a loopback
// Host and only when configured, JSON-escaped so that it cannot break
// out of the script.
func TestPage(t *testing.T) {
	html := []byte(`<script>const DEV_TOKEN = "{{DEV_PUBLISH_TOKEN}}";</script>`)
	for _, c := range []struct {
		token, host, want string
	}{
		{"tok", "127.0.0.1:8787", `"tok"`},
		{"tok", "localhost:8787", `"tok"`},
		{"tok", "[::1]:8787", `"tok"`},
		{"tok", "localhost", `"tok"`},
		{"tok", "edge.example.com", `""`},
		{"tok", "edge-sse.user.workers.dev:443", `""`},
		{"tok", "127.0.0.1.nip.io", `""`},
		{"", "127.0.0.1:8787", `""`},
		{"</script><script>alert(1)</script>", "127.0.0.1", `"\u003c/script\u003e\u003cscript\u003ealert(1)\u003c/script\u003e"`},
	} {
		got := string(Page(html, c.token, c.host))
		if want := "<script>const DEV_TOKEN = " + c.want + ";</script>"; got != want {
			t.Errorf("token %q host %q: %s, want %s", c.token, c.host, got, want)
		}
		if strings.Contains(got, "{{") {
			t.Errorf("placeholder left in %s", got)
		}
	}
}

// TestCORS: only the hub endpoint and its subscription API get CORS
// headers.
func TestCORS(t *testing.T) {
	for path, want := range map[string]bool{"/.well-known/mercure": true, "/": false, "/healthz": false, "/_edge/stats": false,
		"/.well-known/mercure/subscriptions": true, "/.well-known/mercure/subscriptions/exact/a%2Fb": true,
		"/.well-known/mercure/subscriptionsX": false, "/.well-known/mercure/x": false} {
		if CORS(path) != want {
			t.Errorf("CORS(%q) = %v", path, !want)
		}
	}
}

// TestRelayAPIResponseHeaders: the subscription API's Link (with its
// last-event-id) reaches the client in place of the discovery Link.
func TestRelayAPIResponseHeaders(t *testing.T) {
	dst := http.Header{"Link": {`</.well-known/mercure>; rel="mercure"`}}
	src := http.Header{"Link": {`<https://hub.example/.well-known/mercure>; rel="mercure"; last-event-id="urn:uuid:1"`}, "Content-Type": {"application/json"}}
	RelayAPIResponseHeaders(dst, src)
	if got := dst.Values("Link"); len(got) != 1 || got[0] != src.Get("Link") {
		t.Errorf("Link %q", got)
	}
	if dst.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", dst)
	}
	dst = http.Header{"Link": {"discovery"}}
	RelayResponseHeaders(dst, src)
	if dst.Get("Link") != "discovery" {
		t.Errorf("a publish answer's Link replaced the discovery Link: %v", dst)
	}
}
