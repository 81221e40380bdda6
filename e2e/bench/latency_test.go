package bench

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// latSample is one event's arrival at one client: its send time (the
// event's data, UnixNano) and its publish→receive delay.
type latSample struct {
	sent int64
	lat  time.Duration
}

// latPath collects the arrivals of one path's clients (a hub through the
// dev proxy, the origin direct, the floor object).
type latPath struct {
	name string
	per  [][]latSample
	subs []*subscriber
}

func newLatPath(name string, n int) *latPath {
	return &latPath{name: name, per: make([][]latSample, n)}
}

// record returns stream i's handler: it runs on that stream's reading
// goroutine only, so per[i] needs no lock.
func (p *latPath) record(i int) func([]byte, time.Time) {
	return func(data []byte, at time.Time) {
		if ns, err := strconv.ParseInt(string(data), 10, 64); err == nil {
			p.per[i] = append(p.per[i], latSample{ns, at.Sub(time.Unix(0, ns))})
		}
	}
}

// dial opens n streams of the path to u (conc at a time).
func (p *latPath) dial(u string, header http.Header) error {
	var err error
	p.subs, err = dialMany(len(p.per), 32, u, header, p.record)
	return err
}

// all returns every delay of the path, sorted.
func (p *latPath) all() []time.Duration {
	var out []time.Duration
	for _, s := range p.per {
		for _, x := range s {
			out = append(out, x.lat)
		}
	}
	slices.Sort(out)
	return out
}

// legs splits the path's delay per event: first is when the first of its
// clients had it (the way to the object and one write: the feed leg for a
// hub), spread how much later the last one had it (the fan-out leg: the
// writes to the others and their way through the proxy). Both sorted.
func (p *latPath) legs() (first, spread []time.Duration) {
	lo, hi := p.byEvent()
	for k, d := range lo {
		first = append(first, d)
		spread = append(spread, hi[k]-d)
	}
	slices.Sort(first)
	slices.Sort(spread)
	return first, spread
}

// byEvent returns, per event (its send time), the delay of its first and
// of its last client.
func (p *latPath) byEvent() (lo, hi map[int64]time.Duration) {
	lo, hi = map[int64]time.Duration{}, map[int64]time.Duration{}
	for _, s := range p.per {
		for _, x := range s {
			if d, ok := lo[x.sent]; !ok || x.lat < d {
				lo[x.sent] = x.lat
			}
			if d, ok := hi[x.sent]; !ok || x.lat > d {
				hi[x.sent] = x.lat
			}
		}
	}
	return lo, hi
}

// slowest describes the k events whose first client waited longest, in
// the order they were sent: "<seconds into the run> (<time of day>):
// <delay>" (the time of day lines them up with a perf profile). When
// they fall at a period (probe rounds, heartbeats) or at the start, that
// says what delayed them.
func (p *latPath) slowest(k int) string {
	lo, _ := p.byEvent()
	sent := slices.Collect(maps.Keys(lo))
	if len(sent) == 0 {
		return ""
	}
	start := slices.Min(sent)
	slices.SortFunc(sent, func(a, b int64) int { return cmp.Compare(lo[b], lo[a]) })
	sent = sent[:min(k, len(sent))]
	slices.Sort(sent)
	var parts []string
	for _, t := range sent {
		parts = append(parts, fmt.Sprintf("%.2f s (%s): %s", float64(t-start)/1e9, time.Unix(0, t).Format("15:04:05.000"), ms(lo[t])))
	}
	return strings.Join(parts, ", ")
}

// p5099 returns the median and 99th percentile of sorted (nil if empty).
func p5099(sorted []time.Duration) []time.Duration {
	if len(sorted) == 0 {
		return nil
	}
	return []time.Duration{pct(sorted, 50), pct(sorted, 99)}
}

