//go:build chaos

package e2e

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// floodResult is what a flood of subscribe requests got back.
type floodResult struct {
	mu       sync.Mutex
	held     []*http.Response // accepted streams, kept open and unread
	statuses map[int]int
	bodies   map[int]string // one refusal body per status
	noRetry  int            // refusals (429, 503) without Retry-After
	errs     []string       // transport errors (no answer)
	took     time.Duration
}

func (r *floodResult) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, resp := range r.held {
		resp.Body.Close()
	}
	r.held = nil
}

func (r *floodResult) refused() int {
	n := 0
	for code, c := range r.statuses {
		if code != 200 {
			n += c
		}
	}
	return n
}

// flood opens n subscribe streams on u as fast as `parallel` dialers can,
// each on its own connection, and keeps the accepted ones open without
// reading them (a client that connects and never reads, the cheapest
// attack).
func flood(u string, n, parallel int) *floodResult {
	res := &floodResult{statuses: map[int]int{}, bodies: map[int]string{}}
	tr := &http.Transport{DisableKeepAlives: true,
		DialContext: (&net.Dialer{Timeout: 30 * time.Second}).DialContext}
	client := http.Client{Transport: tr, Timeout: 0}
	start := time.Now()
	var wg sync.WaitGroup
	var next atomic.Int64
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				req, _ := http.NewRequest(http.MethodGet, u, nil)
				req.Header.Set("Accept", "text/event-stream")
				resp, err := client.Do(req)
				if err != nil {
					res.mu.Lock()
					res.errs = append(res.errs, err.Error())
					res.mu.Unlock()
					continue
				}
				if resp.StatusCode == 200 {
					res.mu.Lock()
					res.statuses[200]++
					res.held = append(res.held, resp)
					res.mu.Unlock()
					continue
				}
				body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
				resp.Body.Close()
				res.mu.Lock()
				res.statuses[resp.StatusCode]++
				if _, ok := res.bodies[resp.StatusCode]; !ok {
					res.bodies[resp.StatusCode] = strings.TrimSpace(string(body))
				}
				if (resp.StatusCode == 429 || resp.StatusCode == 503) && resp.Header.Get("Retry-After") == "" {
					res.noRetry++
				}
				res.mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.took = time.Since(start)
	return res
}

// steadyStream is a subscriber that was connected before a flood: one
// soakSub that holds its connection (and resumes if it is cut) while a
// publisher sends numbered, timestamped events, until every event arrived.
type steadyStream struct {
	sub  *soakSub
	st   *soakState
	done chan struct{}
	pub  chan error
	stop chan struct{}
	n    atomic.Int64
}

// startSteady publishes a start event on publishTo, connects a subscriber
// on subscribeTo (or edge, when not nil) resuming after it, and publishes
// rate events/s until stopped.
func startSteady(t *testing.T, name, publishTo, subscribeTo string, edge *edgeDirect, topic string, rate int) *steadyStream {
	t.Helper()
	prefix := fmt.Sprintf("%s-%s-", name, chaosRun)
	startID := prefix + "start"
	if _, err := soakPublish(publishTo, url.Values{"topic": {topic}, "id": {startID}, "data": {"start"}}); err != nil {
		t.Fatal(err)
	}
	s := &steadyStream{
		sub:  &soakSub{name: name, base: subscribeTo, edge: edge, path: chaosTopicURL("", topic), lastID: startID, prefix: prefix, statuses: map[int]int{}},
		st:   &soakState{t0: time.Now(), win: time.Hour, windows: make([]soakWindow, 1)},
		done: make(chan struct{}), pub: make(chan error, 1), stop: make(chan struct{}),
	}
	s.st.final.Store(-1)
	go func() {
		defer close(s.done)
		s.sub.run(s.st, 10*time.Minute, 10*time.Minute, time.Now().Add(10*time.Minute))
	}()
	// Publish only once the subscriber is connected, so that every event
	// it gets is live and its latency counts.
	if !waitFor(20*time.Second, func() bool { s.st.mu.Lock(); defer s.st.mu.Unlock(); return s.st.windows[0].conns[0] > 0 }) {
		t.Fatalf("%s: subscriber not connected after 20 s", name)
	}
	go func() {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-s.stop:
				s.pub <- nil
				return
			case <-tick.C:
			}
			form := url.Values{"topic": {topic}, "id": {prefix + strconv.Itoa(n)},
				"data": {strconv.Itoa(n) + " " + strconv.FormatInt(time.Now().UnixNano(), 10)}}
			if _, err := soakPublish(publishTo, form); err != nil {
				s.pub <- err
				return
			}
			s.n.Add(1)
		}
	}()
	return s
}

