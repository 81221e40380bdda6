package server_test

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/origin/server"
	"github.com/edge-sse/edge-sse/shared/auth"
)

const bookTopic = "https://example.com/books/1"

// authCase is one token presented to the hub, and the refusal expected.
type authCase struct {
	name string
	// header is the Authorization header; empty sends none.
	header func(t *testing.T) string
	// status, challenge (the WWW-Authenticate value) and wantErr (a
	// sentinel whose message the body must hold) describe the refusal.
	status    int
	challenge string
	wantErr   error
}

// unsignedToken returns an "alg: none" token with claims.
func unsignedToken(claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "none", "typ": "JWT"}) + "." + enc(claims) + "."
}

// rsaPublicPEM is the PEM of the test RSA public key, which an attacker of
// an RS256 hub knows.
func rsaPublicPEM(t *testing.T) []byte {
	der, err := x509.MarshalPKIXPublicKey(&rsaKey().PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// tokenFailures are the token failures common to publishers and
// subscribers: each is refused with 401 and a message naming the check.
func tokenFailures(grants auth.Claims) []authCase {
	bearerOf := func(f func(t *testing.T) string) func(t *testing.T) string {
		return func(t *testing.T) string { return "Bearer " + f(t) }
	}
	with := func(change func(*auth.Claims)) func(t *testing.T) string {
		return bearerOf(func(t *testing.T) string {
			c := grants
			change(&c)
			return sign(t, c, time.Hour)
		})
	}
	invalid := `Bearer error="invalid_token"`
	return []authCase{
		{"malformed", func(*testing.T) string { return "Bearer not.a-jwt" }, 401, invalid, auth.ErrMalformed},
		{"authorization scheme", func(*testing.T) string { return "Basic dXNlcjpwYXNz" }, 400, `Bearer error="invalid_request"`, auth.ErrAuthorizationHeader},
		{"alg none", func(*testing.T) string {
			return "Bearer " + unsignedToken(map[string]any{"iss": testIssuer, "aud": testAudience, "mercure": map[string]any{"publish": []string{"*"}, "subscribe": []string{"*"}}})
		}, 401, invalid, auth.ErrAlgorithm},
		{"RS256 token on an HS256 hub", bearerOf(func(t *testing.T) string {
			c := grants
			c.Issuer, c.Audience = testIssuer, []string{testAudience}
			tok, err := auth.Sign(c, rsaKey(), auth.RS256, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}), 401, invalid, auth.ErrAlgorithm},
		{"bad signature", bearerOf(func(t *testing.T) string {
			c := grants
			c.Issuer, c.Audience = testIssuer, []string{testAudience}
			tok, err := auth.Sign(c, []byte("another-secret-0123456789abcdef-0123"), auth.HS256, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}), 401, invalid, auth.ErrSignature},
		{"expired", bearerOf(func(t *testing.T) string { return sign(t, grants, -time.Minute) }), 401, invalid, auth.ErrExpired},
		{"not yet valid", with(func(c *auth.Claims) { c.NotBefore = time.Now().Add(time.Hour) }), 401, invalid, auth.ErrNotYetValid},
		{"wrong audience", with(func(c *auth.Claims) { c.Audience = []string{"https://other.test/.well-known/mercure"} }), 401, invalid, auth.ErrAudience},
		{"wrong issuer", with(func(c *auth.Claims) { c.Issuer = "https://evil.test" }), 401, invalid, auth.ErrIssuer},
	}
}

// checkRefusal asserts a refusal's status, challenge and message.
// testMetadata is the resource_metadata parameter of the test hub's
// challenges.
const testMetadata = `resource_metadata="https://hub.test/.well-known/oauth-protected-resource/.well-known/mercure"`

func checkRefusal(t *testing.T, c authCase, resp *http.Response, body string) {
	t.Helper()
	if resp.StatusCode != c.status {
		t.Errorf("status %d, want %d (body %q)", resp.StatusCode, c.status, body)
	}
	// Every challenge names the protected resource metadata (RFC 9728).
	want := c.challenge + ", " + testMetadata
	if c.challenge == "Bearer" {
		want = "Bearer " + testMetadata
	}
	if got := resp.Header.Get("WWW-Authenticate"); got != want {
		t.Errorf("WWW-Authenticate %q, want %q", got, want)
	}
	if !strings.Contains(body, c.wantErr.Error()) {
		t.Errorf("body %q does not say %q", body, c.wantErr)
	}
}

func TestPublishAuthFailures(t *testing.T) {
	h := newHub(t, boltStore(t))
	cases := append(tokenFailures(auth.Claims{Publish: exact("*")}),
		authCase{"no token", func(*testing.T) string { return "" }, 401, "Bearer", auth.ErrNoToken},
		authCase{"grant does not match the topic", func(t *testing.T) string {
			return "Bearer " + sign(t, auth.Claims{Publish: exact("https://example.com/books/2")}, time.Hour)
		}, 403, `Bearer error="insufficient_scope"`, auth.ErrPublishForbidden},
		authCase{"URL pattern grant does not match the topic", func(t *testing.T) string {
			return "Bearer " + sign(t, auth.Claims{Publish: []auth.Matcher{{Match: "https://example.com/authors/:id", Type: auth.MatchURLPattern}}}, time.Hour)
		}, 403, `Bearer error="insufficient_scope"`, auth.ErrPublishForbidden},
		authCase{"subscribe grant only", func(t *testing.T) string {
			return "Bearer " + sign(t, auth.Claims{Subscribe: exact("*")}, time.Hour)
		}, 403, `Bearer error="insufficient_scope"`, auth.ErrPublishForbidden},
		authCase{"no Mercure grant", func(t *testing.T) string {
			return "Bearer " + sign(t, auth.Claims{}, time.Hour)
		}, 403, `Bearer error="insufficient_scope"`, auth.ErrNoMercureClaim},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := newPublishRequest(t, h, form("topic", bookTopic, "data", "x"))
			if v := c.header(t); v != "" {
				req.Header.Set("Authorization", v)
			}
			resp, body := do(t, req)
			checkRefusal(t, c, resp, body)
		})
	}
	if st := h.hub.Stats(); st.Published != 0 || st.History != 0 {
		t.Fatalf("refused publishes were stored: %+v", st)
	}
}

// TestPublishAlternateTopicNotGranted: a token must grant every topic of
// the update, canonical and alternate (Mercure §"Publishers").
func TestPublishAlternateTopicNotGranted(t *testing.T) {
	h := newHub(t, nil)
	tok := sign(t, auth.Claims{Publish: exact(bookTopic)}, time.Hour)
	resp, body := h.post(t, tok, form("topic", bookTopic, "topic", "https://example.com/users/42/books/1"))
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `"https://example.com/users/42/books/1" is not granted`) {
		t.Fatalf("%s %q, want 403 naming the alternate topic", resp.Status, body)
	}
	if resp, body := h.post(t, tok, form("topic", bookTopic)); resp.StatusCode != http.StatusOK {
		t.Fatalf("granted topic: %s %q", resp.Status, body)
	}
}

// TestHSRSConfusion: a hub that trusts an RSA public key refuses an HS256
// token whose HMAC secret is that public key (RFC 8725 §2.1), and accepts
// a real RS256 token.
func TestHSRSConfusion(t *testing.T) {
	k, err := auth.PublicKeyFromPEM(rsaPublicPEM(t))
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(auth.Config{Keys: []auth.Key{k}})
	if err != nil {
		t.Fatal(err)
	}
	h := newHub(t, nil, func(c *server.Config) { c.Publishers, c.Subscribers = v, v })
	claims := auth.Claims{Publish: exact("*"), Subscribe: exact("*")}

	forged, err := auth.Sign(claims, rsaPublicPEM(t), auth.HS256, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	want := authCase{status: 401, challenge: `Bearer error="invalid_token"`, wantErr: auth.ErrAlgorithm}
	resp, body := h.post(t, forged, form("topic", bookTopic))
	checkRefusal(t, want, resp, body)
	_, body = h.subscribe(t, "topic=*", bearer(forged))
	if !strings.Contains(body, auth.ErrAlgorithm.Error()) {
		t.Errorf("subscribe with the forged token: %q", body)
	}

	real, err := auth.Sign(claims, rsaKey(), auth.RS256, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := h.post(t, real, form("topic", bookTopic)); resp.StatusCode != http.StatusOK {
		t.Fatalf("real RS256 token: %s %q", resp.Status, body)
	}
}

func TestSubscribeAuthFailures(t *testing.T) {
	h := newHub(t, nil) // AllowAnonymous off
	cases := append(tokenFailures(auth.Claims{Subscribe: exact("*")}),
		authCase{"no token, anonymous not allowed", func(*testing.T) string { return "" }, 401, "Bearer", server.ErrAnonymous},
		authCase{"invalid URL pattern grant", func(t *testing.T) string {
			return "Bearer " + sign(t, auth.Claims{Subscribe: []auth.Matcher{{Match: "https://example.com/(", Type: auth.MatchURLPattern}}}, time.Hour)
		}, 401, `Bearer error="invalid_token"`, auth.ErrInvalidClaim},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hdr := http.Header{}
			if v := c.header(t); v != "" {
				hdr.Set("Authorization", v)
			}
			cl, body := h.subscribe(t, "topic=*", hdr)
			checkRefusal(t, c, cl.resp, body)
		})
	}
	if n := h.hub.Stats().Subscribers; n != 0 {
		t.Fatalf("%d refused subscribers registered", n)
	}
}

// TestSubscribeTokenSources: the token is read from the Authorization
// header or, without one, from either cookie (Mercure §"Presenting the
// Access Token"); anonymous subscribers are let in only when allowed.
func TestSubscribeTokenSources(t *testing.T) {
	h := newHub(t, nil)
	tok := sign(t, auth.Claims{Subscribe: exact("*")}, time.Hour)
	for _, hdr := range []http.Header{
		bearer(tok),
		{"Cookie": {auth.CookieName + "=" + tok}},
		{"Cookie": {"session=1; " + auth.LegacyCookieName + "=" + tok}},
	} {
		if c, body := h.subscribe(t, "topic=*", hdr); c.resp.StatusCode != http.StatusOK {
			t.Errorf("%v: %s %q", hdr, c.resp.Status, body)
		}
	}
	anon := newHub(t, nil, func(c *server.Config) { c.AllowAnonymous = true })
	if c, body := anon.subscribe(t, "topic=*", nil); c.resp.StatusCode != http.StatusOK {
		t.Errorf("anonymous with AllowAnonymous: %s %q", c.resp.Status, body)
	}
	// A presented token that fails is refused even where anonymous
	// subscribers are welcome (Mercure §"Error Responses").
	if c, _ := anon.subscribe(t, "topic=*", bearer(sign(t, auth.Claims{}, -time.Minute))); c.resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("expired token on an anonymous hub: %s, want 401", c.resp.Status)
	}
}

