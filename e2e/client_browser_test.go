package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The browser client (worker/client/edge-sse.js, served at /edge-sse.js)
// in headless Chromium, through the worker in workerd, with e2e/clients/
// edge-sse-driver.mjs reporting what the client did line by line.

// browserEvent is one event the client delivered to the app.
type browserEvent struct{ ID, Type, Data string }

// browserClient is one driver process: a Chromium page running one client.
type browserClient struct {
	t      *testing.T
	stdin  io.WriteCloser
	lines  chan map[string]any
	events []browserEvent
	log    []map[string]any // every line read so far, in order
}

// startBrowserClient opens pageURL in Chromium and connects a client there
// with opts (see edge-sse-driver.mjs); the driver ends with the test.
func startBrowserClient(t *testing.T, pageURL string, opts map[string]any) *browserClient {
	t.Helper()
	js, err := json.Marshal(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "node", filepath.Join(sys.root, "e2e", "clients", "edge-sse-driver.mjs"), pageURL, string(js))
	cmd.Dir = sys.root
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &browserClient{t: t, stdin: stdin, lines: make(chan map[string]any, 1024)}
	go func() {
		defer close(b.lines)
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err == nil {
				b.lines <- m
			}
		}
	}()
	t.Cleanup(func() {
		stdin.Close()
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("driver stderr:\n%s", stderr.String())
		}
	})
	return b
}

// lockedBuffer is a bytes.Buffer safe for the exec copier and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// until reads the driver's lines, recording events, until cond holds for
// one, and returns that line; it fails the test after timeout or on a
// driver error.
func (b *browserClient) until(timeout time.Duration, what string, cond func(map[string]any) bool) map[string]any {
	b.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m, ok := <-b.lines:
			if !ok {
				b.t.Fatalf("driver ended while waiting for %s; lines: %v", what, b.log)
			}
			b.record(m)
			if m["error"] != nil {
				b.t.Fatalf("driver: %v", m["error"])
			}
			if cond(m) {
				return m
			}
		case <-deadline:
			b.t.Fatalf("no %s within %s; last lines: %v", what, timeout, tail(b.log, 12))
		}
	}
}

func (b *browserClient) record(m map[string]any) {
	b.log = append(b.log, m)
	if e, ok := m["event"].(map[string]any); ok {
		b.events = append(b.events, browserEvent{ID: e["id"].(string), Type: e["type"].(string), Data: e["data"].(string)})
	}
}

func tail[T any](s []T, n int) []T { return s[max(0, len(s)-n):] }

// waitEvents waits until the client delivered n events in all.
func (b *browserClient) waitEvents(n int, timeout time.Duration) {
	b.t.Helper()
	if len(b.events) >= n {
		return
	}
	b.until(timeout, fmt.Sprintf("%d events (have %d)", n, len(b.events)), func(map[string]any) bool { return len(b.events) >= n })
}

// waitState waits until the store's state is state, and returns the line
// that said so.
func (b *browserClient) waitState(state string, timeout time.Duration) map[string]any {
	b.t.Helper()
	for i := len(b.log) - 1; i >= 0; i-- {
		if st, ok := b.log[i]["state"]; ok {
			if st == state {
				return b.log[i]
			}
			break
		}
	}
	return b.until(timeout, "state "+state, func(m map[string]any) bool { return m["state"] == state })
}

// quiet reads lines for d and fails if an event arrives.
func (b *browserClient) quiet(d time.Duration) {
	b.t.Helper()
	n := len(b.events)
	deadline := time.After(d)
	for {
		select {
		case m, ok := <-b.lines:
			if !ok {
				return
			}
			b.record(m)
			if len(b.events) > n {
				b.t.Fatalf("unexpected event %+v", b.events[n:])
			}
		case <-deadline:
			return
		}
	}
}

// send writes a command to the driver.
func (b *browserClient) send(cmd map[string]any) {
	b.t.Helper()
	js, _ := json.Marshal(cmd)
	if _, err := b.stdin.Write(append(js, '\n')); err != nil {
		b.t.Fatal(err)
	}
}

// states lists the states the store went through, repeats collapsed.
func (b *browserClient) states() []string {
	var s []string
	for _, m := range b.log {
		if st, ok := m["state"].(string); ok && (len(s) == 0 || s[len(s)-1] != st) {
			s = append(s, st)
		}
	}
	return s
}

// reconnects is the store's last reconnect count.
func (b *browserClient) reconnects() int {
	n := 0
	for _, m := range b.log {
		if r, ok := m["reconnects"].(float64); ok {
			n = int(r)
		}
	}
	return n
}

// checkExactlyOnce fails unless the client delivered exactly want, in order.
func (b *browserClient) checkExactlyOnce(want []string) {
	b.t.Helper()
	got := make([]string, len(b.events))
	for i, e := range b.events {
		got[i] = e.ID
	}
	if !slices.Equal(got, want) {
		b.t.Fatalf("delivered %d events, want %d exactly once in order:\n got %v\nwant %v", len(got), len(want), got, want)
	}
}

