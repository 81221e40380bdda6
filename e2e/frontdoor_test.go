package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/shared/mercure"
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

// TestFrontDoorSharedInstance sends short requests of every kind to the
// front door at once (health, publishes, the demo page, metadata, the
// client library, an oversized publish), many in flight together: they
// share one resident Go instance per isolate, which must give each request
// its own answer and never do one request's I/O inside another's (workerd
// would log "Cannot perform I/O on behalf of a different request").
func TestFrontDoorSharedInstance(t *testing.T) {
	logBefore, _ := os.ReadFile(sys.wrangler.log)
	topic := uniqueTopic(t, "shared-front")
	sub := subscribeSSE(t, sys.edgeURL+"/.well-known/mercure?topic="+url.QueryEscape(topic), nil)
	const rounds = 40
	big := bytes.Repeat([]byte("a"), 2<<20)
	kinds := []func(i int) error{
		func(int) error { return expectGet(sys.edgeURL+"/healthz", 200, "ok") },
		func(i int) error {
			_, err := tryPublish(sys.edgeURL, url.Values{"topic": {topic}, "data": {fmt.Sprint("shared-", i)}})
			return err
		},
		func(int) error { return expectGet(sys.edgeURL+"/", 200, "<html") },
		func(int) error { return expectGet(sys.edgeURL+mercure.MetadataPath, 200, "resource") },
		func(int) error { return expectGet(sys.edgeURL+"/edge-sse.js", 200, "export") },
		func(i int) error {
			if i%8 != 0 {
				return nil
			}
			req, _ := http.NewRequest(http.MethodPost, sys.edgeURL+"/.well-known/mercure", bytes.NewReader(big))
			req.Header.Set("Authorization", "Bearer "+publisherToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				return fmt.Errorf("oversized publish: %s, want 413", resp.Status)
			}
			return nil
		},
	}
	var wg sync.WaitGroup
	errs := make(chan error, rounds*len(kinds))
	for i := range rounds {
		for _, k := range kinds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := k(i); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 5 {
			t.Error(err)
		}
	}
	if n > 5 {
		t.Errorf("… %d failures in all", n)
	}
	// Every publish went through once: the subscriber sees each data once.
	seen := map[string]int{}
	for range rounds {
		e := sub.next(t, 10*time.Second)
		seen[e.Data]++
	}
	for i := range rounds {
		if d := fmt.Sprint("shared-", i); seen[d] != 1 {
			t.Errorf("publish %q received %d times, want 1", d, seen[d])
		}
	}
	logAfter, _ := os.ReadFile(sys.wrangler.log)
	if len(logAfter) >= len(logBefore) {
		if tail := string(logAfter[len(logBefore):]); strings.Contains(tail, "different request") {
			t.Errorf("workerd logged cross-request I/O while the front door was shared:\n%s", tail)
		}
	}
}

// expectGet fetches u and checks its status and that its body contains want.
func expectGet(u string, status int, want string) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != status || !strings.Contains(string(b), want) {
		return fmt.Errorf("GET %s: %s %q, want %d containing %q", u, resp.Status, firstChars(string(b), 120), status, want)
	}
	return nil
}

func firstChars(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
