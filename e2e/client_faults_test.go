package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clientRig is a system of its own for the browser client's fault test, so
// that it can restart and cut things without disturbing other tests:
// origin (bbolt history) ← feed proxy ← worker (MAX_CLIENTS=1, short
// reconnection advice) ← front proxy ← Chromium.
type clientRig struct {
	t                   *testing.T
	originAddr, history string
	origin              *process
	feed                *feedProxy // worker → origin
	workerAddr          string
	worker              *process
	vars                []string
	front               *feedProxy // Chromium → worker
	originURL, frontURL string
	workerURL           string
}

func startClientRig(t *testing.T) *clientRig {
	t.Helper()
	r := &clientRig{t: t, originAddr: freeAddr(), workerAddr: freeAddr(),
		history: filepath.Join(sys.logDir, "origin-client-history.db")}
	r.originURL = "http://" + r.originAddr
	r.startOrigin()
	var err error
	if r.feed, err = startFeedProxy(r.originAddr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.feed.close)
	r.vars = []string{
		"ORIGIN_URL:" + r.feed.url(),
		"FEED_SECRET:" + feedSecret,
		"JWT_KEY:" + jwtKey,
		"ALLOW_ANONYMOUS:true",
		"STATS_TOKEN:" + operatorToken,
		"CLIENT_HEARTBEAT_MS:1000",
		"MAX_CLIENTS:1",
		// retry: 200–500 ms, Retry-After: 1 s.
		"RETRY_MS:200",
		"RETRY_JITTER_MS:300",
	}
	r.startWorker()
	if r.front, err = startFeedProxy(r.workerAddr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.front.close)
	r.frontURL = r.front.url()
	r.workerURL = "http://" + r.workerAddr
	return r
}

func (r *clientRig) startOrigin() {
	r.t.Helper()
	p, err := startOriginAt("origin-client", r.originAddr, "--heartbeat", originHeartbeat,
		"--jwt-key", jwtKey, "--feed-secret", feedSecret, "--history-path", r.history)
	if err != nil {
		r.t.Fatal(err)
	}
	r.origin = p
	r.t.Cleanup(p.stop)
}

func (r *clientRig) startWorker() {
	r.t.Helper()
	p, err := startWorkerAt("wrangler-client", r.workerAddr, filepath.Join(sys.logDir, "bundle-wrangler-client"), r.vars...)
	if err != nil {
		r.t.Fatal(err)
	}
	r.worker = p
	r.t.Cleanup(p.stop)
}

// TestClientRidesThroughFaults runs the browser client in Chromium through
// a worker that holds one stream at most (MAX_CLIENTS=1) and puts it through
// a full hub object (503 with Retry-After), a wrangler restart, an origin
// SIGKILL, a cut of the origin→edge feed, a cut of its own connection
// mid-stream, and a connection gone silent; it ends with every event
// exactly once, in order.
func TestClientRidesThroughFaults(t *testing.T) {
	r := startClientRig(t)
	topic := uniqueTopic(t, "client-faults")
	var want []string
	batch := func(name string, n int) {
		want = append(want, publishTo(t, r.originURL, topic, name, n)...)
	}

	// The one stream the hub object holds is taken: the client is refused
	// with 503 naming MAX_CLIENTS, and keeps trying.
	blocker, err := dialSSE(r.workerURL+"/.well-known/mercure?topic="+url.QueryEscape(topic+"/other"), nil)
	if err != nil {
		t.Fatal(err)
	}
	b := startBrowserClient(t, r.frontURL+"/healthz", map[string]any{
		"topic": topic, "idle": 3000, "backoff": 300, "maxBackoff": 2000, "healthy": 2000,
	})
	refused := b.until(30*time.Second, "a 503 refusal", func(m map[string]any) bool {
		e, _ := m["lastError"].(map[string]any)
		return e != nil && e["status"] == float64(http.StatusServiceUnavailable)
	})
	if msg := fmt.Sprint(refused["lastError"].(map[string]any)["message"]); !strings.Contains(msg, "MAX_CLIENTS") {
		t.Fatalf("503 reason %q, want it to name MAX_CLIENTS", msg)
	}
	b.until(10*time.Second, "a second attempt", func(m map[string]any) bool { return m["reconnects"].(float64) >= 1 })
	blocker.close()
	b.waitState("open", 30*time.Second)
	batch("first", 3)
	b.waitEvents(len(want), 15*time.Second)

	// A wrangler restart: every stream and hub object dies; what is
	// published meanwhile comes from the origin's history on resume.
	r.worker.stop()
	batch("worker-down", 3)
	r.startWorker()
	b.waitEvents(len(want), 60*time.Second)
	b.waitState("open", 10*time.Second)
	batch("after-restart", 2)
	b.waitEvents(len(want), 15*time.Second)

	// The origin killed with SIGKILL and started again on its history: the
	// edge's feed comes back; the client's stream never noticed.
	r.origin.p.Kill()
	r.startOrigin()
	batch("origin-back", 3)
	b.waitEvents(len(want), 60*time.Second)

	// The origin→edge feed cut in the middle of a frame.
	if r.feed.cutMidFrame() == 0 {
		t.Fatal("no feed connection to cut")
	}
	batch("feed-cut", 3)
	b.waitEvents(len(want), 60*time.Second)

	// The client's own connection cut in the middle of what the worker
	// sends next.
	before := b.reconnects()
	if r.front.cutMidFrame() == 0 {
		t.Fatal("no client connection to cut")
	}
	batch("client-cut", 3)
	b.waitEvents(len(want), 60*time.Second)
	b.waitState("open", 30*time.Second)
	if b.reconnects() <= before {
		t.Fatalf("reconnects %d after the cut, want more than %d", b.reconnects(), before)
	}

	// The client's connection silent (no heartbeat, no events, no FIN):
	// the client gives up on it after its idle time and resumes.
	before = b.reconnects()
	if r.front.freeze() == 0 {
		t.Fatal("no client connection to freeze")
	}
	batch("client-silent", 3)
	b.until(30*time.Second, "the idle timeout", func(m map[string]any) bool {
		e, _ := m["lastError"].(map[string]any)
		return e != nil && strings.HasPrefix(fmt.Sprint(e["message"]), "no data for")
	})
	b.waitEvents(len(want), 60*time.Second)
	b.waitState("open", 30*time.Second)
	if b.reconnects() <= before {
		t.Fatalf("reconnects %d after the silence, want more than %d", b.reconnects(), before)
	}

	batch("last", 2)
	b.waitEvents(len(want), 15*time.Second)
	b.quiet(1500 * time.Millisecond)
	b.checkExactlyOnce(want)
	t.Logf("%d events exactly once; %d reconnects; states %v", len(want), b.reconnects(), b.states())
}
