package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/e2e/internal/proc"
)

// TestEdgeSharding runs a second worker with HUB_SHARDS=3, MAX_CLIENTS=2
// and FEED_BUFFER_KB=1 against the same origin. Clients from different
// addresses reach different hub objects of their region; each object holds
// only its own clients and opens its own feed; events reach every shard (a
// burst too, in order, although each hub reads at most 1 KiB of its feed
// ahead); a full object refuses a new stream with 503 and Retry-After while
// the other objects still accept; when everyone leaves, the feeds close.
// Its front door forwards publish bodies up to MAX_PUBLISH_BYTES=4096 only.
func TestEdgeSharding(t *testing.T) {
	// Its own origin, so that the feed count is this worker's alone.
	origin, feeds := startOwnOrigin(t, "origin-shards")
	edge := startOwnWorker(t, "wrangler-shards", origin,
		"HUB_SHARDS:3", "MAX_CLIENTS:2", "FEED_BUFFER_KB:1", "MAX_PUBLISH_BYTES:4096",
		"CLIENT_HEARTBEAT_MS:1000", "UPSTREAM_IDLE_MS:2000", "MAX_STREAM_MS:600000",
		"CLIENT_STALL_MS:7000", "FEED_COLLECT_MS:0")

	// Every var reaches the hub (the hub shows what it runs with).
	var st map[string]any
	getJSON(t, edge+"/_edge/stats", &st)
	limits, _ := st["limits"].(map[string]any)
	for name, want := range map[string]float64{"MAX_CLIENTS": 2, "FEED_BUFFER_KB": 1, "MAX_PUBLISH_BYTES": 4096,
		"CLIENT_HEARTBEAT_MS": 1000, "UPSTREAM_IDLE_MS": 2000, "MAX_STREAM_MS": 600000, "CLIENT_STALL_MS": 7000, "FEED_COLLECT_MS": 0} {
		if got, ok := limits[name].(float64); !ok || got != want {
			t.Errorf("hub runs with %s = %v, want %v (limits %v)", name, limits[name], want, limits)
		}
	}

	// The hub object of a client address, as the front door picks it.
	hubOf := func(ip string) (name string, subscribers int) {
		req, _ := http.NewRequest(http.MethodGet, edge+"/_edge/stats", nil)
		req.Header.Set("CF-Connecting-IP", ip)
		req.Header.Set("Authorization", "Bearer "+operatorToken)
		var m map[string]any
		getJSONReq(t, req, &m)
		return m["hub"].(string), int(m["subscribers"].(float64))
	}
	statsOf := func(hub string) int {
		var m map[string]any
		getJSON(t, edge+"/_edge/stats?hub="+url.QueryEscape(hub), &m)
		return int(m["subscribers"].(float64))
	}
	// One address per shard.
	ips := map[string]string{} // hub → address
	for i := 1; len(ips) < 3 && i < 200; i++ {
		ip := "198.51.100." + strconv.Itoa(i)
		if name, _ := hubOf(ip); ips[name] == "" {
			ips[name] = ip
		}
	}
	if len(ips) != 3 {
		t.Fatalf("200 addresses reached %d hub objects, want 3: %v", len(ips), ips)
	}

	topic := uniqueTopic(t, "shards")
	u := edge + "/.well-known/mercure?topic=" + url.QueryEscape(topic)
	clients := map[string]*sseClient{}
	for hub, ip := range ips {
		clients[hub] = subscribeSSE(t, u, http.Header{"Cf-Connecting-Ip": {ip}})
	}
	for hub, ip := range ips {
		if name, n := hubOf(ip); name != hub || n != 1 {
			t.Fatalf("hub %s (address %s): stats name %s, subscribers %d; want 1", hub, ip, name, n)
		}
	}
	if !waitFor(10*time.Second, func() bool { return feeds() == 3 }) {
		t.Fatalf("origin serves %d feeds, want 3 (one per shard)", feeds())
	}
	id := publish(t, origin, url.Values{"topic": {topic}, "data": {"to every shard"}})
	for hub, c := range clients {
		if e := c.next(t, 10*time.Second); e.ID != id {
			t.Fatalf("client of %s got %+v, want %s", hub, e, id)
		}
	}

	// A burst of 2 KiB events: the feed pump stops after every chunk (more
	// than 1 KiB read ahead) and resumes when the hub takes it.
	pad := strings.Repeat("x", 2048)
	var burst []string
	for i := range 200 {
		burst = append(burst, publish(t, origin, url.Values{"topic": {topic}, "data": {strconv.Itoa(i) + pad}}))
	}
	for hub, c := range clients {
		for i, want := range burst {
			if e := c.next(t, 20*time.Second); e.ID != want || e.Data != strconv.Itoa(i)+pad {
				t.Fatalf("client of %s: burst event %d is %s (%d bytes of data), want %s", hub, i, e.ID, len(e.Data), want)
			}
		}
	}

	// Fill one object up to MAX_CLIENTS=2: the next stream is refused.
	var full, other string
	for hub := range ips {
		if full == "" {
			full = hub
		} else if other == "" {
			other = hub
		}
	}
	second := subscribeSSE(t, u, http.Header{"Cf-Connecting-Ip": {ips[full]}})
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("CF-Connecting-IP", ips[full])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "MAX_CLIENTS") {
		t.Fatalf("third stream on a full hub: %s, Retry-After %q, body %q; want 503 with Retry-After naming MAX_CLIENTS",
			resp.Status, resp.Header.Get("Retry-After"), body)
	}
	if n := statsOf(full); n != 2 {
		t.Fatalf("full hub holds %d streams, want 2", n)
	}
	// The other objects are not affected.
	more := subscribeSSE(t, u, http.Header{"Cf-Connecting-Ip": {ips[other]}})
	id2 := publish(t, origin, url.Values{"topic": {topic}, "data": {"after the refusal"}})
	for _, c := range []*sseClient{clients[full], clients[other], more} {
		if e := c.next(t, 10*time.Second); e.ID != id2 {
			t.Fatalf("got %+v, want %s", e, id2)
		}
	}

	// The front door's publish limit is the configured one.
	for size, want := range map[int]int{3000: http.StatusOK, 5000: http.StatusRequestEntityTooLarge} {
		form := url.Values{"topic": {topic}, "data": {strings.Repeat("y", size)}}
		req, _ := http.NewRequest(http.MethodPost, edge+"/.well-known/mercure", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+publisherToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("publish of %d bytes through the front door: %s %q, want %d", size, resp.Status, msg, want)
		}
	}

	// Everyone leaves: every shard closes its feed after UPSTREAM_IDLE_MS.
	for _, c := range append([]*sseClient{second, more}, clients[full], clients[other]) {
		c.close()
	}
	for _, c := range clients {
		c.close()
	}
	if !waitFor(30*time.Second, func() bool { return feeds() == 0 }) {
		t.Fatalf("origin still serves %d feeds 30 s after every client left, want 0", feeds())
	}
}

