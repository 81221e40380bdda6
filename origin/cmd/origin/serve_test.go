package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/origin/history"
	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/origin/server"
	"github.com/edge-sse/edge-sse/shared/auth"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a server.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// origin is "origin serve" running on a goroutine.
type origin struct {
	url    string
	stdout *syncBuffer
	stop   context.CancelFunc
	done   chan error
}

// startServe runs "origin serve" with args on a free port and waits until
// it listens.
func startServe(t *testing.T, env func(string) (string, bool), args ...string) *origin {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	o := &origin{stdout: &syncBuffer{}, stop: cancel, done: make(chan error, 1)}
	ready := make(chan net.Addr, 1)
	go func() {
		o.done <- serve(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...), env, o.stdout, &syncBuffer{}, func(a net.Addr) { ready <- a })
	}()
	select {
	case a := <-ready:
		o.url = "http://" + a.String()
	case err := <-o.done:
		t.Fatalf("serve returned %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not listen within 10s")
	}
	t.Cleanup(func() {
		cancel()
		<-o.done
	})
	return o
}

// TestProductionRefusesDefaults: --production does not start with a
// generated key, a published default key, a weak feed secret or a weak
// metrics token (or one equal to another secret), and says what to change.
func TestProductionRefusesDefaults(t *testing.T) {
	good := "prod-secret-0123456789abcdef-0123456789"
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"no key, the old development feed secret", nil, []string{"--production", "--feed-secret", "dev-feed-secret"},
			[]string{"no JWT key", "feed secret is a published value"}},
		{"published default key", nil, []string{"--production", "--feed-secret", "feed-" + good, "--jwt-key", "!ChangeThisMercureHubJWTSecretKey!"},
			[]string{"published default"}},
		{"JWT key equals feed secret", nil, []string{"--production", "--feed-secret", good, "--publisher-jwt-key", good},
			[]string{"equals the feed secret"}},
		{"from the environment", map[string]string{"ORIGIN_PRODUCTION": "true", "ORIGIN_JWT_KEY": good, "ORIGIN_FEED_SECRET": "short-secret"}, nil,
			[]string{"feed secret is shorter than 32 bytes (it has 12)"}},
		{"short metrics token", nil, []string{"--production", "--feed-secret", "feed-" + good, "--jwt-key", good, "--metrics-token", metricsToken},
			[]string{"--metrics-token (ORIGIN_METRICS_TOKEN) is shorter than 32 bytes (it has 22)"}},
		{"published metrics token, from the environment", map[string]string{"ORIGIN_PRODUCTION": "true", "ORIGIN_JWT_KEY": good, "ORIGIN_METRICS_TOKEN": "!ChangeMe!"}, nil,
			[]string{"--metrics-token (ORIGIN_METRICS_TOKEN) is a published value"}},
		{"metrics token equals the feed secret", nil, []string{"--production", "--feed-secret", "feed-" + good, "--jwt-key", good, "--metrics-token", "feed-" + good},
			[]string{"--metrics-token (ORIGIN_METRICS_TOKEN) equals the feed secret"}},
		{"metrics token equals a JWT key", nil, []string{"--production", "--feed-secret", "feed-" + good, "--subscriber-jwt-key", good, "--publisher-jwt-key", "pub-" + good, "--metrics-token", good},
			[]string{"--metrics-token (ORIGIN_METRICS_TOKEN) equals a JWT key"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := func(k string) (string, bool) { v, ok := c.env[k]; return v, ok }
			code, stdout, stderr := runCmd(t, env, nil, append([]string{"serve", "--history", "memory", "--addr", "127.0.0.1:0"}, c.args...)...)
			if code != 1 || !strings.Contains(stderr, "refusing to start in production mode") {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not say %q", stderr, w)
				}
			}
			if strings.Contains(stdout, "token") {
				t.Errorf("production mode printed a token: %q", stdout)
			}
		})
	}
}

