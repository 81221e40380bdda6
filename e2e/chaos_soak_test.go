//go:build chaos

package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The two sides a soak subscriber connects to.
const (
	sideOrigin = iota
	sideEdge
)

var sideNames = [2]string{"origin", "edge"}

// TestChaosSoak is the churn soak: subscribers, half direct to the origin
// and half through the edge, connect, receive, leave and come back with
// Last-Event-ID, over and over, while a publisher sends a numbered stream
// at a steady rate. Every second it samples the origin (goroutines, open
// descriptors, heap, RSS, subscriber gauge), the workerd processes' RSS and
// the edge hub (subscribers, Wasm memory), and it measures the
// publish→receive latency of live events per window.
//
// After the warm-up, memory, goroutines and descriptors must stay flat
// (last window ≤ 1.5× the first post-warm-up window plus a small slack,
// and growth per connection made in between under a per-connection bound
// that a leak of one goroutine, one descriptor or a few KiB per connection
// exceeds), the p99 latency must not be much worse in every window of the
// last half of the measured windows than in the first half (see the
// check), every subscriber must end with the whole sequence (no gap, no
// duplicate across all its resumes), and once everyone left, the origin's
// subscriber gauge, goroutines and descriptors and the edge's subscriber
// count must return to their idle values.
//
// The edge half connects to the worker's own socket inside wrangler dev,
// not through wrangler's dev-only proxy (see edgeDirectURL).
//
// Knobs: CHAOS_SOAK_SUBS concurrent subscribers, half per side (default
// 400), CHAOS_SOAK_SECONDS (default 40), CHAOS_SOAK_RATE events/s (default
// 10), CHAOS_SOAK_HOLD_MS longest hold of one connection (default 4000).
func TestChaosSoak(t *testing.T) {
	startSampler()
	report.Lock()
	report.ran = append(report.ran, "Soak")
	report.Unlock()
	nSubs := max(2, chaosEnvInt("CHAOS_SOAK_SUBS", 400))
	dur := time.Duration(chaosEnvInt("CHAOS_SOAK_SECONDS", 40)) * time.Second
	rate := chaosEnvInt("CHAOS_SOAK_RATE", 10)
	holdMax := time.Duration(chaosEnvInt("CHAOS_SOAK_HOLD_MS", 4000)) * time.Millisecond
	holdMin := holdMax / 8
	win := max(5*time.Second, dur/10)
	const warmWindows = 2
	if dur < (warmWindows+2)*win {
		t.Fatalf("CHAOS_SOAK_SECONDS=%d is too short: need at least %s for warm-up and two measured windows", int(dur/time.Second), (warmWindows+2)*win)
	}
	originURL, edge := sys.originURL, newEdgeDirect(t)
	topic := uniqueTopic(t, "chaos-soak")
	// Ids unique to this soak, not only to this process: with -count=N the
	// ids of an earlier soak are in the history, and publishing them again
	// is a 409 that soakPublish takes for its own earlier attempt.
	prefix := fmt.Sprintf("soak-%s-%s-", chaosRun, strconv.FormatInt(time.Now().UnixNano()%1e9, 36))

	// Idle state: no subscriber on either side (earlier tests' clients have
	// left), so that the baseline and the final counts are this test's own.
	// The edge hub may still hold streams of earlier tests that wrangler's
	// proxy never cancelled (see edgeDirectURL): then its count when the
	// soak starts is the one to return to.
	if !waitFor(20*time.Second, func() bool {
		m, err := scrapeMetrics(originURL)
		return err == nil && m["edge_sse_origin_subscribers"] == 0 && edge.subscribers() == 0
	}) && mustScrape(t, originURL)["edge_sse_origin_subscribers"] != 0 {
		t.Fatalf("origin not idle 20 s after earlier tests: %v subscribers", mustScrape(t, originURL)["edge_sse_origin_subscribers"])
	}
	base := takeSoakSample(originURL, edge)
	if base.err != nil {
		t.Fatal(base.err)
	}
	if base.edgeSubs != 0 {
		st, _ := edge.stats()
		t.Logf("the edge hub holds %v subscribers before the soak, 20 s after earlier tests' clients left (stats %v): the soak's count returns to that", base.edgeSubs, st)
	}

	startID := prefix + "start"
	if _, err := soakPublish(originURL, url.Values{"topic": {topic}, "id": {startID}, "data": {"start"}}); err != nil {
		t.Fatal(err)
	}

	st := &soakState{t0: time.Now(), win: win}
	st.final.Store(-1)
	nWindows := int(dur / win)
	st.windows = make([]soakWindow, nWindows+1)
	subs := make([]*soakSub, nSubs)
	var subsDone sync.WaitGroup
	drainBy := time.Now().Add(dur + 90*time.Second)
	for i := range subs {
		side := i % 2
		subs[i] = &soakSub{name: fmt.Sprintf("%s-%d", sideNames[side], i/2), side: side, path: chaosTopicURL("", topic),
			base: originURL, lastID: startID, prefix: prefix, statuses: map[int]int{}}
		if side == sideEdge {
			subs[i].edge = edge
		}
		subsDone.Add(1)
		go func() {
			defer subsDone.Done()
			// Spread the first connections over two seconds.
			time.Sleep(time.Duration(rand.Int64N(int64(2 * time.Second))))
			subs[i].run(st, holdMin, holdMax, drainBy)
		}()
	}

	// The publisher: one event at a time, numbered, with its send time.
	var published atomic.Int64
	pubErr := make(chan error, 1)
	go func() {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		end := st.t0.Add(dur)
		for n := 0; time.Now().Before(end); n++ {
			<-tick.C
			form := url.Values{"topic": {topic}, "id": {prefix + strconv.Itoa(n)},
				"data": {strconv.Itoa(n) + " " + strconv.FormatInt(time.Now().UnixNano(), 10)}}
			if _, err := soakPublish(originURL, form); err != nil {
				pubErr <- err
				return
			}
			published.Add(1)
		}
		pubErr <- nil
	}()

	// The sampler, until the publisher stops.
	sampleStop := make(chan struct{})
	sampleDone := make(chan struct{})
	go func() {
		defer close(sampleDone)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-sampleStop:
				return
			case <-tick.C:
			}
			s := takeSoakSample(originURL, edge)
			if s.err != nil {
				st.sampleErrs.Add(1)
				continue
			}
			st.addSample(s)
		}
	}()

	perr := <-pubErr
	close(sampleStop)
	<-sampleDone
	nPub := int(published.Load())
	st.final.Store(int64(nPub - 1)) // subscribers now drain to the last event and leave
	if perr != nil {
		t.Errorf("publisher: %v", perr)
	}
	subsDone.Wait()
	leftAt := time.Now()

	// Everyone left: the gauges must come back to idle.
	var after soakSample
	originIdle := waitFor(15*time.Second, func() bool {
		after = takeSoakSample(originURL, edge)
		return after.err == nil && after.originSubs == 0 &&
			after.goroutines <= base.goroutines+20 && after.fds <= base.fds+20
	})
	originIdleIn := time.Since(leftAt)
	// The edge: within 30 s. (A stream whose client left before its
	// response began used to stay open until MAX_STREAM_MS ended it;
	// workerd now errors the hub's native client stream, and the check
	// allows no such stream.)
	var edgeLeft float64
	edgeIdle := waitFor(max(0, 30*time.Second-time.Since(leftAt)), func() bool {
		edgeLeft = edge.subscribers()
		return edgeLeft >= 0 && edgeLeft <= base.edgeSubs
	})
	edgeIdleIn := time.Since(leftAt)
	reportRow("soak edge streams outliving their client 30 s", max(0, edgeLeft-base.edgeSubs))
	if !originIdle {
		t.Errorf("origin not idle 15 s after every subscriber left: subscribers %v (want 0), goroutines %v (idle before: %v), open fds %v (idle before: %v)",
			after.originSubs, after.goroutines, base.goroutines, after.fds, base.fds)
	}
	if !edgeIdle {
		st, err := edge.stats()
		t.Errorf("edge hub still counts %v subscribers %s after every subscriber left, want %v, its count before the soak (stats %v, err %v)",
			edgeLeft, edgeIdleIn.Round(time.Second), base.edgeSubs, st, err)
	}

	// Sequences: every subscriber, over all its resumes, got 0..nPub-1 once, in order.
	var conns [2]int
	var gaps, dups, missed, unfinished, dialErrs, refused int
	var abandoned [2]int
	for _, s := range subs {
		abandoned[s.side] += s.abandoned
		conns[s.side] += s.conns
		gaps += s.gaps
		dups += s.dups
		missed += s.missed
		dialErrs += s.dialErrs
		for code, n := range s.statuses {
			if code != 200 {
				refused += n
			}
		}
		if s.next != nPub {
			unfinished++
		}
		if s.gaps > 0 || s.dups > 0 || s.missed > 0 || s.next != nPub {
			t.Errorf("%s: %d connections, ends at event %d of %d, gaps %d (first %s), duplicates %d, mercure-missed %d, statuses %v",
				s.name, s.conns, s.next, nPub, s.gaps, s.firstGap, s.dups, s.missed, s.statuses)
		}
	}
	if n := edge.reloads(); n > 0 {
		t.Logf("wrangler reloaded the worker %d times during the soak (worker/build rewritten by a build): the edge side followed it to its new port", n)
	}
	t.Logf("requests left before their answer came (hold shorter than the connect): origin %d, edge %d", abandoned[0], abandoned[1])
	if dialErrs > 0 || refused > 0 {
		t.Logf("connection attempts that failed: %d dial errors, %d refused (reconnected; the sequence checks above decide)", dialErrs, refused)
	}

	// The per-window table.
	st.mu.Lock()
	defer st.mu.Unlock()
	ws := st.windows[:nWindows] // the last, partial window is left out
	var b strings.Builder
	fmt.Fprintf(&b, "soak: %d subscribers (%d per side), %s, %d events/s, hold %s–%s, windows of %s (first %d are warm-up)\n",
		nSubs, nSubs/2, dur, rate, holdMin, holdMax, win, warmWindows)
	fmt.Fprintf(&b, "%4s %5s %11s %11s %6s %5s %8s %8s %8s %9s %8s %15s %15s\n",
		"win", "t(s)", "conns o/e", "subs o/e", "gorout", "fds", "heapMiB", "goalMiB", "rssMiB", "workerdMiB", "wasmMiB", "p50/p99 ms o", "p50/p99 ms e")
	for i, w := range ws {
		mx := w.peak()
		fmt.Fprintf(&b, "%4d %5.0f %5d/%-5d %5.0f/%-5.0f %6.0f %5.0f %8.1f %8.1f %8.1f %9.1f %8.1f %15s %15s\n",
			i, (time.Duration(i+1) * win).Seconds(), w.conns[0], w.conns[1], mx.originSubs, mx.edgeSubs, mx.goroutines, mx.fds,
			mib(mx.heapInuse), mib(mx.nextGC), mib(mx.rss), float64(mx.workerdKB)/1024, mib(mx.wasmBytes),
			pctls(w.lat[0]), pctls(w.lat[1]))
	}
	t.Log("\n" + b.String())
	if n := st.sampleErrs.Load(); n > 0 {
		t.Logf("%d samples failed", n)
	}
	// The bounds below compare the first measured window with the last:
	// those must have samples. Another window may have none when the
	// machine stalls (a sample waits up to 10 s for the edge: at CPU
	// pressure 90%, the edge answered nothing for ~20 s once, windows 2-5
	// of a run, the origin's p50 rising to 659 ms with it); that is logged.
	for i, w := range ws {
		if len(w.samples) > 0 {
			continue
		}
		if i == warmWindows || i == len(ws)-1 {
			t.Fatalf("window %d has no sample: the sampler could not reach the origin or the edge", i)
		}
		t.Logf("window %d has no sample: the sampler could not reach the origin or the edge (its row shows zeros)", i)
	}

	first, last := ws[warmWindows].peak(), ws[len(ws)-1].peak()
	between := 0 // connections made from the first measured window to the last
	var betweenSide [2]int
	for _, w := range ws[warmWindows+1:] {
		between += w.conns[0] + w.conns[1]
		betweenSide[0] += w.conns[0]
		betweenSide[1] += w.conns[1]
	}
	// Flat: last ≤ 1.5 × first + slack, and the growth per connection made
	// in between stays under perConn. A leak of one goroutine or one
	// descriptor per connection, or of a few KiB of heap per connection,
	// breaks perConn over the thousands of connections of the short form.
	type bound struct {
		name        string
		first, last float64
		slack       float64
		perConn     float64 // growth per connection allowed
		conns       int
		unit        string
	}
	bounds := []bound{
		{"origin goroutines", first.goroutines, last.goroutines, 50, 0.1, betweenSide[0], ""},
		{"origin open fds", first.fds, last.fds, 50, 0.1, betweenSide[0], ""},
		{"origin heap goal", first.nextGC, last.nextGC, 8 << 20, 2048, betweenSide[0], "B"},
		{"origin heap in use", first.heapInuse, last.heapInuse, 8 << 20, 2048, betweenSide[0], "B"},
		{"origin RSS", first.rss, last.rss, 16 << 20, 4096, betweenSide[0], "B"},
		// workerd's RSS is still growing towards its plateau (V8's heap)
		// during a short run: per connection, only a leak of about a
		// stream's worth is told from that; over a long run, the flat bound
		// catches a few KiB per connection. The Wasm memory, Go's heap in
		// the hub, grows in steps of a few MiB.
		{"workerd RSS", float64(first.workerdKB) * 1024, float64(last.workerdKB) * 1024, 48 << 20, 64 << 10, betweenSide[1], "B"},
		{"edge Wasm memory", first.wasmBytes, last.wasmBytes, 8 << 20, 4096, betweenSide[1], "B"},
	}
	for _, bd := range bounds {
		limit := 1.5*bd.first + bd.slack
		growth := bd.last - bd.first
		per := growth / float64(max(1, bd.conns))
		if bd.last > limit {
			t.Errorf("%s not flat: %s in the first measured window, %s in the last (bound 1.5× + %s = %s)",
				bd.name, human(bd.first, bd.unit), human(bd.last, bd.unit), human(bd.slack, bd.unit), human(limit, bd.unit))
		}
		if per > bd.perConn && growth > bd.slack/4 {
			t.Errorf("%s grows with connections: %s → %s over %d connections = %s per connection (bound %s)",
				bd.name, human(bd.first, bd.unit), human(bd.last, bd.unit), bd.conns, human(per, bd.unit), human(bd.perConn, bd.unit))
		}
	}
	// Latency: late in the run, the p99 is not much worse than early on.
	// On a loaded machine one window's p99 swings several-fold from one
	// window to the next (edge, load 26-35: 274 to 2,105 ms within one run,
	// its p50 within 66-510 ms), so one window against one window failed
	// on such swings. Early is the median of the p99s of the first half of
	// the measured windows, late the lowest p99 of the last half: a
	// latency that grows over the run raises every late window, a stall
	// from outside raises some. (With two measured windows, as before: the
	// first against the last.)
	measured := ws[warmWindows:]
	half := max(1, len(measured)/2)
	var early, late [2]time.Duration
	for side := range 2 {
		e, ok1 := windowP99s(measured[:half], side)
		l, ok2 := windowP99s(measured[len(measured)-half:], side)
		if !ok1 || !ok2 {
			t.Errorf("%s: a measured window without a live event received", sideNames[side])
			continue
		}
		early[side], late[side] = e[len(e)/2], l[0]
		if limit := max(3*early[side], early[side]+500*time.Millisecond); late[side] > limit {
			t.Errorf("%s latency p99 degraded: %v in the first %d measured windows (median %s), %v in the last %d (lowest %s; bound %s)",
				sideNames[side], e, half, early[side], l, half, late[side], limit)
		}
	}

	// Peak memory per subscriber, from the idle baseline.
	var peak soakSample
	for _, w := range ws {
		mx := w.peak()
		peak = peak.max(mx)
	}
	perSubOrigin := (peak.rss - base.rss) / 1024 / max(1, peak.originSubs)
	perSubWorkerd := float64(peak.workerdKB-base.workerdKB) / max(1, peak.edgeSubs)
	perSubWasm := (peak.wasmBytes - base.wasmBytes) / 1024 / max(1, peak.edgeSubs)

	t.Logf("REPORT soak: %d origin + %d edge connections in %s; %d events; gaps %d, duplicates %d, mercure-missed %d, unfinished %d; idle again after %s (origin), %s (edge)",
		conns[0], conns[1], dur, nPub, gaps, dups, missed, unfinished, originIdleIn.Round(100*time.Millisecond), edgeIdleIn.Round(100*time.Millisecond))
	reportRow("soak connections (origin+edge)", fmt.Sprintf("%d+%d in %s, %d subs", conns[0], conns[1], dur, nSubs))
	reportRow("soak events × subscribers", fmt.Sprintf("%d × %d, gaps %d, dups %d", nPub, nSubs, gaps, dups))
	reportRow("soak goroutines idle/start/end/idle", fmt.Sprintf("%.0f/%.0f/%.0f/%.0f", base.goroutines, first.goroutines, last.goroutines, after.goroutines))
	reportRow("soak origin fds idle/start/end/idle", fmt.Sprintf("%.0f/%.0f/%.0f/%.0f", base.fds, first.fds, last.fds, after.fds))
	reportRow("soak origin heap start/end MiB", fmt.Sprintf("%.1f/%.1f (goal %.1f/%.1f)", mib(first.heapInuse), mib(last.heapInuse), mib(first.nextGC), mib(last.nextGC)))
	reportRow("soak origin RSS start/end MiB", fmt.Sprintf("%.1f/%.1f", mib(first.rss), mib(last.rss)))
	reportRow("soak workerd RSS start/end MiB", fmt.Sprintf("%.1f/%.1f", float64(first.workerdKB)/1024, float64(last.workerdKB)/1024))
	reportRow("soak edge Wasm memory start/end MiB", fmt.Sprintf("%.1f/%.1f", mib(first.wasmBytes), mib(last.wasmBytes)))
	reportRow("soak p99 latency early/late (o; e)", fmt.Sprintf("%s/%s; %s/%s",
		early[0].Round(time.Millisecond), late[0].Round(time.Millisecond), early[1].Round(time.Millisecond), late[1].Round(time.Millisecond)))
	reportRow("peak memory per subscriber KiB", fmt.Sprintf("origin %.0f (%.0f subs), workerd %.0f, Wasm %.1f (%.0f subs)",
		perSubOrigin, peak.originSubs, perSubWorkerd, perSubWasm, peak.edgeSubs))
	report.Lock()
	report.published += nPub
	for _, s := range subs {
		report.delivered += s.received
	}
	report.lost += gaps
	report.duplicated += dups
	report.missed += missed
	report.Unlock()
}