// getJSONReq decodes the JSON answer to req.
func getJSONReq(t testing.TB, req *http.Request, v any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s", req.URL, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// TestEdgeStreamLifetime runs a worker with MAX_STREAM_MS=3000: a stream
// ends after 2.25–3 s, and its client resumes with Last-Event-ID without
// losing anything.
func TestEdgeStreamLifetime(t *testing.T) {
	origin, feeds := startOwnOrigin(t, "origin-lifetime")
	edge := startOwnWorker(t, "wrangler-lifetime", origin, "MAX_STREAM_MS:3000", "CLIENT_HEARTBEAT_MS:1000")
	lifeTopic := uniqueTopic(t, "lifetime")
	lu := edge + "/.well-known/mercure?topic=" + url.QueryEscape(lifeTopic)
	for round := range 2 {
		opened := time.Now()
		life := subscribeSSE(t, lu, nil)
		// A client without Last-Event-ID gets what is published once its
		// hub's feed is open: the first client opens it, and publishing
		// before the origin serves it loses the event by design (this
		// raced and failed under load).
		if !waitFor(10*time.Second, func() bool { return feeds() == 1 }) {
			t.Fatalf("round %d: origin serves %d feeds, want 1", round, feeds())
		}
		first := publish(t, origin, url.Values{"topic": {lifeTopic}, "data": {"first"}})
		if e := life.next(t, 10*time.Second); e.ID != first {
			t.Fatalf("round %d: got %+v, want %s", round, e, first)
		}
		select {
		case <-life.done:
			if d := time.Since(opened); d < 2*time.Second || d > 8*time.Second {
				t.Fatalf("round %d: stream ended after %s, want 2.25–3 s (MAX_STREAM_MS=3000)", round, d)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: stream still open 10 s after it opened, MAX_STREAM_MS=3000", round)
		}
		missed := publish(t, origin, url.Values{"topic": {lifeTopic}, "data": {"while away"}})
		back := subscribeSSE(t, lu, http.Header{"Last-Event-ID": {first}})
		if e := back.next(t, 10*time.Second); e.ID != missed {
			t.Fatalf("round %d: resumed client got %+v, want %s", round, e, missed)
		}
		back.close()
	}
}

// startOwnOrigin starts an origin (memory history) for one test and
// returns its URL and a function counting the edge feeds it serves.
func startOwnOrigin(t *testing.T, name string) (string, func() int) {
	t.Helper()
	origin := startTestOrigin(t, name, "--heartbeat", originHeartbeat,
		"--jwt-key", jwtKey, "--history", "memory", "--feed-secret", feedSecret).url
	return origin, func() int {
		var m map[string]any
		getJSON(t, origin+"/healthz", &m)
		return int(m["edgeFeeds"].(float64))
	}
}

// startOwnWorker starts the worker under wrangler's dev server for one
// test, against origin, with vars ("NAME:VALUE") on top of anonymous
// access, the test key, the run's feed secret and stats token, and returns
// its URL.
func startOwnWorker(t *testing.T, name, origin string, vars ...string) string {
	t.Helper()
	edge, p := launchOwnWorker(t, name, origin, vars...)
	if err := proc.WaitHTTP(edge+"/healthz", 90*time.Second, p.p); err != nil {
		t.Fatal(err)
	}
	return edge
}

// launchOwnWorker is startOwnWorker without the wait for a healthy
// /healthz: it returns the worker's URL and process at once.
func launchOwnWorker(t *testing.T, name, origin string, vars ...string) (string, *process) {
	t.Helper()
	s, err := proc.Worker{Root: sys.root, LogDir: sys.logDir, Name: name,
		Snapshot: filepath.Join(sys.logDir, "bundle-"+name), Persist: filepath.Join(sys.logDir, name+"-state"),
		Vars: append([]string{
			"ORIGIN_URL:" + origin,
			"FEED_SECRET:" + feedSecret,
			"STATS_TOKEN:" + operatorToken,
			"ALLOW_ANONYMOUS:true",
			"JWT_KEY:" + jwtKey,
		}, vars...)}.Launch()
	if err != nil {
		t.Fatal(err)
	}
	p := wrap(s)
	t.Cleanup(p.stop)
	return p.url, p
}