// TestFeedSecretPolicy: there is no default feed secret. Without
// --feed-secret, development mode on loopback generates one per run and
// prints it; elsewhere the feed stays disabled. A short or published
// secret is accepted only in development mode on loopback (no
// --production, --addr on a loopback address); elsewhere serve refuses to
// start and says why.
func TestFeedSecretPolicy(t *testing.T) {
	strong := "0123456789abcdef0123456789abcdef"
	for _, c := range []struct {
		addr       string
		production bool
		given      bool
		secret     string
		want       string // error text; "" accepted
		generated  bool
	}{
		{"127.0.0.1:8080", false, false, "", "", true},
		{"localhost:8080", false, false, "", "", true},
		{"[::1]:8080", false, false, "", "", true},
		{"0.0.0.0:8080", false, false, "", "", false},
		{":8080", false, false, "", "", false},
		{"127.0.0.1:8080", true, false, "", "", false},
		{"127.0.0.1:8080", false, true, "dev-feed-secret", "", false},
		{"127.0.0.1:8080", false, true, "short", "", false},
		{"0.0.0.0:8080", false, true, "dev-feed-secret", "published value", false},
		{":8080", false, true, "short", "shorter than 32 bytes", false},
		{"10.1.2.3:8080", false, true, "!ChangeMe!", "published value", false},
		{"0.0.0.0:8080", false, true, strong, "", false},
		{"0.0.0.0:8080", false, true, "", "", false}, // explicitly disabled
	} {
		f := serveFlags{addr: c.addr, production: c.production, feedSecret: c.secret}
		var out bytes.Buffer
		err := f.checkFeedSecret(c.given, &out)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: refused: %v", c, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "development mode on loopback")):
			t.Errorf("%+v: error %v, want one saying %q and when such a secret is accepted", c, err, c.want)
		}
		if gen := f.feedSecret != c.secret; gen != c.generated {
			t.Errorf("%+v: generated a secret: %v, want %v", c, gen, c.generated)
		}
		if c.generated && (len(f.feedSecret) != 64 || !strings.Contains(out.String(), f.feedSecret) || !strings.Contains(out.String(), "FEED_SECRET")) {
			t.Errorf("%+v: generated secret %q not printed for the worker: %q", c, f.feedSecret, out.String())
		}
	}
}