// publishTo publishes n events on topic to the origin at base and returns
// their ids.
func publishTo(t *testing.T, base, topic, prefix string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = publish(t, base, url.Values{"topic": {topic}, "data": {fmt.Sprintf("%s-%d", prefix, i)}})
	}
	return ids
}

// TestClientEchoIgnored: an update the app published itself, under an id it
// chose and registered with ignore(), is not delivered; the next one is.
func TestClientEchoIgnored(t *testing.T) {
	topic := uniqueTopic(t, "client-echo")
	b := startBrowserClient(t, sys.edgeURL+"/healthz", map[string]any{"topic": topic})
	b.waitState("open", 30*time.Second)
	own := fmt.Sprintf("urn:edge-sse-e2e:own:%d", time.Now().UnixNano())
	b.send(map[string]any{"ignore": own})
	b.until(10*time.Second, "ignore ack", func(m map[string]any) bool { return m["ignored"] == own })
	if got := publish(t, sys.originURL, url.Values{"topic": {topic}, "id": {own}, "data": {"my own write"}}); got != own {
		t.Fatalf("the origin gave the update id %q, want the publisher's %q", got, own)
	}
	other := publish(t, sys.originURL, url.Values{"topic": {topic}, "data": {"someone else's"}})
	b.waitEvents(1, 15*time.Second)
	b.quiet(time.Second)
	b.checkExactlyOnce([]string{other})
}

// TestClientResync: a client resuming from an id the hub does not know
// gets mercure-missed; the client calls the app's resync, is stale until
// it returns, then open, and the notice never reaches the app as an event.
func TestClientResync(t *testing.T) {
	topic := uniqueTopic(t, "client-resync")
	b := startBrowserClient(t, sys.edgeURL+"/healthz", map[string]any{
		"topic": topic, "lastEventId": "urn:edge-sse-e2e:never-published", "resync": true,
	})
	b.until(30*time.Second, "resync", func(m map[string]any) bool { return m["resync"] != nil })
	if r := b.log[len(b.log)-1]["resync"]; r != "unknown-last-event-id" {
		t.Fatalf("resync reason %v, want unknown-last-event-id", r)
	}
	b.until(10*time.Second, "resync to return", func(m map[string]any) bool { return m["resynced"] != nil })
	b.waitState("open", 5*time.Second)
	id := publish(t, sys.originURL, url.Values{"topic": {topic}, "data": {"after resync"}})
	b.waitEvents(1, 15*time.Second)
	b.quiet(500 * time.Millisecond)
	b.checkExactlyOnce([]string{id})
	if s := b.states(); !slices.Contains(s, "stale") || s[len(s)-1] != "open" {
		t.Fatalf("states %v, want stale then open", s)
	}
}

// TestClientTokenRefresh: the hub ends a stream when its token expires;
// the client's next attempt gets 401, the refresh hook hands it a new
// token, and it resumes with nothing lost or repeated. Without a new token
// it stops, saying why.
func TestClientTokenRefresh(t *testing.T) {
	topic := uniqueTopic(t, "client-refresh")
	private := func(data string) string {
		return publish(t, sys.originURL, url.Values{"topic": {topic}, "data": {data}, "private": {"on"}})
	}
	b := startBrowserClient(t, sys.edgeURL+"/healthz", map[string]any{
		"topic": topic,
		// Long enough for Chromium to start and the first event to arrive
		// on a loaded 2-core machine (3 s expired before either at load
		// 15-29); the hub still ends the stream at expiry, long before the
		// 40 s wait for the refresh hook below.
		"token":         subscriberToken(10*time.Second, topic),
		"refreshTokens": []string{subscriberToken(time.Hour, topic)},
	})
	b.waitState("open", 30*time.Second)
	want := []string{private("before expiry")}
	b.waitEvents(1, 15*time.Second)
	r := b.until(40*time.Second, "refresh hook", func(m map[string]any) bool { return m["refresh"] != nil })
	if e := r["refresh"].(map[string]any); e["status"] != float64(401) || !strings.Contains(fmt.Sprint(e["message"]), "expire") || r["gave"] != true {
		t.Fatalf("refresh hook got %v, want a 401 saying the token expired, and gave a token", r)
	}
	want = append(want, private("while refreshing"))
	b.waitState("open", 30*time.Second)
	want = append(want, private("after refresh"))
	b.waitEvents(3, 15*time.Second)
	b.quiet(500 * time.Millisecond)
	b.checkExactlyOnce(want)

	// An expired token and nothing better: closed, with the hub's reason.
	stopped := startBrowserClient(t, sys.edgeURL+"/healthz", map[string]any{
		"topic": topic, "token": subscriberToken(-time.Minute, topic), "refreshTokens": []string{},
	})
	m := stopped.waitState("closed", 30*time.Second)
	if e, _ := m["lastError"].(map[string]any); e == nil || e["status"] != float64(401) || !strings.Contains(fmt.Sprint(e["message"]), "expire") {
		t.Fatalf("closed with lastError %v, want 401 saying the token expired", m["lastError"])
	}
}
