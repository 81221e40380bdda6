package server_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/origin/history"
	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/origin/server"
	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/sse"
)

// The keys and claims every test hub trusts and every test token carries.
const (
	testSecret   = "test-secret-0123456789abcdef-0123456789"
	testAudience = "https://hub.test/.well-known/mercure"
	testIssuer   = "https://issuer.test"
	feedSecret   = "test-feed-secret"
	metricsToken = "test-metrics-token"
)

// rsaKey is generated once: RS256 tests share it.
var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// testHub is an origin server over real HTTP with its hub and history.
type testHub struct {
	URL   string
	hub   *hub.Hub
	store hub.History
	srv   *server.Server
}

// boltStore opens a real bbolt history in the test's temporary directory.
func boltStore(t testing.TB) hub.History {
	t.Helper()
	b, err := history.OpenBolt(filepath.Join(t.TempDir(), "history.db"), history.BoltOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hmacVerifier returns a verifier of testSecret tokens for the test
// audience and issuer.
func hmacVerifier(t testing.TB) *auth.Verifier {
	t.Helper()
	k, err := auth.HMACKey([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(auth.Config{Keys: []auth.Key{k}, Audience: testAudience, Issuer: testIssuer})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// newHub starts a server on store (a memory history when nil) with test
// defaults, changed by the options, and stops it when the test ends.
func newHub(t testing.TB, store hub.History, opts ...func(*server.Config)) *testHub {
	t.Helper()
	if store == nil {
		store = hub.NewMemoryHistory(1000)
	}
	v := hmacVerifier(t)
	cfg := server.Config{
		HubURL:       testAudience,
		Publishers:   v,
		Subscribers:  v,
		FeedSecret:   feedSecret,
		MetricsToken: metricsToken,
		History:      store,
		Heartbeat:    time.Hour,
		Logger:       slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(&cfg)
	}
	h := hub.New(store)
	srv := server.New(h, cfg)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Drain()
		ts.Close()
		h.Close()
		store.Close()
	})
	return &testHub{URL: ts.URL, hub: h, store: store, srv: srv}
}

// sign returns a token signed with testSecret carrying the test audience
// and issuer; ttl 0 leaves exp out.
func sign(t testing.TB, c auth.Claims, ttl time.Duration) string {
	t.Helper()
	if c.Issuer == "" {
		c.Issuer = testIssuer
	}
	if c.Audience == nil {
		c.Audience = []string{testAudience}
	}
	if c.Subject == "" {
		c.Subject = "test"
	}
	tok, err := auth.Sign(c, []byte(testSecret), auth.HS256, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// exact returns exact matchers for topics.
func exact(topics ...string) []auth.Matcher {
	ms := make([]auth.Matcher, len(topics))
	for i, t := range topics {
		ms[i] = auth.Matcher{Match: t}
	}
	return ms
}

// publisher returns a publisher token for every topic.
func publisher(t testing.TB) string {
	return sign(t, auth.Claims{Publish: exact("*")}, time.Hour)
}

// post sends a publish request with token (none when empty) and returns
// the response with its body read.
func (h *testHub) post(t testing.TB, token string, form url.Values) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.URL+server.MercurePath, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, req)
}

// publish publishes form with a token for every topic and returns the id.
func (h *testHub) publish(t testing.TB, form url.Values) string {
	t.Helper()
	resp, body := h.post(t, publisher(t), form)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("publish %v: %s: %s", form, resp.Status, body)
	}
	return body
}

// do sends req and returns the response with its body read.
func do(t testing.TB, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// item is what a subscription client read: an event or a retry field.
type item struct {
	event   sse.Event
	isRetry bool
	retry   int
}

// client is a subscription read by the shared/sse parser on a goroutine.
type client struct {
	resp   *http.Response
	items  chan item
	closed chan struct{} // closed at the end of the stream
	cancel context.CancelFunc
}

// subscribe opens a subscription with the given query and headers. For a
// status other than 200 it returns the response with its body read.
func (h *testHub) subscribe(t testing.TB, query string, header http.Header) (*client, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.URL+server.MercurePath+"?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	c := &client{resp: resp, items: make(chan item, 4096), closed: make(chan struct{}), cancel: cancel}
	t.Cleanup(cancel)
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		close(c.closed)
		return c, string(b)
	}
	go func() {
		defer close(c.closed)
		defer resp.Body.Close()
		p := sse.NewParser(resp.Body, sse.Config{})
		for p.Next() {
			switch p.Kind() {
			case sse.KindEvent:
				c.items <- item{event: p.Event()}
			case sse.KindRetry:
				c.items <- item{isRetry: true, retry: p.Retry()}
			}
		}
	}()
	return c, ""
}

// bearer returns a header carrying token as a Bearer token.
func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// next returns the next event, skipping retry fields, or fails after d.
func (c *client) next(t testing.TB, d time.Duration) sse.Event {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case it := <-c.items:
			if !it.isRetry {
				return it.event
			}
		case <-deadline:
			t.Fatalf("no event within %v", d)
		}
	}
}

// until reads events up to and including the one with id, and returns the
// ids read before it.
func (c *client) until(t testing.TB, id string, d time.Duration) []string {
	t.Helper()
	var ids []string
	for {
		e := c.next(t, d)
		if e.ID == id {
			return ids
		}
		ids = append(ids, e.ID)
	}
}

// waitClosed fails unless the stream ends within d.
func (c *client) waitClosed(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case <-c.closed:
	case <-time.After(d):
		t.Fatalf("stream still open after %v", d)
	}
}

// form builds publish form values from name, value pairs.
func form(kv ...string) url.Values {
	f := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Add(kv[i], kv[i+1])
	}
	return f
}

// serverConfig shortens option signatures.
type serverConfig = server.Config