// TestDevModeFeedSecret: "origin serve" on loopback without --feed-secret
// opens its feed with the secret it printed only; the old default
// "dev-feed-secret" no longer opens it.
func TestDevModeFeedSecret(t *testing.T) {
	o := startServe(t, noEnv, "--history", "memory")
	m := regexp.MustCompile(`feed secret .*\n\s+([0-9a-f]{64})\n`).FindStringSubmatch(o.stdout.String())
	if m == nil {
		t.Fatalf("no generated feed secret in %q", o.stdout.String())
	}
	feed := func(secret string) int {
		req, _ := http.NewRequest(http.MethodGet, o.url+server.FeedPath, nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := feed(m[1]); got != http.StatusOK {
		t.Errorf("feed with the printed secret: %d", got)
	}
	if got := feed("dev-feed-secret"); got != http.StatusUnauthorized {
		t.Errorf("feed with the old default secret: %d, want 401", got)
	}
}

// TestProductionMetricsToken: --production starts with a metrics token of
// 32 bytes or more, distinct from the other secrets, and /metrics answers
// it.
func TestProductionMetricsToken(t *testing.T) {
	strong := "metrics-0123456789abcdef-0123456789"
	o := startServe(t, noEnv, "--production", "--history", "memory", "--jwt-key", testKey, "--feed-secret", "feed-"+testKey, "--metrics-token", strong)
	req, _ := http.NewRequest(http.MethodGet, o.url+server.MetricsPath, nil)
	req.Header.Set("Authorization", "Bearer "+strong)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics with the token: %s", resp.Status)
	}
}

// TestServeMetricsAddr: --metrics-addr serves /metrics and the health
// detail on its own listener without a token; --addr then serves no
// metrics and the health status alone, unless --metrics-token is
// presented.
func TestServeMetricsAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opAddr := ln.Addr().String()
	ln.Close()
	o := startServe(t, noEnv, "--history", "memory", "--metrics-addr", opAddr, "--metrics-token", metricsToken)
	get := func(u, token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("http://"+opAddr+server.MetricsPath, ""); code != http.StatusOK || !strings.Contains(body, "edge_sse_origin_subscribers") {
		t.Errorf("--metrics-addr /metrics: %d", code)
	}
	if code, body := get("http://"+opAddr+server.HealthPath, ""); code != http.StatusOK || !strings.Contains(body, "lastEventID") {
		t.Errorf("--metrics-addr /healthz: %d %q", code, body)
	}
	if code, _ := get(o.url+server.MetricsPath, ""); code != http.StatusUnauthorized {
		t.Errorf("--addr /metrics without the token: %d, want 401", code)
	}
	if code, body := get(o.url+server.MetricsPath, metricsToken); code != http.StatusOK || !strings.Contains(body, "edge_sse_origin_subscribers") {
		t.Errorf("--addr /metrics with the token: %d", code)
	}
	if code, body := get(o.url+server.HealthPath, ""); code != http.StatusOK || strings.Contains(body, "lastEventID") || !strings.Contains(body, `"ok"`) {
		t.Errorf("--addr /healthz without the token: %d %q, want the status alone", code, body)
	}
	if code, _ := get("http://"+opAddr+server.MercurePath+"?topic=*", ""); code != http.StatusNotFound {
		t.Errorf("--metrics-addr serves the hub: %d", code)
	}
}

// TestDevModeGeneratedKey: without a key, dev mode generates one and
// prints it once, with a token for every topic that the hub accepts.
func TestDevModeGeneratedKey(t *testing.T) {
	o := startServe(t, noEnv, "--history", "memory")
	out := o.stdout.String()
	m := regexp.MustCompile(`(?s)key .*?\n\s+([0-9a-f]{64})\n.*token .*?\n\s+(\S+)\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("dev mode output %q has no key and token", out)
	}
	if strings.Count(out, m[1]) != 1 {
		t.Fatalf("the key is printed %d times", strings.Count(out, m[1]))
	}
	c := verify(t, hmacKey(t, m[1]), m[2], auth.Config{})
	if len(c.Publish) != 1 || c.Publish[0].Match != "*" {
		t.Fatalf("dev token grants %+v", c)
	}
	code, stdout, stderr := runCmd(t, noEnv, nil, "publish", "--hub", o.url, "--token", m[2], "--topic", "https://example.com/a", "--data", "hi")
	if code != 0 || !strings.HasPrefix(stdout, "urn:uuid:") {
		t.Fatalf("publish with the dev token: exit %d %q %q", code, stdout, stderr)
	}
	// Dev mode lets anonymous subscribers in.
	resp, err := http.Get(o.url + server.MercurePath + "?topic=*")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("anonymous subscriber in dev mode: %s", resp.Status)
	}
}

// TestServeGracefulShutdown: on shutdown subscribers are told to retry
// and their streams end, publishes in flight complete, and every
// acknowledged event is in the bbolt history afterwards.
func TestServeGracefulShutdown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	o := startServe(t, noEnv, "--production", "--jwt-key", testKey, "--feed-secret", "feed-"+testKey,
		"--history-path", path, "--retry", "2s")

	sub, err := http.NewRequest(http.MethodGet, o.url+server.MercurePath+"?topic=*", nil)
	if err != nil {
		t.Fatal(err)
	}
	sub.Header.Set("Authorization", "Bearer "+mintT(t, tokenSpec{subscribe: []string{"*"}}))
	resp, err := http.DefaultClient.Do(sub)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("subscribe: %s", resp.Status)
	}
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()

	pub := mintT(t, tokenSpec{publish: []string{"*"}})
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				code, stdout, _ := runCmd(t, noEnv, nil, "publish", "--hub", o.url, "--token", pub,
					"--topic", "https://example.com/t", "--data", "x", "--id", "w"+string(rune('0'+w))+"-"+time.Now().Format("150405.000000000"))
				if code != 0 {
					return // the origin is gone
				}
				mu.Lock()
				acked = append(acked, strings.TrimSpace(stdout))
				mu.Unlock()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	o.stop()
	if err := <-o.done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	o.done <- nil // for the cleanup
	wg.Wait()

	var retry bool
	for l := range lines { // the stream must end
		if strings.HasPrefix(l, "retry: ") && l != "retry: 2000" {
			retry = true
		}
	}
	if !retry {
		t.Error("the subscriber got no retry hint before its stream ended")
	}
	if len(acked) == 0 {
		t.Fatal("nothing was acknowledged before the shutdown")
	}
	t.Logf("%d publishes acknowledged before the shutdown", len(acked))
	store, err := history.OpenBolt(path, history.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for _, id := range acked {
		if _, err := store.Lookup(id); err != nil {
			t.Fatalf("acknowledged event %q lost: %v", id, err)
		}
	}
	if _, err := store.Lookup("never"); !errors.Is(err, hub.ErrUnknownID) {
		t.Fatalf("Lookup of an unknown id: %v", err)
	}
}

// mintT mints a token with testKey.
func mintT(t *testing.T, s tokenSpec) string {
	t.Helper()
	s.key, s.alg, s.ttl = testKey, auth.HS256, time.Hour
	tok, err := mint(s)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
