//go:build chaos

package e2e

// A deploy at scale and the hub's CPU shedding, with clients that behave
// like a native EventSource: any answer but 200 is final, the delay
// between attempts is the stream's last retry: (3 s before any), and each
// attempt sends Last-Event-ID.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/e2e/internal/proc"
	"github.com/edge-sse/edge-sse/shared/sse"
)

// esClient is one EventSource-like subscriber.
type esClient struct {
	url    string
	client *http.Client

	mu       sync.Mutex
	ids      []string
	lastID   string
	retry    time.Duration
	opened   []time.Time // when each stream answered 200
	dialErrs int
	refused  string // the final answer, when not 200
	missed   int    // mercure-missed notices
	// lat, while measure is set, collects publish→receive latencies
	// (the events' data is their send time, UnixNano).
	measure bool
	lat     []time.Duration

	stop chan struct{}
	done chan struct{}
}

// esTransport is shared by every esClient: one connection per stream.
var esTransport = &http.Transport{
	DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
	MaxIdleConnsPerHost: 64,
}

func startES(u, lastID string) *esClient {
	c := &esClient{url: u, lastID: lastID, retry: 3 * time.Second, client: &http.Client{Transport: esTransport},
		stop: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c
}

func (c *esClient) loop() {
	defer close(c.done)
	for {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-c.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		final := c.once(ctx)
		cancel()
		if final {
			return
		}
		c.mu.Lock()
		wait := c.retry
		c.mu.Unlock()
		select {
		case <-c.stop:
			return
		case <-time.After(wait):
		}
	}
}

// once makes one attempt and reads its stream to the end; it reports
// whether the client gave up (a non-200 answer, or stopped).
func (c *esClient) once(ctx context.Context) bool {
	c.mu.Lock()
	last := c.lastID
	c.mu.Unlock()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	req.Header.Set("Accept", "text/event-stream")
	if last != "" {
		req.Header.Set("Last-Event-ID", last)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		c.mu.Lock()
		c.dialErrs++
		c.mu.Unlock()
		return ctx.Err() != nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b := make([]byte, 200)
		n, _ := resp.Body.Read(b)
		c.mu.Lock()
		c.refused = fmt.Sprintf("%s: %q", resp.Status, b[:n])
		c.mu.Unlock()
		return true
	}
	c.mu.Lock()
	c.opened = append(c.opened, time.Now())
	c.mu.Unlock()
	p := sse.NewParser(resp.Body, sse.Config{LastEventID: last})
	for p.Next() {
		c.mu.Lock()
		switch p.Kind() {
		case sse.KindRetry:
			c.retry = time.Duration(p.Retry()) * time.Millisecond
		case sse.KindEvent:
			e := p.Event()
			if e.Type == "mercure-missed" {
				c.missed++
			} else {
				c.ids = append(c.ids, e.ID)
				if c.measure {
					if ns, err := strconv.ParseInt(e.Data, 10, 64); err == nil {
						c.lat = append(c.lat, time.Since(time.Unix(0, ns)))
					}
				}
			}
			if e.ID != "" {
				c.lastID = e.ID
			}
		}
		c.mu.Unlock()
	}
	return ctx.Err() != nil
}

func (c *esClient) close() {
	close(c.stop)
	<-c.done
}

// openedSince reports whether a stream of c opened after t.
func (c *esClient) openedSince(t time.Time) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, at := range c.opened {
		if at.After(t) {
			return at, true
		}
	}
	return time.Time{}, false
}

func (c *esClient) last() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastID
}

// scaleRun is the worker, origin, publisher and clients of one test.
type scaleRun struct {
	t                 *testing.T
	name              string
	origin, addr, url string
	vars              []string
	worker            *process
	topic, prefix     string
	clients           []*esClient
	// direct subscribe to the origin itself: the latency baseline.
	direct []*esClient

	pubMu     sync.Mutex
	published []string
	pubStop   chan struct{}
	pubDone   chan error
}

// newScaleRun starts an origin of the test's own (memory history) and the
// worker on a fixed address, so that a restart keeps the clients' URL.
func newScaleRun(t *testing.T, name string, vars ...string) *scaleRun {
	origin, _ := startOwnOrigin(t, "origin-"+name)
	r := &scaleRun{t: t, name: name, origin: origin, addr: freeAddr(), vars: vars,
		topic: uniqueTopic(t, name), prefix: name + "-" + chaosRun + "-"}
	r.startWorker()
	t.Cleanup(func() { r.worker.stop() })
	return r
}

