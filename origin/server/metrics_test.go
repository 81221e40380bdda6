package server_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/origin/server"
	"github.com/edge-sse/edge-sse/shared/frame"
)

// scrape returns the value of every unlabelled sample on MetricsPath.
func scrape(t *testing.T, h *testHub) map[string]float64 {
	t.Helper()
	req := must(http.NewRequest(http.MethodGet, h.URL+server.MetricsPath, nil))
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("metrics: %s", resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, m := range regexp.MustCompile(`(?m)^([a-z_]+) (\S+)$`).FindAllStringSubmatch(string(b), -1) {
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", m[0], err)
		}
		out[m[1]] = v
	}
	return out
}

// TestMetrics: the Prometheus endpoint exposes the hub's counters and
// gauges with the values of what happened.
func TestMetrics(t *testing.T) {
	h := newHub(t, nil, allowAnonymous)
	h.subscribe(t, "topic=*", nil)
	fc, _ := h.openFeed(t, "", feedSecret)
	fc.next(t, frame.TypeHello)
	h.publish(t, form("topic", bookTopic))
	h.publish(t, form("topic", bookTopic))

	m := scrape(t, h)
	want := map[string]float64{
		"edge_sse_origin_subscribers":                     1,
		"edge_sse_origin_published_events_total":          2,
		"edge_sse_origin_delivered_events_total":          4, // 2 events × (1 subscriber + 1 feed)
		"edge_sse_origin_dropped_events_total":            0,
		"edge_sse_origin_slow_consumer_disconnects_total": 0,
		"edge_sse_origin_history_events":                  2,
		"edge_sse_origin_edge_feeds":                      1,
		"edge_sse_origin_edge_feeds_opened_total":         1,
		"edge_sse_origin_edge_feed_catchups_total":        0,
		"edge_sse_origin_history_gaps_total":              0,
	}
	for name, v := range want {
		if got, ok := m[name]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, v)
		}
	}
	if _, ok := m["go_goroutines"]; !ok {
		t.Error("the Go runtime collector is missing")
	}
}

