package e2e

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestFrontDoorOversizedPublish sends publish bodies over the front door's
// 1 MiB limit, with and without Content-Length: each gets 413, and the next
// publish through the front door still works (an oversized body once took
// the worker's isolate down, failing the following requests with 503).
func TestFrontDoorOversizedPublish(t *testing.T) {
	big := bytes.Repeat([]byte("a"), 2<<20)
	for _, chunked := range []bool{false, true} {
		var body io.Reader = bytes.NewReader(big)
		if chunked {
			body = io.MultiReader(bytes.NewReader(big)) // hides the length: chunked encoding
		}
		req, _ := http.NewRequest(http.MethodPost, sys.edgeURL+"/.well-known/mercure", body)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+publisherToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(msg), "bytes") {
			t.Fatalf("chunked=%v: got %s %q, want 413 with the limit", chunked, resp.Status, msg)
		}
		topic := uniqueTopic(t, "after-big")
		if _, err := tryPublish(sys.edgeURL, url.Values{"topic": {topic}, "data": {"small"}}); err != nil {
			t.Fatalf("chunked=%v: publish after an oversized one: %v", chunked, err)
		}
	}
}
