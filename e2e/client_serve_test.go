package e2e

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestClientServed checks that the worker serves the browser client at
// /edge-sse.js: the bytes of worker/client/edge-sse.js, as JavaScript, with
// caching headers (an ETag that answers 304) and CORS for any origin, and
// that the hub's answers let a page of another origin read Retry-After and
// Last-Event-ID.
func TestClientServed(t *testing.T) {
	want, err := os.ReadFile(filepath.Join(sys.root, "worker", "client", "edge-sse.js"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(sys.edgeURL + "/edge-sse.js")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, want) {
		t.Fatalf("GET /edge-sse.js: %s, %d bytes; want 200 and the %d bytes of worker/client/edge-sse.js", resp.Status, len(body), len(want))
	}
	for k, v := range map[string]string{
		"Content-Type":                "text/javascript; charset=utf-8",
		"Cache-Control":               "public, max-age=3600",
		"Access-Control-Allow-Origin": "*",
	} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, sys.edgeURL+"/edge-sse.js", nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	again, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	again.Body.Close()
	if again.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation with ETag %q: %s, want 304", resp.Header.Get("ETag"), again.Status)
	}

	sub, err := http.Get(sys.edgeURL + "/.well-known/mercure?topic=" + uniqueTopic(t, "expose"))
	if err != nil {
		t.Fatal(err)
	}
	sub.Body.Close()
	exposed := sub.Header.Get("Access-Control-Expose-Headers")
	for _, h := range []string{"Retry-After", "Last-Event-ID", "Mercure-Last-Event-ID"} {
		if !strings.Contains(exposed, h) {
			t.Errorf("subscribe: Access-Control-Expose-Headers = %q, want it to list %s", exposed, h)
		}
	}
}
