package e2e

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/shared/sse"
)

// sseClient is a subscriber using Go's HTTP client and the shared parser.
type sseClient struct {
	cancel context.CancelFunc
	resp   *http.Response
	events chan sse.Event
	done   chan struct{}
	err    error
}

// subscribeSSE opens a stream and returns once the response headers arrived,
// which for the edge means the hub registered the client.
func subscribeSSE(t testing.TB, u string, header http.Header) *sseClient {
	t.Helper()
	c, err := dialSSE(u, header)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.close)
	return c
}

// dialSSEMany opens n streams, 50 at a time, each as subscribeSSE does,
// and closes them when the test ends.
func dialSSEMany(t testing.TB, u string, n int) []*sseClient {
	t.Helper()
	clients := make([]*sseClient, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 50)
	errs := make(chan error, n)
	for i := range clients {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := dialSSE(u, nil)
			if err != nil {
				errs <- err
				return
			}
			clients[i] = c
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range clients {
			if c != nil {
				c.close()
			}
		}
	})
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return clients
}

func dialSSE(u string, header http.Header) (*sseClient, error) {
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("subscribe %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("subscribe %s: %s", u, resp.Status)
	}
	c := &sseClient{cancel: cancel, resp: resp, events: make(chan sse.Event, 4096), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		p := sse.NewParser(resp.Body, sse.Config{})
		for p.Next() {
			if p.Kind() == sse.KindEvent {
				c.events <- p.Event()
			}
		}
		c.err = p.Err()
	}()
	return c, nil
}

// next returns the next event, failing the test after timeout.
func (c *sseClient) next(t testing.TB, timeout time.Duration) sse.Event {
	t.Helper()
	select {
	case e := <-c.events:
		return e
	case <-time.After(timeout):
		t.Fatalf("no event within %s", timeout)
	}
	return sse.Event{}
}

// quiet asserts that no event arrives within d.
func (c *sseClient) quiet(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case e := <-c.events:
		t.Fatalf("unexpected event %+v", e)
	case <-time.After(d):
	}
}

func (c *sseClient) close() {
	c.cancel()
	c.resp.Body.Close()
	<-c.done
}
