package front

import (
	"encoding/json"
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

func TestNewRequestFromPairs(t *testing.T) {
	r, err := NewRequest("POST", "https://edge.example/.well-known/mercure?x=1", `[["content-length","12"],["cookie","a=1"],["Cookie","b=2"],["host","edge.example"]]`)
	if err != nil {
		t.Fatal(err)
	}
	if r.ContentLength != 12 || r.Host != "edge.example" || r.URL.Path != "/.well-known/mercure" || r.URL.Scheme != "https" {
		t.Errorf("request %+v", r)
	}
	if got := r.Header.Values("Cookie"); len(got) != 2 {
		t.Errorf("cookies %q, want both", got)
	}
	r, _ = NewRequest("POST", "https://edge.example/", `[]`)
	if r.ContentLength != -1 {
		t.Errorf("no Content-Length: ContentLength %d, want -1", r.ContentLength)
	}
	if _, err := NewRequest("GET", "https://edge.example/", `{"a":1}`); err == nil {
		t.Error("headers that are not pairs were accepted")
	}
}

func TestHeaderPairsRoundTrip(t *testing.T) {
	h := http.Header{"Www-Authenticate": {`Bearer realm="a"`, `Basic`}, "Link": {"<x>"}}
	back, err := ParseHeaderPairs(HeaderPairs(h))
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Values("WWW-Authenticate")) != 2 || back.Get("Link") != "<x>" {
		t.Errorf("round trip: %v", back)
	}
}

func TestRelayKeepsBase(t *testing.T) {
	base := http.Header{"Link": {`</.well-known/mercure>; rel="mercure"`}, "Access-Control-Allow-Origin": {"*"}}
	origin := http.Header{"Link": {"<elsewhere>"}, "Cache-Control": {"no-store"}, "Content-Length": {"3"}, "Access-Control-Allow-Origin": {"https://o"}}
	got := Relay(base, origin, false)
	if got.Get("Link") != base.Get("Link") || got.Get("Access-Control-Allow-Origin") != "*" || got.Get("Cache-Control") != "no-store" || got.Get("Content-Length") != "" {
		t.Errorf("relayed %v", got)
	}
	if base.Get("Cache-Control") != "" {
		t.Error("Relay changed base")
	}
	api := Relay(base, origin, true)
	if api.Get("Link") != "<elsewhere>" || api.Get("Access-Control-Expose-Headers") == "" {
		t.Errorf("relayed for the API %v, want the origin's Link and exposed headers", api)
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

// TestHeaderPairsJSON checks the hand-written JSON both ways against
// encoding/json: escapes, control bytes, non-ASCII text and malformed
// input.
func TestHeaderPairsJSON(t *testing.T) {
	h := http.Header{"X-A": {"plain", `quote " and \ backslash`, "tab\tnew\nline\x01", "é ✓ 日本"}, "X-Empty": {""}}
	out := HeaderPairs(h)
	var pairs [][2]string
	if err := json.Unmarshal([]byte(out), &pairs); err != nil {
		t.Fatalf("HeaderPairs wrote invalid JSON %s: %v", out, err)
	}
	back, err := ParseHeaderPairs(out)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Values("X-A"), h["X-A"]) || len(back.Values("X-Empty")) != 1 {
		t.Errorf("round trip %q, want %q", back, h)
	}
	js, _ := json.Marshal([][2]string{{"a", "x\u2028\"y"}, {"b", "\\"}})
	got, err := ParseHeaderPairs(" " + string(js) + "\n")
	if err != nil || got.Get("A") != "x\u2028\"y" || got.Get("B") != "\\" {
		t.Errorf("ParseHeaderPairs(%s) = %v, %v", js, got, err)
	}
	for _, bad := range []string{"", "[", "[[", `[["a"]]`, `[["a","b"]`, `[["a","b"],]`, `[["a","b"]] x`, `{"a":"b"}`, `[["a","b\"]]`, `[["a",1]]`} {
		if _, err := ParseHeaderPairs(bad); err == nil {
			t.Errorf("ParseHeaderPairs(%q) accepted", bad)
		}
	}
	if h, err := ParseHeaderPairs("[]"); err != nil || len(h) != 0 {
		t.Errorf("empty: %v, %v", h, err)
	}
}
