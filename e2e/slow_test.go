package e2e

import (
	"net"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestEdgeSlowClientDropped holds one client that never reads its stream
// next to a healthy one, and publishes more than the network buffers and
// the stalled client's queue (CLIENT_QUEUE, 64 chunks in these tests) hold.
// The hub must drop the stalled client, not wait for it, and the healthy
// client must get every event.
func TestEdgeSlowClientDropped(t *testing.T) {
	topic := uniqueTopic(t, "slow")
	u, _ := url.Parse(sys.edgeURL + "/.well-known/mercure?topic=" + url.QueryEscape(topic))

	dialStalled(t, u)
	healthy := subscribeSSE(t, u.String(), nil)
	before := hubStats(t)["dropped"].(float64)

	const events = 400
	data := strings.Repeat("x", 64<<10)
	done := make(chan error, 1)
	go func() {
		for i := 0; i < events; i++ {
			if _, err := tryPublish(sys.originURL, url.Values{"topic": {topic}, "data": {data}}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := 0; i < events; i++ {
		select {
		case e := <-healthy.events:
			if len(e.Data) != len(data) {
				t.Fatalf("healthy client: event %d has %d bytes", i, len(e.Data))
			}
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			done <- nil
		case <-time.After(30 * time.Second):
			t.Fatalf("healthy client stalled after %d events; hub %v", i, hubStats(t))
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !waitFor(20*time.Second, func() bool { return hubStats(t)["dropped"].(float64) > before }) {
		t.Fatalf("stalled client not dropped: %v", hubStats(t))
	}
}

// dialStalled opens the stalled client of the slow-client tests: a raw
// connection with a tiny receive buffer that sends the subscribe request
// to u and never reads. It is closed when the test ends.
func dialStalled(t *testing.T, u *url.URL) {
	t.Helper()
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.(*net.TCPConn).SetReadBuffer(4096)
	if _, err := conn.Write([]byte("GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nAccept: text/event-stream\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
}