// finish stops the publisher, lets the subscriber drain to the last event
// and checks it got every event once, in order; it returns the worst
// publish→receive latency.
func (s *steadyStream) finish(t *testing.T) time.Duration {
	t.Helper()
	close(s.stop)
	if err := <-s.pub; err != nil {
		t.Errorf("%s publisher: %v", s.sub.name, err)
	}
	n := int(s.n.Load())
	s.st.final.Store(int64(n - 1))
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("%s: did not receive the last of %d events within 60 s", s.sub.name, n)
	}
	sub := s.sub
	if sub.gaps > 0 || sub.dups > 0 || sub.missed > 0 || sub.next != n {
		t.Errorf("%s: ends at event %d of %d, gaps %d (first %s), duplicates %d, mercure-missed %d, connections %d, statuses %v",
			sub.name, sub.next, n, sub.gaps, sub.firstGap, sub.dups, sub.missed, sub.conns, sub.statuses)
	}
	lat := s.st.windows[0].lat[0]
	return pctl(lat, 1)
}

// processRSS samples a set of processes' summed VmRSS (KiB) every 100 ms
// until stopped, keeping the peak.
type processRSS struct {
	pids func() []int
	peak atomic.Int64
	stop chan struct{}
	done chan struct{}
}

func sampleRSS(pids func() []int) *processRSS {
	p := &processRSS{pids: pids, stop: make(chan struct{}), done: make(chan struct{})}
	p.peak.Store(p.now())
	go func() {
		defer close(p.done)
		for {
			select {
			case <-p.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if kb := p.now(); kb > p.peak.Load() {
				p.peak.Store(kb)
			}
		}
	}()
	return p
}

func (p *processRSS) now() int64 {
	var sum int64
	for _, pid := range p.pids() {
		sum += procKB(pid, "VmRSS:")
	}
	return sum
}

func (p *processRSS) end() int64 {
	close(p.stop)
	<-p.done
	return p.peak.Load()
}

// TestChaosFloodOrigin starts an extra origin with a low --max-subscribers
// and opens many subscribe connections at once, none of which reads. The
// origin must accept exactly up to its limit and refuse every other one
// with 429, Retry-After and a message naming the limit (no 5xx, no reset);
// its memory growth per flood connection must stay under a stated bound; a
// subscriber connected before the flood must keep receiving every event
// during and after it, on time; after the flood leaves, the gauge, the
// goroutines and the descriptors return, and the next subscriber is
// accepted again.
//
// Knobs: CHAOS_FLOOD_CONNS (default 2000), CHAOS_FLOOD_LIMIT (the extra
// origin's --max-subscribers, default 200).
func TestChaosFloodOrigin(t *testing.T) {
	startSampler()
	report.Lock()
	report.ran = append(report.ran, "FloodOrigin")
	report.Unlock()
	n := chaosEnvInt("CHAOS_FLOOD_CONNS", 2000)
	limit := chaosEnvInt("CHAOS_FLOOD_LIMIT", 200)
	// Bounds: RSS growth per flood connection (each accepted stream holds a
	// goroutine, its buffers and a queue; each refused one is transient).
	const perConnKiB, perHeldKiB = 32, 192

	p := startTestOrigin(t, "origin-flood", "--jwt-key", jwtKey,
		"--history", "memory", "--heartbeat", "2s", "--feed-secret", "", "--max-subscribers", strconv.Itoa(limit))
	base := p.url
	topic := uniqueTopic(t, "chaos-flood-origin")
	steady := startSteady(t, "flood-origin-steady", base, base, nil, topic, 20)
	time.Sleep(500 * time.Millisecond)
	idle := mustScrape(t, base)
	pid := p.cmd.Process.Pid
	rss := sampleRSS(func() []int { return []int{pid} })
	baseKB := rss.now()

	res := flood(chaosTopicURL(base, topic), n, 200)
	during := mustScrape(t, base)
	heldKB := rss.now()
	time.Sleep(2 * time.Second) // the steady subscriber keeps receiving next to the held flood
	peakKB := rss.end()
	accepted := res.statuses[200]
	res.close()

	// The limit: exactly limit−1 flood streams (the steady one holds a
	// slot), every other one refused with 429, Retry-After and the reason.
	if accepted != limit-1 {
		t.Errorf("origin accepted %d flood streams with --max-subscribers %d and one subscriber already connected, want %d", accepted, limit, limit-1)
	}
	if got := during["edge_sse_origin_subscribers"]; got != float64(limit) {
		t.Errorf("origin subscriber gauge during the flood: %v, want %d", got, limit)
	}
	if len(res.errs) > 0 {
		t.Errorf("%d flood connections got no answer, e.g. %s", len(res.errs), res.errs[0])
	}
	if res.statuses[429] != n-accepted-len(res.errs) || res.noRetry > 0 {
		t.Errorf("refusals: statuses %v, %d without Retry-After; want %d × 429 with Retry-After", res.statuses, res.noRetry, n-accepted)
	}
	if b := res.bodies[429]; !strings.Contains(b, "maximum number of subscriptions") || !strings.Contains(b, fmt.Sprintf("limit %d", limit)) {
		t.Errorf("429 body %q does not say the hub is full and name its limit %d", b, limit)
	}
	// Bounded memory.
	perConn := float64(peakKB-baseKB) / float64(n)
	perHeld := float64(heldKB-baseKB) / float64(max(1, accepted))
	if perConn > perConnKiB {
		t.Errorf("origin RSS grew %d KiB for %d flood connections: %.1f KiB each, bound %d KiB", peakKB-baseKB, n, perConn, perConnKiB)
	}
	if perHeld > perHeldKiB {
		t.Errorf("origin RSS with %d held flood streams: %.1f KiB each, bound %d KiB", accepted, perHeld, perHeldKiB)
	}

	// After the flood: the slots come back.
	var after map[string]float64
	if !waitFor(10*time.Second, func() bool {
		after = mustScrape(t, base)
		return after["edge_sse_origin_subscribers"] == 1 && after["go_goroutines"] <= idle["go_goroutines"]+20 && after["process_open_fds"] <= idle["process_open_fds"]+20
	}) {
		t.Errorf("10 s after the flood left: subscribers %v (want 1), goroutines %v (before %v), open fds %v (before %v)",
			after["edge_sse_origin_subscribers"], after["go_goroutines"], idle["go_goroutines"], after["process_open_fds"], idle["process_open_fds"])
	}
	if c, err := dialSSE(chaosTopicURL(base, topic), nil); err != nil {
		t.Errorf("a subscriber after the flood: %v, want accepted", err)
	} else {
		c.close()
	}
	worst := steady.finish(t)
	if worst > 2*time.Second {
		t.Errorf("the subscriber connected before the flood waited up to %s for an event (bound 2s)", worst)
	}
	t.Logf("REPORT flood origin: %d connections in %s: %d accepted, refused %v (%q); RSS %.1f → peak %.1f MiB (%.1f KiB per flood connection, %.1f KiB per held stream); goroutines %v → %v → %v; steady subscriber: %d events, worst latency %s",
		n, res.took.Round(time.Millisecond), accepted, res.statuses, res.bodies[429], float64(baseKB)/1024, float64(peakKB)/1024, perConn, perHeld,
		idle["go_goroutines"], during["go_goroutines"], after["go_goroutines"], steady.sub.next, worst.Round(time.Millisecond))
	reportRow("flood origin: conns/accepted/429", fmt.Sprintf("%d/%d/%d (limit %d)", n, accepted, res.statuses[429], limit))
	reportRow("flood origin RSS KiB per conn/held", fmt.Sprintf("%.1f/%.1f", perConn, perHeld))
	reportRow("flood origin steady worst latency", worst.Round(time.Millisecond))
}

// TestChaosFloodEdge opens many subscribe streams at once through the edge
// (the worker itself, see edgeDirectURL), none of which reads. Every one
// must be accepted or refused clearly (a 4xx, or 503 with Retry-After and a
// reason; no reset, no other 5xx); the workerd processes' RSS and the hub's
// Wasm memory must grow by less than a stated bound per stream; a
// subscriber connected before the flood must keep receiving every event on
// time; when the flood leaves, the hub's subscriber count must return
// within 30 s.
//
// Knob: CHAOS_FLOOD_EDGE_CONNS (default 1000).
func TestChaosFloodEdge(t *testing.T) {
	startSampler()
	report.Lock()
	report.ran = append(report.ran, "FloodEdge")
	report.Unlock()
	n := chaosEnvInt("CHAOS_FLOOD_EDGE_CONNS", 1000)
	// Bounds per stream. workerd's processes: the hub's client stream is
	// a native IdentityTransformStream (docs/PLATFORM.md fact 24: a
	// JavaScript ReadableStream kept ≈ 90 B of JS heap per chunk written,
	// in the isolate Cloudflare counts), which the front door returns as
	// it is (fact 6). Measured here on an almost fresh workerd (the
	// suite's order follows file names), where the first thousand streams
	// also grow workerd's arenas: 189 KiB per stream (2026-12-04). The
	// bound was 290 KiB with the front door's pipe and a JavaScript
	// stream, 360 with the pipe and the native stream; it keeps ≈ 30 KiB
	// of margin. The Go side in Wasm holds a client and its matcher.
	const perConnKiB, wasmPerConnKiB = 220, 16
	edge := newEdgeDirect(t)
	topic := uniqueTopic(t, "chaos-flood-edge")

	before, err := edge.stats()
	if err != nil {
		t.Fatal(err)
	}
	steady := startSteady(t, "flood-edge-steady", sys.originURL, "", edge, topic, 20)
	time.Sleep(500 * time.Millisecond)
	wpid := sys.wrangler.cmd.Process.Pid
	rss := sampleRSS(func() []int { return groupPIDs(wpid, "workerd") })
	baseKB := rss.now()
	wasm0 := before["wasmMemoryBytes"]

	res := flood(chaosTopicURL(edge.url(), topic), n, 100)
	during, err := edge.stats()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	peakKB := rss.end()
	accepted := res.statuses[200]
	res.close()
	closed := time.Now()

	if len(res.errs) > 0 {
		t.Errorf("%d flood connections got no answer, e.g. %s", len(res.errs), res.errs[0])
	}
	for code, c := range res.statuses {
		switch {
		case code == 200:
		case code == 503 || code == 429:
			if res.noRetry > 0 || res.bodies[code] == "" {
				t.Errorf("%d × %d without Retry-After or reason (%d without Retry-After, body %q)", c, code, res.noRetry, res.bodies[code])
			}
		case code >= 400 && code < 500 && res.bodies[code] != "":
		default:
			t.Errorf("%d × %d %q: want 200, a 4xx with a reason, or 503 with Retry-After", c, code, res.bodies[code])
		}
	}
	if got := during["subscribers"]; got < before["subscribers"]+float64(accepted) {
		t.Errorf("edge hub counts %v subscribers with %d flood streams held (plus %v before and the steady one)", got, accepted, before["subscribers"])
	}
	perConn := float64(peakKB-baseKB) / float64(max(1, accepted))
	wasmPer := (during["wasmMemoryBytes"] - wasm0) / 1024 / float64(max(1, accepted))
	if perConn > perConnKiB {
		t.Errorf("workerd RSS grew %d KiB for %d flood streams: %.1f KiB each, bound %d KiB", peakKB-baseKB, accepted, perConn, perConnKiB)
	}
	if wasmPer > wasmPerConnKiB {
		t.Errorf("edge Wasm memory grew %.1f → %.1f MiB for %d flood streams: %.1f KiB each, bound %d KiB", mib(wasm0), mib(during["wasmMemoryBytes"]), accepted, wasmPer, wasmPerConnKiB)
	}

	// The flood left: the hub must let go of its streams.
	want := before["subscribers"] + 1 // the steady subscriber
	var left float64
	back := func() bool { left = edge.subscribers(); return left == want }
	if !waitFor(30*time.Second, back) {
		reportRow("flood edge streams outliving their client 30 s", left-want)
		st, err := edge.stats()
		t.Errorf("edge hub counts %v subscribers %s after the %d flood streams closed, want %v (stats %v, err %v)", left, time.Since(closed).Round(time.Second), accepted, want, st, err)
	}
	leftIn := time.Since(closed)
	worst := steady.finish(t)
	if worst > 3*time.Second {
		t.Errorf("the subscriber connected before the flood waited up to %s for an event (bound 3s)", worst)
	}
	if err := healthy(); err != nil {
		t.Error(err)
	}
	if n := edge.reloads(); n > 0 {
		t.Errorf("wrangler reloaded the worker %d times during the flood (worker/build rewritten by a build): the counts above are not the flood's", n)
	}
	t.Logf("REPORT flood edge: %d connections in %s: statuses %v; workerd RSS %.1f → peak %.1f MiB (%.1f KiB per stream); Wasm %.1f → %.1f MiB; hub back to %v subscribers after %s; steady subscriber: %d events, worst latency %s",
		n, res.took.Round(time.Millisecond), res.statuses, float64(baseKB)/1024, float64(peakKB)/1024, perConn, mib(wasm0), mib(during["wasmMemoryBytes"]),
		left, leftIn.Round(100*time.Millisecond), steady.sub.next, worst.Round(time.Millisecond))
	reportRow("flood edge: conns/accepted", fmt.Sprintf("%d/%d in %s", n, accepted, res.took.Round(time.Millisecond)))
	reportRow("flood edge KiB per stream (workerd/Wasm)", fmt.Sprintf("%.1f/%.1f", perConn, wasmPer))
	reportRow("flood edge steady worst latency", worst.Round(time.Millisecond))
}

// TestChaosMillionTopics sends one subscribe request naming a million
// topics (a request line of about 7 MB, far past any header limit) to the
// origin and to the edge. TestChaosBadInput already covers 100k selectors,
// a 1 MiB topic and a 1 MiB Last-Event-ID; this is the million. Each side
// must refuse it promptly, with a 4xx or by closing the connection while
// the request is still being sent, never a 5xx or a stream, and stay
// healthy, its memory growth under a stated bound.
func TestChaosMillionTopics(t *testing.T) {
	startSampler()
	report.Lock()
	report.ran = append(report.ran, "MillionTopics")
	report.Unlock()
	const growthKiB = 64 << 10 // RSS growth allowed for the one request
	var q strings.Builder
	q.WriteString("topic=0")
	for i := 1; i < 1_000_000; i++ {
		q.WriteString("&topic=")
		q.WriteString(strconv.Itoa(i))
	}
	query := q.String()
	tried, accepted, fivexx := 0, 0, 0
	for _, side := range []struct {
		name, base string
		pids       func() []int
	}{
		{"origin", sys.originURL, func() []int { return []int{sys.origin.cmd.Process.Pid} }},
		{"edge", sys.edgeURL, func() []int { return groupPIDs(sys.wrangler.cmd.Process.Pid, "workerd") }},
	} {
		tried++
		rss := sampleRSS(side.pids)
		baseKB := rss.now()
		client := http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		start := time.Now()
		resp, err := client.Get(side.base + "/.well-known/mercure?" + query)
		took := time.Since(start)
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the 7 MB URL
		}
		time.Sleep(500 * time.Millisecond)
		peakGrowth := rss.end() - baseKB
		outcome := "connection closed"
		switch {
		case err != nil && (strings.Contains(err.Error(), "reset by peer") || strings.Contains(err.Error(), "broken pipe") || strings.Contains(err.Error(), "EOF")):
			t.Logf("%s: connection closed while the request was sent (%v) after %s: a refusal", side.name, err, took.Round(time.Millisecond))
		case err != nil:
			t.Errorf("%s: %v after %s, want a 4xx or a closed connection", side.name, err, took.Round(time.Millisecond))
		default:
			outcome = strconv.Itoa(resp.StatusCode)
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
			resp.Body.Close()
			switch {
			case resp.StatusCode >= 500:
				fivexx++
				t.Errorf("%s: %s %q, want a 4xx", side.name, resp.Status, body)
			case resp.StatusCode < 400:
				accepted++
				t.Errorf("%s: %s, want a 4xx", side.name, resp.Status)
			default:
				t.Logf("%s: %s %q after %s", side.name, resp.Status, strings.TrimSpace(string(body)), took.Round(time.Millisecond))
			}
		}
		if took > 10*time.Second {
			t.Errorf("%s took %s to refuse a million topics", side.name, took)
		}
		if peakGrowth > growthKiB {
			t.Errorf("%s RSS grew %d KiB for one million-topic request (bound %d KiB)", side.name, peakGrowth, growthKiB)
		}
		reportRow("million topics → "+side.name, fmt.Sprintf("%s, RSS +%d KiB", outcome, peakGrowth))
	}
	if err := healthy(); err != nil {
		t.Error(err)
	}
	report.Lock()
	report.badInputs += tried
	report.badAccepted += accepted
	report.bad5x += fivexx
	report.Unlock()
}
