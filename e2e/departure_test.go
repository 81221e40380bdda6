package e2e

import (
	"bufio"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// TestEdgeDepartureWithinTwoHeartbeats: an idle client that goes away
// (its connection closed while no event flows, as when curl is killed)
// leaves its hub within 2 × CLIENT_HEARTBEAT_MS. Before the hub's probe
// rounds it stayed about 2.5 heartbeats through wrangler's proxy (40 s
// with the default 15 s): the departure surfaces only when writes to the
// stream fail, and that takes several writes (edge.ProbesPerHeartbeat).
func TestEdgeDepartureWithinTwoHeartbeats(t *testing.T) {
	heartbeat, _ := strconv.Atoi(clientHeartbeatMS)
	bound := 2 * time.Duration(heartbeat) * time.Millisecond
	u, _ := url.Parse(sys.edgeURL + "/.well-known/mercure?topic=" + url.QueryEscape(uniqueTopic(t, "departure")))
	for round := range 3 {
		before := subscribers(t)
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write([]byte("GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nAccept: text/event-stream\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("subscribe: %v %v", resp, err)
		}
		if !waitFor(10*time.Second, func() bool { return subscribers(t) > before }) {
			t.Fatalf("the client never showed in the hub: %v", hubStats(t))
		}
		// A random phase against the hub's heartbeat.
		time.Sleep(time.Duration(round) * time.Duration(heartbeat) * time.Millisecond / 3)
		conn.Close()
		left := time.Now()
		var gone time.Duration
		for time.Since(left) < 30*time.Second {
			if subscribers(t) <= before {
				gone = time.Since(left)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("round %d: the hub let the client go %v after it left", round, gone.Round(time.Millisecond))
		if gone == 0 || gone > bound {
			t.Fatalf("round %d: departed idle client held %v (still held: %v), want at most 2 × CLIENT_HEARTBEAT_MS = %v", round, gone, gone == 0, bound)
		}
	}
}
