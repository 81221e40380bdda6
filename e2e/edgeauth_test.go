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

// TestEdgeChromiumPrivate opens two Chromium pages whose native
// EventSource subscribes through the edge; only the first has a token (in
// the mercureAuthorization cookie) granting the topic. A private
// update must appear in that tab only; a public one in both.
func TestEdgeChromiumPrivate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	topic := uniqueTopic(t, "private")
	page := sys.edgeURL + "/?topic=" + url.QueryEscape(topic)
	allowed := nodeClient(t, ctx, "chromium-client.mjs", page, "2", subscriberToken(time.Hour, topic), "--native")
	other := nodeClient(t, ctx, "chromium-client.mjs", page, "1", "", "--native")
	expectReady(t, allowed)
	expectReady(t, other)
	secret := publish(t, sys.originURL, url.Values{"topic": {topic}, "data": {"secret"}, "private": {"on"}})
	public := publish(t, sys.originURL, url.Values{"topic": {topic}, "data": {"public"}})
	expectEvents(t, allowed, []map[string]any{
		{"type": "message", "data": "secret", "lastEventId": secret},
		{"type": "message", "data": "public", "lastEventId": public},
	})
	expectEvents(t, other, []map[string]any{{"type": "message", "data": "public", "lastEventId": public}})
}

// TestEdgeAuthFailures checks that the edge refuses bad tokens with 401 and
// a message naming the failure, and a private stream stays private.
func TestEdgeAuthFailures(t *testing.T) {
	topic := uniqueTopic(t, "auth")
	u := sys.edgeURL + "/.well-known/mercure?topic=" + url.QueryEscape(topic)
	valid := subscriberToken(time.Hour, topic)
	tests := []struct {
		name, authorization, want string
	}{
		{"bad signature", "Bearer " + valid[:len(valid)-4] + "AAAA", "signature"},
		{"expired", "Bearer " + subscriberToken(-time.Minute, topic), "expired"},
		{"alg none", "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJtZXJjdXJlIjp7InN1YnNjcmliZSI6WyIqIl19fQ.", "alg"},
		{"garbage", "Bearer not-a-jwt", "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			req.Header.Set("Authorization", tt.authorization)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(strings.ToLower(string(body)), tt.want) {
				t.Fatalf("got %s %q, want 401 mentioning %q", resp.Status, body, tt.want)
			}
		})
	}
}

// TestEdgeTokenExpiryClosesStream subscribes with a token valid for 3 s and
// checks the edge ends the stream at expiry.
func TestEdgeTokenExpiryClosesStream(t *testing.T) {
	topic := uniqueTopic(t, "expiry")
	h := http.Header{"Authorization": {"Bearer " + subscriberToken(3*time.Second, topic)}}
	c := subscribeSSE(t, sys.edgeURL+"/.well-known/mercure?topic="+url.QueryEscape(topic), h)
	start := time.Now()
	select {
	case <-c.done:
		if d := time.Since(start); d < 1*time.Second {
			t.Fatalf("stream closed after %s, before the token expired", d)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("stream still open 20 s after its token expired")
	}
}

// TestEdgeTokenAudienceIssuer runs a worker with JWT_AUDIENCE and
// JWT_ISSUER: a subscriber token with a wrong or missing aud or iss is
// refused with 401 naming the claim, and the right one is served events.
func TestEdgeTokenAudienceIssuer(t *testing.T) {
	const (
		aud = "https://hub.example.test/.well-known/mercure"
		iss = "https://issuer.example.test"
	)
	origin, _ := startOwnOrigin(t, "origin-edge-aud")
	edge := startOwnWorker(t, "wrangler-aud", origin, "JWT_AUDIENCE:"+aud, "JWT_ISSUER:"+iss, "ALLOW_ANONYMOUS:false")
	topic := uniqueTopic(t, "edge-aud")
	u := edge + "/.well-known/mercure?topic=" + url.QueryEscape(topic)
	grant := []auth.Matcher{{Match: topic, Type: auth.MatchExact}}
	token := func(aud []string, iss string) string {
		return mustToken(auth.Claims{Form: auth.FormDetails, Subscribe: grant, Audience: aud, Issuer: iss}, time.Hour)
	}
	const audReason, issReason = "aud does not name this hub", "iss is not this hub's trusted issuer"
	for _, tc := range []struct {
		name, token, want string
	}{
		{"no token", "", "token"},
		{"wrong aud", token([]string{"https://evil.example/.well-known/mercure"}, iss), audReason},
		{"missing aud", token(nil, iss), audReason},
		{"aud with a trailing slash", token([]string{aud + "/"}, iss), audReason},
		{"wrong iss", token([]string{aud}, "https://evil.example"), issReason},
		{"missing iss", token([]string{aud}, ""), issReason},
	} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(strings.ToLower(string(body)), tc.want) {
			t.Errorf("%s: got %s %q, want 401 mentioning %q", tc.name, resp.Status, body, tc.want)
		}
	}
	c := subscribeSSE(t, u, http.Header{"Authorization": {"Bearer " + token([]string{"https://other.example", aud}, iss)}})
	id := publish(t, origin, url.Values{"topic": {topic}, "data": {"for the right audience"}})
	if e := c.next(t, 10*time.Second); e.ID != id {
		t.Fatalf("subscriber with the right aud and iss got %+v, want %s", e, id)
	}
}