func (r *scaleRun) startWorker() {
	r.t.Helper()
	s, err := proc.Worker{Root: sys.root, LogDir: sys.logDir, Name: "wrangler-" + r.name, Addr: r.addr,
		Snapshot: filepath.Join(sys.logDir, "bundle-"+r.name), Persist: filepath.Join(sys.logDir, r.name+"-state"),
		Vars: append([]string{
			"ORIGIN_URL:" + r.origin,
			"FEED_SECRET:" + feedSecret,
			"STATS_TOKEN:" + operatorToken,
			"ALLOW_ANONYMOUS:true",
			"JWT_KEY:" + jwtKey,
		}, r.vars...)}.Start()
	if err != nil {
		r.t.Fatal(err)
	}
	r.worker = wrap(s)
	r.url = s.URL
}

// stats reads the worker's hub counters (an incoming request to the hub:
// it resets the hub's CPU account). A hub whose thread is saturated by
// fan-outs answers late (its requests wait between fan-outs), so a read
// that times out is tried again, for up to a minute.
func (r *scaleRun) stats() (m map[string]float64, err error) {
	for deadline := time.Now().Add(time.Minute); ; {
		if m, err = edgeStats(r.url); err == nil || time.Now().After(deadline) {
			return m, err
		}
		time.Sleep(time.Second)
	}
}

// connect opens n clients resuming after a start event, spread over
// spread, and waits until the hub holds them all.
func (r *scaleRun) connect(n int, spread time.Duration) {
	r.t.Helper()
	start := r.prefix + "start"
	if _, err := soakPublish(r.origin, url.Values{"topic": {r.topic}, "id": {start}, "data": {"start"}}); err != nil {
		r.t.Fatal(err)
	}
	u := chaosTopicURL(r.url, r.topic)
	for range min(100, n) {
		r.direct = append(r.direct, startES(chaosTopicURL(r.origin, r.topic), start))
	}
	for range n {
		r.clients = append(r.clients, startES(u, start))
		if spread > 0 {
			time.Sleep(spread / time.Duration(n))
		}
	}
	r.t.Cleanup(func() {
		for _, c := range r.direct {
			c.close()
		}
		for _, c := range r.clients {
			select {
			case <-c.stop:
			default:
				c.close()
			}
		}
	})
	var held float64
	if !waitFor(90*time.Second, func() bool {
		st, err := r.stats()
		held = st["subscribers"]
		return err == nil && held >= float64(n)
	}) {
		r.t.Fatalf("the hub holds %v of %d streams 90 s after they began to connect (refusals: %s)", held, n, r.refusals())
	}
}

// publish starts publishing numbered events at rate per second to the
// origin until stopPublishing.
func (r *scaleRun) publish(rate int) {
	r.pubStop, r.pubDone = make(chan struct{}), make(chan error, 1)
	go func() {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-r.pubStop:
				r.pubDone <- nil
				return
			case <-tick.C:
			}
			id := fmt.Sprintf("%s%06d", r.prefix, i)
			sent := strconv.FormatInt(time.Now().UnixNano(), 10)
			if _, err := soakPublish(r.origin, url.Values{"topic": {r.topic}, "id": {id}, "data": {sent}}); err != nil {
				r.pubDone <- err
				return
			}
			r.pubMu.Lock()
			r.published = append(r.published, id)
			r.pubMu.Unlock()
		}
	}()
}

// stopPublishing stops the publisher and waits until every client that
// has not given up holds the last event (bounded), returning the events.
func (r *scaleRun) stopPublishing(wait time.Duration) []string {
	r.t.Helper()
	close(r.pubStop)
	if err := <-r.pubDone; err != nil {
		r.t.Fatal(err)
	}
	want := r.published
	if len(want) == 0 {
		r.t.Fatal("nothing published")
	}
	last := want[len(want)-1]
	waitFor(wait, func() bool {
		for _, c := range r.clients {
			if c.last() != last && c.refusal() == "" {
				return false
			}
		}
		return true
	})
	return want
}

func (c *esClient) refusal() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refused
}

// latency measures publish→receive over d, through the edge and direct
// from the origin, and returns p50 and p99 of each over every delivery.
func (r *scaleRun) latency(d time.Duration) (edge, direct [2]time.Duration, n int) {
	groups := [][]*esClient{r.clients, r.direct}
	for _, g := range groups {
		for _, c := range g {
			c.mu.Lock()
			c.measure, c.lat = true, c.lat[:0]
			c.mu.Unlock()
		}
	}
	time.Sleep(d)
	var out [2][2]time.Duration
	for i, g := range groups {
		var all []time.Duration
		for _, c := range g {
			c.mu.Lock()
			c.measure = false
			all = append(all, c.lat...)
			c.mu.Unlock()
		}
		if len(all) == 0 {
			continue
		}
		slices.Sort(all)
		out[i] = [2]time.Duration{all[len(all)/2], all[min(len(all)-1, len(all)*99/100)]}
		if i == 0 {
			n = len(all)
		}
	}
	return out[0], out[1], n
}

