package e2e

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/shared/auth"
)

// edgePublish posts form to the worker's front door with the given
// headers and returns the answer with its body.
func edgePublish(t *testing.T, form url.Values, headers map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, sys.edgeURL+"/.well-known/mercure", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestEdgePublishProxy: a publish through the worker gets the origin's
// answer as a reverse proxy must relay it: the WWW-Authenticate challenge
// of a 401 and of a 403 insufficient_scope, Cache-Control; and a publish
// authorized by the cookie works from the edge's own pages (Origin or
// Referer forwarded, the edge's origin in the origin's --publish-origins)
// while one from another site gets 403 saying it failed the CSRF check,
// not that the token lacks a grant.
func TestEdgePublishProxy(t *testing.T) {
	topic := uniqueTopic(t, "proxy")
	form := url.Values{"topic": {topic}, "data": {"x"}}

	resp, body := edgePublish(t, form, nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("no token: %s, WWW-Authenticate %q, %q", resp.Status, resp.Header.Get("WWW-Authenticate"), body)
	}
	narrow := mustToken(auth.Claims{Form: auth.FormLegacy, Publish: []auth.Matcher{{Match: "https://example.com/other", Type: auth.MatchSelector}}}, time.Hour)
	resp, body = edgePublish(t, form, map[string]string{"Authorization": "Bearer " + narrow})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
		t.Errorf("token without the grant: %s, WWW-Authenticate %q, %q", resp.Status, resp.Header.Get("WWW-Authenticate"), body)
	}
	resp, body = edgePublish(t, form, map[string]string{"Authorization": "Bearer " + publisherToken})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(body, "urn:uuid:") {
		t.Errorf("publish: %s, Cache-Control %q, %q", resp.Status, resp.Header.Get("Cache-Control"), body)
	}

	cookie := auth.LegacyCookieName + "=" + publisherToken
	for _, c := range []struct {
		name    string
		headers map[string]string
		status  int
	}{
		{"Origin of the edge", map[string]string{"Origin": sys.edgeURL}, http.StatusOK},
		{"Referer on the edge", map[string]string{"Referer": sys.edgeURL + "/?topic=x"}, http.StatusOK},
		{"Origin of another site", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"neither", nil, http.StatusForbidden},
	} {
		h := map[string]string{"Cookie": cookie}
		for k, v := range c.headers {
			h[k] = v
		}
		resp, body := edgePublish(t, form, h)
		if resp.StatusCode != c.status {
			t.Errorf("cookie publish, %s: %s %q, want %d", c.name, resp.Status, body, c.status)
			continue
		}
		if c.status == http.StatusForbidden && (!strings.Contains(body, "CSRF") || strings.Contains(body, "does not grant") ||
			strings.Contains(resp.Header.Get("WWW-Authenticate"), "insufficient_scope")) {
			t.Errorf("cookie publish, %s: %q, WWW-Authenticate %q: the reason is not the CSRF check", c.name, body, resp.Header.Get("WWW-Authenticate"))
		}
	}
}

// TestEdgeDemoPage: the page carries no CORS header; it holds the
// development publisher token when loaded from loopback and not for any
// other host; and in Chromium its publish form publishes through the
// worker and the page's own stream receives the event.
func TestEdgeDemoPage(t *testing.T) {
	get := func(host string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, sys.edgeURL+"/", nil)
		if host != "" {
			req.Host = host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get("")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `const DEV_TOKEN = "`+publisherToken+`"`) {
		t.Errorf("page on loopback: %s, token present %v", resp.Status, strings.Contains(body, publisherToken))
	}
	if v := resp.Header.Get("Access-Control-Allow-Origin"); v != "" {
		t.Errorf("page served with Access-Control-Allow-Origin %q", v)
	}
	resp, body = get("edge.example.com")
	if resp.StatusCode != http.StatusOK || strings.Contains(body, publisherToken) || !strings.Contains(body, `const DEV_TOKEN = ""`) {
		t.Errorf("page for Host edge.example.com: %s, token present %v", resp.Status, strings.Contains(body, publisherToken))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	topic := uniqueTopic(t, "chromium-form")
	page := sys.edgeURL + "/?topic=" + url.QueryEscape(topic)
	lines := nodeClient(t, ctx, "chromium-client.mjs", page, "1", "", "--publish", "from the form")
	expectReady(t, lines)
	m, ok := <-lines
	published, _ := m["published"].(string)
	if !ok || !strings.HasPrefix(published, "published urn:uuid:") {
		t.Fatalf("the page's publish form says %v, want published <id>", m)
	}
	id := strings.TrimPrefix(published, "published ")
	expectEvents(t, lines, []map[string]any{{"type": "message", "data": "from the form", "lastEventId": id}})
}
