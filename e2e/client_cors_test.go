package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestClientCrossOriginCookie: a page of another origin that CORS_ORIGINS
// lists gets its origin back with Access-Control-Allow-Credentials on
// every hub answer a browser reads (the subscribe stream and its
// preflight, a refusal, a forwarded publish, the subscription API), never
// "*" with credentials; an origin not listed gets "*" and no credentials.
// Then, in Chromium, the browser client on that page subscribes to the
// worker with credentials: "include" and the mercureAuthorization cookie,
// and receives a private update only that cookie's token grants.
func TestClientCrossOriginCookie(t *testing.T) {
	topic := uniqueTopic(t, "client-xorigin-cookie")
	check := func(what string, req *http.Request, origin string, listed bool) {
		t.Helper()
		req.Header.Set("Origin", origin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		resp.Body.Close()
		allow, creds := "*", ""
		if listed {
			allow, creds = origin, "true"
		}
		h := resp.Header
		if h.Get("Access-Control-Allow-Origin") != allow || h.Get("Access-Control-Allow-Credentials") != creds || !strings.Contains(h.Get("Vary"), "Origin") {
			t.Errorf("%s, Origin %s: %s, Access-Control-Allow-Origin %q, -Credentials %q, Vary %q; want %q, %q, Origin",
				what, origin, resp.Status, h.Get("Access-Control-Allow-Origin"), h.Get("Access-Control-Allow-Credentials"), h.Get("Vary"), allow, creds)
		}
	}
	for _, o := range []struct {
		origin string
		listed bool
	}{{sys.appURL, true}, {"https://not-listed.example", false}} {
		get := func(path string) *http.Request {
			req, _ := http.NewRequest(http.MethodGet, sys.edgeURL+path, nil)
			return req
		}
		check("subscribe", get("/.well-known/mercure?topic="+url.QueryEscape(topic)), o.origin, o.listed)
		check("refused subscribe (no topic)", get("/.well-known/mercure"), o.origin, o.listed)
		check("subscription API (SUBSCRIPTIONS is off: 404)", get("/.well-known/mercure/subscriptions"), o.origin, o.listed)
		pre, _ := http.NewRequest(http.MethodOptions, sys.edgeURL+"/.well-known/mercure", nil)
		pre.Header.Set("Access-Control-Request-Method", "GET")
		pre.Header.Set("Access-Control-Request-Headers", "last-event-id")
		check("preflight", pre, o.origin, o.listed)
		pub, _ := http.NewRequest(http.MethodPost, sys.edgeURL+"/.well-known/mercure",
			strings.NewReader(url.Values{"topic": {topic + "/unread"}, "data": {"x"}}.Encode()))
		pub.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		pub.Header.Set("Authorization", "Bearer "+publisherToken)
		check("forwarded publish", pub, o.origin, o.listed)
	}

	b := startBrowserClient(t, sys.appURL+"/", map[string]any{
		"topic": topic, "hub": sys.edgeURL, "credentials": "include", "cookie": subscriberToken(time.Hour, topic),
	})
	b.waitState("open", 60*time.Second)
	id := publish(t, sys.originURL, url.Values{"topic": {topic}, "data": {"for the cookie's holder"}, "private": {"on"}})
	b.waitEvents(1, 30*time.Second)
	if e := b.events[0]; e.ID != id || e.Data != "for the cookie's holder" {
		t.Fatalf("delivered %+v, want the private update %s", e, id)
	}
}