// refusals summarises the final answers clients got.
func (r *scaleRun) refusals() string {
	by := map[string]int{}
	for _, c := range r.clients {
		if s := c.refusal(); s != "" {
			by[s]++
		}
	}
	if len(by) == 0 {
		return "none"
	}
	return fmt.Sprint(by)
}

// check stops the clients and checks that each got want exactly once, in
// order, with no final refusal and no missed notice; it adds the counts
// to the report and returns the deliveries.
func (r *scaleRun) check(want []string) int {
	r.t.Helper()
	var lost, dup, refused, missed, delivered, bad int
	for i, c := range r.clients {
		c.close()
		c.mu.Lock()
		got := c.ids
		if c.refused != "" {
			refused++
		}
		missed += c.missed
		c.mu.Unlock()
		delivered += len(got)
		seen := map[string]int{}
		for _, id := range got {
			seen[id]++
		}
		for _, id := range want {
			switch n := seen[id]; {
			case n == 0:
				lost++
			case n > 1:
				dup += n - 1
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			if bad < 5 {
				r.t.Errorf("client %d: %s", i, c.offSequence(got, seen, want))
			}
			bad++
		}
	}
	if refused > 0 {
		r.t.Errorf("%d clients got a final answer other than 200 (a native EventSource gives up): %s", refused, r.refusals())
	}
	if lost+dup+missed > 0 || bad > 0 {
		r.t.Errorf("%d clients off the sequence: %d deliveries lost, %d duplicated, %d missed notices", bad, lost, dup, missed)
	}
	report.Lock()
	report.published += len(want)
	report.delivered += delivered
	report.lost += lost
	report.duplicated += dup
	report.missed += missed
	report.Unlock()
	return delivered
}

// offSequence says how got, c's events (seen counts each id), differs
// from want: the runs of events it lacks and those it got more than once,
// when each of its streams opened, and its last id and final answer, so
// that a failure tells a lost event from a client that stopped early.
func (c *esClient) offSequence(got []string, seen map[string]int, want []string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var lost, dup []string
	for i := 0; i < len(want); i++ {
		if seen[want[i]] > 1 {
			dup = append(dup, fmt.Sprintf("%s ×%d", want[i], seen[want[i]]))
		}
		if seen[want[i]] != 0 {
			continue
		}
		j := i
		for j+1 < len(want) && seen[want[j+1]] == 0 {
			j++
		}
		lost = append(lost, fmt.Sprintf("%s..%s (%d)", want[i], want[j], j-i+1))
		i = j
	}
	opened := make([]string, len(c.opened))
	for k, at := range c.opened {
		opened[k] = at.Format("15:04:05.000")
	}
	return fmt.Sprintf("%d events (want %d), first %v, last %v; lacks %v; more than once %v; none lacking or twice (so the order or an id not published differs): %v; streams opened at %v; last id %q; final answer %q; %d failed attempts",
		len(got), len(want), firstN(got, 3), lastN(got, 3), firstN(lost, 5), firstN(dup, 5),
		len(lost) == 0 && len(dup) == 0, opened, c.lastID, c.refused, c.dialErrs)
}

func pctDur(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, len(sorted)*p/100)].Round(100 * time.Millisecond)
}

func firstN(s []string, n int) []string { return s[:min(n, len(s))] }
func lastN(s []string, n int) []string  { return s[max(0, len(s)-n):] }

// workerCPU returns the CPU ticks (utime+stime) of the workerd processes
// of the worker that do not listen on its public port (the worker itself,
// not wrangler's dev proxy).
func (r *scaleRun) workerCPU() int64 {
	_, port, _ := net.SplitHostPort(r.addr)
	var ticks int64
	for _, pid := range groupPIDs(r.worker.cmd.Process.Pid, "workerd") {
		proxy := false
		for _, p := range listeningPorts(pid) {
			if p == port {
				proxy = true
			}
		}
		if proxy {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			k, _ := strconv.ParseInt(f[12], 10, 64)
			ticks += u + k
		}
	}
	return ticks
}