// soakState is what the subscribers and the sampler of one soak share.
type soakState struct {
	t0         time.Time
	win        time.Duration
	final      atomic.Int64 // the last event's number once the publisher stopped, else -1
	sampleErrs atomic.Int64

	mu      sync.Mutex
	windows []soakWindow
}

// soakWindow is one time window of a soak.
type soakWindow struct {
	lat     [2][]time.Duration // live events' publish→receive latency, per side
	conns   [2]int             // connections opened, per side
	samples []soakSample
}

func (st *soakState) window() int {
	return min(int(time.Since(st.t0)/st.win), len(st.windows)-1)
}

func (st *soakState) addSample(s soakSample) {
	st.mu.Lock()
	w := &st.windows[st.window()]
	w.samples = append(w.samples, s)
	st.mu.Unlock()
}

func (st *soakState) addConn(side int) {
	st.mu.Lock()
	st.windows[st.window()].conns[side]++
	st.mu.Unlock()
}

func (st *soakState) addLatency(side int, d time.Duration) {
	st.mu.Lock()
	w := &st.windows[st.window()]
	w.lat[side] = append(w.lat[side], d)
	st.mu.Unlock()
}

// windowP99s returns the p99 latency of side in each of ws, in increasing
// order; ok is false when a window has no latency.
func windowP99s(ws []soakWindow, side int) (p99s []time.Duration, ok bool) {
	for i := range ws {
		if len(ws[i].lat[side]) == 0 {
			return nil, false
		}
		p99s = append(p99s, pctl(ws[i].lat[side], 0.99))
	}
	slices.Sort(p99s)
	return p99s, true
}

// peak is the highest value of each series in the window.
func (w *soakWindow) peak() soakSample {
	var p soakSample
	for _, s := range w.samples {
		p = p.max(s)
	}
	return p
}
