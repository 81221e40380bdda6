package main

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/origin/history"
	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/origin/server"
	"github.com/edge-sse/edge-sse/shared/presence"
)

// TestServeSubscriptionFlags: the Active Subscriptions flags are checked
// before the origin starts.
func TestServeSubscriptionFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--subscription-lease", "500ms"}, "--subscription-lease 500ms: use at least 1s"},
		{[]string{"--subscription-report-bytes", "0"}, "--subscription-report-bytes 0"},
		{[]string{"--subscription-report-ops", "-1"}, "--subscription-report-ops -1"},
	} {
		args := append([]string{"serve", "--history", "memory", "--addr", "127.0.0.1:0", "--subscriptions"}, c.args...)
		code, _, stderr := runCmd(t, noEnv, nil, args...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, stderr, c.want)
		}
	}
}

// TestServeSubscriptions: with --subscriptions and the bolt history, a
// direct subscriber is listed by the API, and a graceful shutdown ends
// its subscription with an event the history keeps.
func TestServeSubscriptions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	o := startServe(t, noEnv, "--production", "--jwt-key", testKey, "--feed-secret", "feed-"+testKey,
		"--history-path", path, "--subscriptions", "--subscription-lease", "3s")
	tok := mintT(t, tokenSpec{subscribe: []string{"*"}})
	sub, _ := http.NewRequest(http.MethodGet, o.url+server.MercurePath+"?topic=https://example.com/room", nil)
	sub.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(sub)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	go io.Copy(io.Discard, resp.Body)

	var col presence.Collection
	deadline := time.Now().Add(5 * time.Second)
	for len(col.Subscriptions) == 0 && time.Now().Before(deadline) {
		req, _ := http.NewRequest(http.MethodGet, o.url+server.SubscriptionsPath, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(r.Body).Decode(&col)
		r.Body.Close()
		if err != nil || r.StatusCode != http.StatusOK {
			t.Fatalf("API: %s %v", r.Status, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(col.Subscriptions) != 1 || col.Subscriptions[0].Match != "https://example.com/room" {
		t.Fatalf("API list %+v", col)
	}
	subscriber := col.Subscriptions[0].Subscriber
	meta, err := http.Get(o.url + server.MetadataPath)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(meta.Body)
	meta.Body.Close()
	if !strings.Contains(string(b), `"mercure_subscriptions":true`) {
		t.Fatalf("metadata %s", b)
	}

	o.stop()
	if err := <-o.done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	o.done <- nil // for the cleanup
	store, err := history.OpenBolt(path, history.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var states []bool
	store.RangeOldest(^uint64(0), func(e *hub.Event) bool {
		var d presence.Subscription
		if e.Type == "mercure" && json.Unmarshal([]byte(e.Data), &d) == nil && d.Subscriber == subscriber {
			states = append(states, d.Active)
		}
		return true
	})
	if len(states) != 2 || !states[0] || states[1] {
		t.Fatalf("events of the subscriber in the history: %v, want [true false]", states)
	}
}