// TestChaosDeployAtScale restarts the edge (wrangler's dev server stopped
// and started again on the same address: every hub object and stream
// dies, as in a deploy or a runtime update) while one hub object holds
// many streams receiving a steady event rate. Every client, behaving like
// a native EventSource, must come back within the retry advice its stream
// carried (RETRY_MS plus at most RETRY_JITTER_MS, the defaults here) after
// the edge answers again, plus an allowance for opening that many streams
// on this machine; no client may get a final refusal (the resume after a
// restart needs the origin's history: MAX_CATCHUP must not refuse them),
// and every client must end with every event exactly once, in order.
//
// Knobs: CHAOS_SCALE_STREAMS (default 500; the full size is 5000),
// CHAOS_SCALE_RATE events/s (default 20), CHAOS_SCALE_ALLOW_MS, the
// allowance past RETRY_MS + RETRY_JITTER_MS (default 5000).
func TestChaosDeployAtScale(t *testing.T) {
	startSampler()
	report.Lock()
	report.ran = append(report.ran, "DeployAtScale")
	report.Unlock()
	n := chaosEnvInt("CHAOS_SCALE_STREAMS", 500)
	rate := chaosEnvInt("CHAOS_SCALE_RATE", 20)
	allow := time.Duration(chaosEnvInt("CHAOS_SCALE_ALLOW_MS", 5000)) * time.Millisecond
	// The defaults of RETRY_MS and RETRY_JITTER_MS (wrangler.toml).
	const retry, jitter = 2 * time.Second, 8 * time.Second
	// One object holds every stream, past the latency-sized default of
	// MAX_CLIENTS; MAX_CATCHUP goes with it, as the README's sizing says:
	// after a restart every stream resumes from the origin's history at
	// once, and a 503 past MAX_CATCHUP is final to a native EventSource
	// (measured at 5,000 streams with MAX_CATCHUP at its default of 1,000:
	// 1,027 clients refused for good).
	r := newScaleRun(t, "scale", fmt.Sprintf("MAX_CLIENTS:%d", n+100), fmt.Sprintf("MAX_CATCHUP:%d", n+100))
	t0 := time.Now()
	r.connect(n, min(10*time.Second, time.Duration(n)*2*time.Millisecond))
	t.Logf("%d streams held after %s", n, time.Since(t0).Round(100*time.Millisecond))

	r.publish(rate)
	// The steady state, and what one write costs the worker there.
	time.Sleep(2 * time.Second)
	st0, err := r.stats()
	if err != nil {
		t.Fatal(err)
	}
	cpu0, w0 := r.workerCPU(), time.Now()
	lat, direct, nLat := r.latency(5 * time.Second)
	cpu1, w1 := r.workerCPU(), time.Now()
	st1, err := r.stats()
	if err != nil {
		t.Fatal(err)
	}
	writes := st1["writes"] - st0["writes"]
	cpuSec := float64(cpu1-cpu0) / 100 // USER_HZ
	perWrite := time.Duration(cpuSec / max(1, writes) * float64(time.Second))
	ms := func(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }
	added := fmt.Sprintf("p50 %s, p99 %s", ms(lat[0]-direct[0]), ms(lat[1]-direct[1]))
	t.Logf("steady: %.0f writes in %s (%.0f fan-outs), worker CPU %.2f s (%.2f cores): %s per write; publish→receive through the edge p50 %s, p99 %s over %d deliveries, direct from the origin p50 %s, p99 %s; edge-added %s (sizing bound 2 × streams × write: %s)",
		writes, w1.Sub(w0).Round(time.Millisecond), st1["batches"]-st0["batches"], cpuSec, cpuSec/w1.Sub(w0).Seconds(), perWrite.Round(100*time.Nanosecond),
		ms(lat[0]), ms(lat[1]), nLat, ms(direct[0]), ms(direct[1]), added, (2 * time.Duration(n) * perWrite).Round(time.Millisecond))

	// The deploy.
	down := time.Now()
	r.worker.stop()
	r.startWorker()
	up := time.Now()
	reportFault("edge restart at scale")
	deadline := up.Add(retry + jitter + allow)
	backTimes := func() (back []time.Duration) {
		for _, c := range r.clients {
			if at, ok := c.openedSince(down); ok {
				back = append(back, at.Sub(up))
			}
		}
		slices.Sort(back)
		return back
	}
	waitFor(time.Until(deadline)+30*time.Second, func() bool { return len(backTimes()) == n })
	back := backTimes()
	var lastBack time.Duration
	if len(back) > 0 {
		lastBack = back[len(back)-1]
	}
	dialErrs := 0
	for _, c := range r.clients {
		c.mu.Lock()
		dialErrs += c.dialErrs
		c.mu.Unlock()
	}
	t.Logf("edge down %s; %d of %d clients back, after the edge answered again: median %s, p90 %s, last %s (bound %s); %d failed attempts (connection refused while down)",
		up.Sub(down).Round(100*time.Millisecond), len(back), n, pctDur(back, 50), pctDur(back, 90), lastBack.Round(100*time.Millisecond), retry+jitter+allow, dialErrs)
	if len(back) < n {
		t.Errorf("%d of %d clients came back within %s after the restart (refusals: %s)", len(back), n, retry+jitter+allow+30*time.Second, r.refusals())
	} else if lastBack > retry+jitter+allow {
		t.Errorf("the last client came back %s after the edge answered again: bound RETRY_MS + RETRY_JITTER_MS + %s = %s", lastBack.Round(100*time.Millisecond), allow, retry+jitter+allow)
	}

	time.Sleep(3 * time.Second) // live events after everyone is back
	want := r.stopPublishing(60 * time.Second)
	st, _ := r.stats()
	delivered := r.check(want)
	t.Logf("REPORT deploy at scale: %d streams, %d events/s, %d events, %d delivered; edge down %s, last client back %s after it answered (bound %s); %s per write in the steady state; hub after: %v subscribers, %v catch-ups in %v fetches, %v dropped",
		n, rate, len(want), delivered, up.Sub(down).Round(100*time.Millisecond), lastBack.Round(100*time.Millisecond), retry+jitter+allow,
		perWrite.Round(100*time.Nanosecond), st["subscribers"], st["catchups"], st["catchupFetches"], st["dropped"])
	reportRow("deploy at scale: streams × events/s", fmt.Sprintf("%d × %d", n, rate))
	reportRow("deploy at scale: last client back after restart (bound)", fmt.Sprintf("%s (%s)", lastBack.Round(100*time.Millisecond), retry+jitter+allow))
	reportRow("deploy at scale: final refusals", r.refusals())
	reportRow("deploy at scale: worker CPU per stream write", perWrite.Round(100*time.Nanosecond))
	reportRow("deploy at scale: steady edge-added latency", added)
}