// TestCookiePublishCSRF: a publish authorized by the cookie must come
// from the hub's own origin (the request's, or the hub URL's) or a
// configured publish origin, compared as whole origins: scheme, host and
// port. A refusal is a plain 403 (no insufficient_scope challenge: the
// token is fine) naming the refused origin.
func TestCookiePublishCSRF(t *testing.T) {
	h := newHub(t, nil, func(c *server.Config) { c.PublishOrigins = []string{"https://app.example.com"} })
	own := strings.TrimPrefix(h.URL, "http://")
	tok := publisher(t)
	for _, c := range []struct {
		origin, referer string
		status          int
	}{
		{"", "", http.StatusForbidden},
		{"https://evil.example.com", "", http.StatusForbidden},
		{"https://app.example.com", "", http.StatusOK},
		{"HTTPS://App.Example.COM:443", "", http.StatusOK},
		{"http://app.example.com", "", http.StatusForbidden},       // scheme differs
		{"https://app.example.com:8443", "", http.StatusForbidden}, // port differs
		{"https://hub.test", "", http.StatusOK},                    // the hub URL's origin
		{"http://hub.test", "", http.StatusForbidden},
		{h.URL, "", http.StatusOK}, // same-origin
		{"https://" + own, "", http.StatusForbidden},
		{"http://" + strings.Split(own, ":")[0] + ":1", "", http.StatusForbidden},
		{"", "https://app.example.com/page?x=1", http.StatusOK},
		{"", "http://app.example.com/page", http.StatusForbidden},
		{"null", "", http.StatusForbidden},
	} {
		req := newPublishRequest(t, h, form("topic", bookTopic))
		req.Header.Set("Cookie", auth.LegacyCookieName+"="+tok)
		if c.origin != "" {
			req.Header.Set("Origin", c.origin)
		}
		if c.referer != "" {
			req.Header.Set("Referer", c.referer)
		}
		resp, body := do(t, req)
		if resp.StatusCode != c.status {
			t.Errorf("Origin %q Referer %q: %s %q, want %d", c.origin, c.referer, resp.Status, body, c.status)
		}
		if c.status != http.StatusForbidden {
			continue
		}
		if !strings.Contains(body, server.ErrCrossOrigin.Error()) || strings.Contains(body, "does not grant publish") {
			t.Errorf("Origin %q: body %q does not give the CSRF reason", c.origin, body)
		}
		if c.origin != "" && c.origin != "null" && !strings.Contains(body, "https://app.example.com:443") {
			t.Errorf("Origin %q: body %q does not list the accepted origins", c.origin, body)
		}
		if a := resp.Header.Get("WWW-Authenticate"); strings.Contains(a, "insufficient_scope") {
			t.Errorf("Origin %q: WWW-Authenticate %q blames the token", c.origin, a)
		}
	}
}

func newPublishRequest(t *testing.T, h *testHub, f url.Values) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.URL+server.MercurePath, strings.NewReader(f.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}