// latency subscribes p.latSubs clients through the edge and as many
// straight to the origin (and as many through the main worker's edge, and
// to the pure-JS floor object, when they run), publishes p.latEvents
// events at a steady rate with the send time in data, and compares the
// delays at receipt. Every path is measured at once, from the same ticks,
// under the same load: the hubs hold the same streams (holdBefore repeats
// edgeMemory's), the floor object holds as many other streams, and the
// paths' clients are dialled together.
func (bn *bench) latency() error {
	n, events := bn.p.latSubs, bn.p.latEvents
	bn.res.latN, bn.res.latEvents = n, events
	topic := benchTopic("latency")
	edge, direct := newLatPath("edge", n), newLatPath("direct", n)
	paths := []*latPath{edge, direct}
	urls := []string{bn.mercure(bn.edgeURL, topic), bn.mercure(bn.originURL, topic)}
	headers := []http.Header{nil, bn.subHeader}
	var before *latPath
	if bn.before != nil {
		before = newLatPath("main", n)
		paths = append(paths, before)
		urls = append(urls, bn.mercure(bn.before.edgeURL, topic))
		headers = append(headers, nil)
	}
	// The floor: as many other streams held as the hub holds, its n
	// latency streams straight to the workerd running it like the hub's,
	// or, with EDGE_BENCH_PROXY, half through wrangler's dev proxy and half
	// straight (when that can be found): the same fan-out of n writes, the
	// proxy's share told apart.
	var floorProxy, floorDirect *latPath
	if fw := bn.floor; fw != nil {
		if err := fw.hold(len(bn.heldA), bn.p.dialParallel); err != nil {
			return fmt.Errorf("floor: %w", err)
		}
		u := fw.url + "/subscribe?group=latency"
		if d := workerdURL(fw.proc, fw.proxy); d != "" && d != fw.url {
			floorProxy, floorDirect = newLatPath("floor", n-n/2), newLatPath("floor direct", n/2)
			paths = append(paths, floorProxy, floorDirect)
			urls = append(urls, u, d+"/subscribe?group=latency")
		} else {
			if viaProxy() {
				bn.tb.Logf("latency: the floor worker's own workerd port not found: all its streams go through the dev proxy")
			}
			floorProxy = newLatPath("floor", n)
			paths = append(paths, floorProxy)
			urls = append(urls, u)
		}
		headers = append(headers, nil, nil)
	}
	// Dial every path at once, so that no hub's streams are all older
	// than the other's.
	var wg sync.WaitGroup
	errs := make([]error, len(paths))
	for i, p := range paths {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = p.dial(urls[i], headers[i]) }()
	}
	wg.Wait()
	var all []*subscriber
	for _, p := range paths {
		all = append(all, p.subs...)
	}
	if err := errors.Join(errs...); err != nil {
		closeAll(all)
		return err
	}
	time.Sleep(time.Second)
	st0, _ := getStats(bn.edgeURL + "/_edge/stats")
	tick := time.NewTicker(bn.p.latInterval)
	var pubErr error
	// ids: each origin event's id by its send time, to find it in the
	// hub's trace.
	var idsMu sync.Mutex
	ids := map[int64]string{}
	for i := range events {
		<-tick.C
		// The origin's publish and the floor's, each stamped when sent,
		// in alternating order.
		pubs := []func() error{
			func() error {
				ns := time.Now().UnixNano()
				id, err := publishID(bn.originURL, bn.pubToken, topic, strconv.FormatInt(ns, 10))
				idsMu.Lock()
				ids[ns] = id
				idsMu.Unlock()
				return err
			},
		}
		if floorProxy != nil {
			pubs = append(pubs, func() error {
				return bn.floor.publish("latency", strconv.FormatInt(time.Now().UnixNano(), 10))
			})
		}
		if i%2 == 1 {
			slices.Reverse(pubs)
		}
		pe := make([]error, len(pubs))
		var pw sync.WaitGroup
		for k, f := range pubs {
			pw.Add(1)
			go func() { defer pw.Done(); pe[k] = f() }()
		}
		pw.Wait()
		if pubErr = errors.Join(pe...); pubErr != nil {
			break
		}
	}
	tick.Stop()
	complete := pubErr == nil && waitEvents(all, int64(events), 30*time.Second)
	st1, err := getStats(bn.edgeURL + "/_edge/stats?trace=1")
	if err == nil {
		bn.res.latFeedWaits = st1.FeedWaits.since(st0.FeedWaits)
		bn.res.latGC = int(st1.Go.GCCycles - st0.Go.GCCycles)
		bn.res.latHeapLive = st1.Go.HeapLive
		bn.res.latJSValues = [2]float64{st0.Go.JSValues, st1.Go.JSValues}
	}
	closeAll(all) // the readers are done: the slices are ours
	if pubErr != nil {
		return pubErr
	}
	bn.settle(len(bn.heldA) + 1)
	if bn.before != nil {
		bn.before.settle(len(bn.before.heldA) + 1)
	}
	d, e := direct.all(), edge.all()
	bn.res.latGotD, bn.res.latGotE = len(d), len(e)
	if len(d) == 0 || len(e) == 0 {
		return fmt.Errorf("no latency samples (direct %d, edge %d)", len(d), len(e))
	}
	r := &bn.res
	r.latDirect, r.latEdge = p5099(d), p5099(e)
	first, spread := edge.legs()
	r.latFirst, r.latSpread = p5099(first), p5099(spread)
	r.latSlowest = edge.slowest(6)
	lo, _ := edge.byEvent()
	legs := traceLegs(st1.FeedTrace, ids, lo) // none when the stats failed
	r.latLegs = legsSummary(legs)
	if len(legs) > 0 {
		r.latSlowLegs = slowestLegs(legs, 6, slices.Min(slices.Collect(maps.Keys(lo))))
		if path := os.Getenv("EDGE_BENCH_LEGS"); path != "" {
			if err := writeLegs(path, legs); err != nil {
				bn.tb.Logf("latency: %v", err)
			}
		}
	}
	first, _ = direct.legs()
	r.latDirectFirst = p5099(first)
	if before != nil {
		if b := before.all(); len(b) > 0 {
			br := &bn.before.res
			br.latN, br.latEvents, br.latGotD, br.latGotE = n, events, len(d), len(b)
			br.latDirect, br.latDirectFirst = r.latDirect, r.latDirectFirst
			br.latEdge = p5099(b)
			first, spread := before.legs()
			br.latFirst, br.latSpread = p5099(first), p5099(spread)
			br.latSlowest = before.slowest(6)
		}
	}
	if floorProxy != nil {
		r.latFloorHeld = len(bn.floor.subs)
		r.latFloorN = len(floorProxy.per)
		r.latFloor = p5099(floorProxy.all())
		var fp []*latPath
		fp = append(fp, floorProxy)
		if floorDirect != nil {
			r.latFloorDirect = p5099(floorDirect.all())
			fp = append(fp, floorDirect)
		}
		// The floor's legs over both halves: one fan-out of n writes.
		merged := newLatPath("floor all", 0)
		for _, p := range fp {
			merged.per = append(merged.per, p.per...)
		}
		first, spread := merged.legs()
		r.latFloorFirst, r.latFloorSpread = p5099(first), p5099(spread)
		r.latFloorSlowest = merged.slowest(6)
	}
	if !complete {
		return fmt.Errorf("not every subscriber got all %d events: direct %d, edge %d of %d samples", events, len(d), len(e), n*events)
	}
	if floorProxy != nil && r.latFloor == nil {
		return fmt.Errorf("the floor's latency subscribers got nothing")
	}
	return nil
}

// workerdURL returns a base URL that reaches the workerd running a
// worker (not wrangler's dev proxy in front of it), or "": the loopback
// port on which one of the launcher's other workerd processes listens and
// answers /healthz.
func workerdURL(p interface{ Pid() int }, base string) string {
	pids := workerdPIDs(p.Pid())
	for _, port := range listenPorts(pids) {
		u := fmt.Sprintf("http://127.0.0.1:%d", port)
		if strings.HasSuffix(base, fmt.Sprintf(":%d", port)) {
			continue // the proxy
		}
		resp, err := apiClient.Get(u + "/healthz")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return u
		}
	}
	return ""
}