// TestChaosShedLosesNothing runs a hub whose CPU budget is small
// (CPU_BUDGET_MS, so that it sheds within seconds) under a steady event
// rate to many EventSource-like clients, and reads nothing from it
// meanwhile (a stats request is an incoming request, which resets the
// account). The hub must shed streams before its budget is spent; their
// clients reconnect after their retry advice and resume with
// Last-Event-ID; every client ends with every event exactly once, in
// order, and none gets a final refusal.
//
// Knobs: CHAOS_SHED_STREAMS (default 300), CHAOS_SHED_SECONDS (default 20).
func TestChaosShedLosesNothing(t *testing.T) {
	startSampler()
	report.Lock()
	report.ran = append(report.ran, "ShedLosesNothing")
	report.Unlock()
	n := chaosEnvInt("CHAOS_SHED_STREAMS", 300)
	secs := chaosEnvInt("CHAOS_SHED_SECONDS", 20)
	const rate = 20
	// n × 20 writes/s of 50 µs: 300 streams spend 0.3 s of the budget per
	// second, so a 2 s budget sheds from its first second on.
	r := newScaleRun(t, "shed", fmt.Sprintf("MAX_CLIENTS:%d", n+100), "CPU_BUDGET_MS:2000", "SHED_PCT:20",
		"RETRY_MS:500", "RETRY_JITTER_MS:1500")
	r.connect(n, 2*time.Second)
	r.publish(rate)
	time.Sleep(time.Duration(secs) * time.Second)
	want := r.stopPublishing(60 * time.Second)
	st, err := r.stats()
	if err != nil {
		t.Fatal(err)
	}
	reconnects := 0
	for _, c := range r.clients {
		c.mu.Lock()
		reconnects += len(c.opened) - 1
		c.mu.Unlock()
	}
	delivered := r.check(want)
	if st["shed"] == 0 {
		t.Errorf("the hub shed no stream (stats %v): the budget was never reached, the test proves nothing", st)
	}
	t.Logf("REPORT shed: %d streams, %d events/s for %d s: hub shed %v streams in %v steps, %d reconnections; %d events, %d delivered",
		n, rate, secs, st["shed"], st["shedRounds"], reconnects, len(want), delivered)
	reportRow("shed: streams shed / reconnections", fmt.Sprintf("%v / %d", st["shed"], reconnects))
}
