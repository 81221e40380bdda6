package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/origin/server"
)

// metricsToken unlocks the health detail of the origins these tests start.
const metricsToken = "cmd-test-metrics-token"

// waitLastEventID waits up to 5 s for the origin's health endpoint to name
// want as its newest event. The hub's newest id is the newest one fanned
// out, which its fan-out goroutine records after Publish has answered, so a
// read right after the publish may still see the one before.
func waitLastEventID(t *testing.T, url, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := lastEventID(t, url)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("origin's newest event is %q, want %q", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lastEventID reads the newest id from the origin's health endpoint.
func lastEventID(t *testing.T, url string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url+server.HealthPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h struct{ LastEventID string }
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h.LastEventID
}

// TestPublish: "origin publish" posts the update with a given token or one
// it mints from --jwt-key, and prints the id the hub answers.
func TestPublish(t *testing.T) {
	o := startServe(t, noEnv, "--history", "memory", "--jwt-key", testKey, "--metrics-token", metricsToken)

	code, stdout, stderr := runCmd(t, noEnv, strings.NewReader("line 1\nline 2"), "publish", "--hub", o.url+server.MercurePath,
		"--jwt-key", testKey, "--topic", "https://example.com/books/1", "--topic", "https://example.com/users/1/books/1",
		"--data", "-", "--id", "book-1", "--type", "update", "--retry", "1500", "--private")
	if code != 0 || stdout != "book-1\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	waitLastEventID(t, o.url, "book-1")

	env := func(k string) (string, bool) {
		v, ok := map[string]string{"ORIGIN_HUB": o.url, "ORIGIN_TOKEN": mintT(t, tokenSpec{publish: []string{"*"}})}[k]
		return v, ok
	}
	code, stdout, stderr = runCmd(t, env, nil, "publish", "--topic", "https://example.com/books/2")
	id := strings.TrimSpace(stdout)
	if code != 0 || !strings.HasPrefix(id, "urn:uuid:") {
		t.Fatalf("token from the environment: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	waitLastEventID(t, o.url, id)

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"publish", "--hub", o.url, "--topic", "a"}, "needs a token"},
		{[]string{"publish", "--hub", o.url, "--jwt-key", testKey}, "missing --topic"},
		{[]string{"publish", "--hub", o.url, "--jwt-key", testKey, "--topic", "a", "--id", "book-1"}, "409"},
		{[]string{"publish", "--hub", o.url, "--jwt-key", testKey, "--topic", "a", "--type", "x\ny"}, "400"},
	} {
		code, _, stderr := runCmd(t, noEnv, nil, c.args...)
		if code != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args[1:], code, stderr, c.want)
		}
	}
}