// stalledClient opens a subscription over a raw connection that never
// reads, with a small receive buffer so that the hub's writes block soon.
func stalledClient(t *testing.T, h *testHub) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.(*net.TCPConn).SetReadBuffer(4096)
	if _, err := conn.Write([]byte("GET " + server.MercurePath + "?topic=* HTTP/1.1\r\nHost: hub\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
}

// publishUntil publishes 256 KiB events until cond holds.
func publishUntil(t *testing.T, h *testHub, cond func(m map[string]float64) bool) {
	t.Helper()
	// 256 KiB in 1 KiB lines: within the parser's line and event limits.
	big := strings.Repeat(strings.Repeat("x", 1023)+"\n", 256)
	for i := 0; !cond(scrape(t, h)); i++ {
		if i == 200 {
			t.Fatalf("condition not met after %d events: %v", i, scrape(t, h))
		}
		h.publish(t, form("topic", bookTopic, "data", big))
	}
}

// TestStalledClient: a subscriber that stops reading is disconnected when
// a write to it blocks for WriteTimeout, and counted as a slow consumer;
// another subscriber keeps receiving every event.
func TestStalledClient(t *testing.T) {
	h := newHub(t, nil, allowAnonymous, func(c *serverConfig) {
		c.WriteTimeout, c.MaxBodyBytes = 300*time.Millisecond, 1<<20
	})
	stalledClient(t, h)
	fast, _ := h.subscribe(t, "topic=*", nil)
	waitFor(t, func() bool { return scrape(t, h)["edge_sse_origin_subscribers"] == 2 })
	publishUntil(t, h, func(m map[string]float64) bool { return m["edge_sse_origin_slow_consumer_disconnects_total"] == 1 })
	waitFor(t, func() bool { return scrape(t, h)["edge_sse_origin_subscribers"] == 1 })

	published := int(scrape(t, h)["edge_sse_origin_published_events_total"])
	id := h.publish(t, form("topic", bookTopic, "data", "still flowing"))
	if got := fast.until(t, id, 10*time.Second); len(got) != published {
		t.Fatalf("the reading subscriber got %d of %d events", len(got), published)
	}
}

// TestQueueOverflow: a subscriber whose queue fills while its write is
// blocked is dropped by the hub, counted once as a slow consumer, and the
// events left in its queue are counted as dropped.
func TestQueueOverflow(t *testing.T) {
	h := newHub(t, nil, allowAnonymous, func(c *serverConfig) {
		c.QueueSize, c.WriteTimeout, c.MaxBodyBytes = 2, 2*time.Second, 1<<20
	})
	stalledClient(t, h)
	waitFor(t, func() bool { return scrape(t, h)["edge_sse_origin_subscribers"] == 1 })
	publishUntil(t, h, func(m map[string]float64) bool { return m["edge_sse_origin_slow_consumer_disconnects_total"] >= 1 })
	waitFor(t, func() bool {
		m := scrape(t, h)
		return m["edge_sse_origin_subscribers"] == 0 && m["edge_sse_origin_dropped_events_total"] >= 1
	})
	if n := scrape(t, h)["edge_sse_origin_slow_consumer_disconnects_total"]; n != 1 {
		t.Fatalf("slow consumer counted %v times, want once", n)
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHealth: /healthz reports to an operator the fields operators and
// the e2e tests read.
func TestHealth(t *testing.T) {
	h := newHub(t, nil, allowAnonymous)
	h.subscribe(t, "topic=*", nil)
	fc, _ := h.openFeed(t, "", feedSecret)
	fc.next(t, frame.TypeHello)
	id := h.publish(t, form("topic", bookTopic))
	var got struct {
		Status      string `json:"status"`
		Subscribers int    `json:"subscribers"`
		EdgeFeeds   int    `json:"edgeFeeds"`
		Published   int    `json:"published"`
		History     int    `json:"history"`
		LastEventID string `json:"lastEventID"`
	}
	// The newest id is recorded by the hub's fan-out goroutine after the
	// publish has been answered: poll until it shows.
	waitFor(t, func() bool {
		req := must(http.NewRequest(http.MethodGet, h.URL+server.HealthPath, nil))
		req.Header.Set("Authorization", "Bearer "+metricsToken)
		resp, body := do(t, req)
		if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %q: %v", resp.Status, body, err)
		}
		return got.LastEventID == id
	})
	if got.Status != "ok" || got.Subscribers != 1 || got.EdgeFeeds != 1 || got.Published != 1 || got.History != 1 || got.LastEventID != id {
		t.Fatalf("healthz %+v", got)
	}
}

// TestOperatorEndpoints: the hub's handler gives anonymous callers the
// health status alone and no metrics; the metrics token unlocks both;
// without a configured token /metrics does not exist there; the operator
// handler serves both without a token and nothing else.
func TestOperatorEndpoints(t *testing.T) {
	get := func(base, path, auth string) (*http.Response, string) {
		req := must(http.NewRequest(http.MethodGet, base+path, nil))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		return do(t, req)
	}
	h := newHub(t, nil)
	h.publish(t, form("topic", bookTopic))
	for _, auth := range []string{"", "Bearer wrong", "Bearer " + metricsToken + "x", metricsToken, "Basic " + metricsToken} {
		resp, body := get(h.URL, server.HealthPath, auth)
		if resp.StatusCode != http.StatusOK || strings.TrimSpace(body) != "{\n  \"status\": \"ok\"\n}" {
			t.Errorf("healthz with %q: %s %q, want the status alone", auth, resp.Status, body)
		}
		resp, body = get(h.URL, server.MetricsPath, auth)
		if resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, "edge_sse_origin_") || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("metrics with %q: %s %q, want 401 with a challenge", auth, resp.Status, body)
		}
	}
	if resp, body := get(h.URL, server.MetricsPath, "Bearer "+metricsToken); resp.StatusCode != http.StatusOK || !strings.Contains(body, "edge_sse_origin_published_events_total 1") {
		t.Errorf("metrics with the token: %s", resp.Status)
	}

	none := newHub(t, nil, func(c *server.Config) { c.MetricsToken = "" })
	for _, auth := range []string{"", "Bearer ", "Bearer " + metricsToken} {
		if resp, body := get(none.URL, server.MetricsPath, auth); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "--metrics-addr") {
			t.Errorf("metrics without a configured token, Authorization %q: %s %q, want 404", auth, resp.Status, body)
		}
		if _, body := get(none.URL, server.HealthPath, auth); strings.Contains(body, "lastEventID") {
			t.Errorf("healthz without a configured token, Authorization %q: %q shows detail", auth, body)
		}
	}
	op := httptest.NewServer(none.srv.OperatorHandler())
	defer op.Close()
	if resp, body := get(op.URL, server.MetricsPath, ""); resp.StatusCode != http.StatusOK || !strings.Contains(body, "edge_sse_origin_subscribers") {
		t.Errorf("operator metrics: %s", resp.Status)
	}
	if resp, body := get(op.URL, server.HealthPath, ""); resp.StatusCode != http.StatusOK || !strings.Contains(body, "lastEventID") {
		t.Errorf("operator healthz: %s %q", resp.Status, body)
	}
	if resp, _ := get(op.URL, server.MercurePath+"?topic=*", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("operator handler serves the hub: %s", resp.Status)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
