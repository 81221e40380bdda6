package e2e

import (
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
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

// TestEdgeStatsAccess: /_edge/stats needs the operator token (401
// without it or with another), and with it only names the front door's
// sharding can produce reach a hub object: random names are refused with
// 400 and create no object (the worker's Durable Object storage gains no
// entry), while the caller's own hub still answers.
func TestEdgeStatsAccess(t *testing.T) {
	stats := func(query string, auth string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, sys.edgeURL+"/_edge/stats"+query, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	good := "Bearer " + operatorToken
	for _, auth := range []string{"", "Bearer ", "Bearer wrong", good + "x", "Basic " + operatorToken, operatorToken} {
		for _, q := range []string{"", "?hub=local-0", "?hub=random-name"} {
			if status, body := stats(q, auth); status != http.StatusUnauthorized || !strings.Contains(body, "STATS_TOKEN") {
				t.Errorf("stats%s with Authorization %q: %d %q, want 401 naming STATS_TOKEN", q, auth, status, body)
			}
		}
	}
	if status, body := stats("", good); status != http.StatusOK || !strings.Contains(body, `"subscribers"`) {
		t.Fatalf("stats with the token: %d %q", status, body)
	}
	objects := func() []string {
		var files []string
		filepath.WalkDir(filepath.Join(sys.logDir, "wrangler-state"), func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.Contains(path, "EdgeHub") {
				files = append(files, path)
			}
			return nil
		})
		return files
	}
	before := objects()
	for i := range 40 {
		for _, name := range []string{fmt.Sprintf("probe-%d-%d", i, time.Now().UnixNano()), fmt.Sprintf("local-%d", i+1), fmt.Sprintf("EU-%d", i)} {
			if i == 0 && name == "EU-0" {
				continue // a name the scheme can produce under HUB_SHARDS=1
			}
			status, body := stats("?hub="+url.QueryEscape(name), good)
			if status != http.StatusBadRequest || !strings.Contains(body, "HUB_SHARDS=1") {
				t.Fatalf("stats of hub %q: %d %q, want 400", name, status, body)
			}
		}
	}
	if after := objects(); len(after) != len(before) {
		t.Fatalf("refused names created hub objects: storage %v → %v", before, after)
	}
	t.Logf("hub object storage: %v", before)
}
