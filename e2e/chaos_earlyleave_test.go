//go:build chaos

package e2e

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestChaosEarlyLeavers sends subscribe requests to the worker itself (see
// edgeDirect) from clients that close their connection soon after sending
// it: half of them 0–30 ms after, before or just as their answer begins,
// the other half 30–300 ms after, once the hub holds their stream. Every
// one must be gone from the hub within a few heartbeats: a stream that
// outlives its client costs a write per fan-out until MAX_STREAM_MS. The
// first half is the departure the front door once needed a pipe of its
// own for (docs/PLATFORM.md fact 6: while the hub's client streams were
// JavaScript ReadableStreams, 1,998 of 2,000 such clients stayed
// subscribed without it); the second makes sure the hub did hold some of
// them meanwhile, so that the test cannot pass by refusing or never
// seeing them.
//
// Knob: CHAOS_EARLY_LEAVERS (default 500).
func TestChaosEarlyLeavers(t *testing.T) {
	report.Lock()
	report.ran = append(report.ran, "EarlyLeavers")
	report.Unlock()
	n := chaosEnvInt("CHAOS_EARLY_LEAVERS", 500)
	edge := newEdgeDirect(t)
	st0, err := edge.stats()
	if err != nil {
		t.Fatal(err)
	}
	before := st0["subscribers"]
	topic := uniqueTopic(t, "early-leavers")
	host := strings.TrimPrefix(edge.url(), "http://")
	request := fmt.Sprintf("GET /.well-known/mercure?topic=%s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", url.QueryEscape(topic), host)

	// The hub's count while the clients come and go.
	var peak atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if s := int64(edge.subscribers()); s > peak.Load() {
				peak.Store(s)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	var wg sync.WaitGroup
	var dialErrs atomic.Int64
	slots := make(chan struct{}, 50)
	for i := 0; i < n; i++ {
		wg.Add(1)
		slots <- struct{}{}
		leave := time.Duration(rand.IntN(31)) * time.Millisecond
		if i%2 == 1 {
			leave = time.Duration(30+rand.IntN(271)) * time.Millisecond
		}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			conn, err := net.DialTimeout("tcp", host, 5*time.Second)
			if err != nil {
				dialErrs.Add(1)
				return
			}
			defer conn.Close()
			if _, err := conn.Write([]byte(request)); err != nil {
				dialErrs.Add(1)
				return
			}
			time.Sleep(leave)
		}()
	}
	wg.Wait()
	left := time.Now()
	// The requests are still on their way in when their clients are gone:
	// wait for the hub to hold them, then for it to let them go (and stay
	// so for a second).
	waitFor(10*time.Second, func() bool { return float64(peak.Load()) > before })
	gone := func() bool {
		s := edge.subscribers()
		return s >= 0 && s <= before
	}
	ok := waitFor(30*time.Second, func() bool {
		if !gone() {
			return false
		}
		time.Sleep(time.Second)
		return gone()
	})
	close(stop)
	<-sampled
	st1, err := edge.stats()
	if err != nil {
		t.Fatal(err)
	}
	after := st1["subscribers"]
	t.Logf("REPORT early leavers: %d clients left 0–30 or 30–300 ms after their request (%d could not connect); the hub held up to %d subscribers (%v before) and wrote %v chunks meanwhile; %v after %s",
		n, dialErrs.Load(), peak.Load(), before, st1["writes"]-st0["writes"], after, time.Since(left).Round(100*time.Millisecond))
	reportRow("early leavers: hub held at most", peak.Load())
	if dialErrs.Load() > int64(n/10) {
		t.Errorf("%d of %d clients could not send their request", dialErrs.Load(), n)
	}
	if float64(peak.Load()) <= before {
		t.Errorf("the hub never held any of the %d clients (peak %d, %v before): the test saw nothing to depart", n, peak.Load(), before)
	}
	if !ok {
		t.Errorf("%v subscribers 30 s after %d clients left early, want ≤ %v as before they came: streams outlive their clients", after, n, before)
	}
}
