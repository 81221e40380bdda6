package e2e

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestEdgeRefusesWeakFeedSecret: a worker whose ORIGIN_URL is not
// loopback opens no feed with a published FEED_SECRET, and a worker with
// no FEED_SECRET opens none at all: /healthz answers 503 naming
// FEED_SECRET, a subscriber is refused with the same reason, and the log
// says it.
func TestEdgeRefusesWeakFeedSecret(t *testing.T) {
	for _, c := range []struct {
		name, origin, secret, want string
	}{
		{"published secret, public origin", "http://origin.example.invalid:8080", "dev-feed-secret", "published value"},
		{"no secret, loopback origin", sys.originURL, "", "FEED_SECRET is not set"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			name := "wrangler-weak-secret"
			if c.secret == "" {
				name = "wrangler-no-secret"
			}
			edge, p := launchOwnWorker(t, name, c.origin, "FEED_SECRET:"+c.secret)
			status, body := waitAnswer(t, edge+"/healthz", 90*time.Second)
			if status != http.StatusServiceUnavailable || !strings.Contains(body, "FEED_SECRET") || !strings.Contains(body, c.want) {
				t.Fatalf("/healthz: %d %q, want 503 naming FEED_SECRET and %q", status, body, c.want)
			}
			status, body = waitAnswer(t, edge+"/.well-known/mercure?topic=*", 10*time.Second)
			if status == http.StatusOK || !strings.Contains(body, "FEED_SECRET") || !strings.Contains(body, c.want) {
				t.Fatalf("subscribe: %d %q, want a refusal naming FEED_SECRET", status, body)
			}
			logged := func() bool {
				b, _ := os.ReadFile(p.log)
				return strings.Contains(string(b), "refusing to open the origin feed") && strings.Contains(string(b), c.want)
			}
			if !waitFor(10*time.Second, logged) {
				t.Fatalf("the worker's log does not say why it opens no feed:\n%s", p.tail())
			}
		})
	}
}

// waitAnswer polls u until the server answers anything, and returns the
// status and body of that answer.
func waitAnswer(t *testing.T, u string, timeout time.Duration) (int, string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(u)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no answer within %s: %v", u, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
