package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edge-sse/edge-sse/e2e/internal/proc"
	"github.com/edge-sse/edge-sse/worker/edge"
)

// floorWorker is the pure-JS baseline object (e2e/bench/floor) and the
// streams held on it, dialled on its first run.
type floorWorker struct {
	proc  *proc.Process
	url   string // where its clients go
	proxy string // where wrangler's dev proxy listens (url too with EDGE_BENCH_PROXY)
	subs  []*subscriber
}

// floorResult is one run of the floor with an edge hub's write pattern.
type floorResult struct {
	clients, fanouts, writes1 int // writes1: chunks per client per fan-out
	events                    int // per chunk
	eventBytes                int
	interval                  time.Duration
	writes                    float64
	dur                       time.Duration
	cpuSecs                   float64 // of the floor worker's workerd
	done                      bool
	// slice, sliceBytes: the slice rule the floor yielded by (floorSlice);
	// answers: stats and new subscribers timed during its fan-outs, over
	// probed of its rounds runs. (Row 4a's first-burst CPU of the floor is
	// from the first run, its probes included, as the hub's first burst
	// includes the hub's.)
	slice, sliceBytes int
	// cpuRuns: the CPU and writes of the first run and of the CPU rounds'.
	cpuRuns                    []cpuSample
	answerStats, answerSubs    []time.Duration
	answerFail, rounds, probed int
}

// floorSlice is the hub's slice rule (worker/edge, registry.go:
// DefaultSliceWrites, the SLICE_WRITES var), which the floor's fan-outs
// (row 4a's and the sustained row's) follow so that its answers and
// latencies are comparable to the hub's. EDGE_BENCH_FLOOR_SLICE
// overrides it (set it with EDGE_BENCH_VARS=SLICE_WRITES:<n> to compare
// like with like); EDGE_BENCH_FLOOR_SLICE_BYTES adds a bound on the bytes a
// slice writes (0: none, as the hub), to try other rules on the floor.
var (
	floorSlice      = envInt("EDGE_BENCH_FLOOR_SLICE", edge.DefaultSliceWrites)
	floorSliceBytes = envIntZero("EDGE_BENCH_FLOOR_SLICE_BYTES", 0)
)

func envIntZero(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n >= 0 {
		return n
	}
	return def
}

// perWrite returns CPU seconds per client write.
func (f floorResult) perWrite() float64 {
	if f.writes == 0 {
		return 0
	}
	return f.cpuSecs / f.writes
}

// steadyResult is one sustained-rate measurement.
type steadyResult struct {
	kind                  string // "" the hub's held streams, "sized" the hub at the sizing formula's clients, "floor" the pure-JS floor object
	load                  string // the load average at its end
	rate, clients, events int
	offered, delivered    float64 // deliveries/s offered, delivered
	received              int
	lat                   []time.Duration // p50, p99, max publish→receive
	fanouts, writes       float64
	done                  bool
}

func (bn *bench) workers() []*proc.Process { return bn.procs }

// floorRun asks the floor object for the write pattern of the burst just
// measured: the same number of clients, writes per client (the hub's
// stream writes / clients, rounded), events per write, bytes per event
// and pacing (the burst's duration / writes per client), and measures the
// CPU of the floor worker's workerd (the process that runs the object,
// not wrangler's dev proxy) over it.
// fanoutPlan returns the hub's fan-outs that began between from and to,
// from its trace, as the floor's plan ("E@T/W,…": W writes of a chunk of
// E events, W to every client when left out, T ms after the first), and
// the deliveries it makes in all; "" when the trace has none.
//
// Events that arrive during a fan-out join it (edge.Hub.DeliverMore):
// the hub writes them in the same round to the clients it has not reached
// and in further rounds to the others, each round right after the one
// before. The trace has each round's writes, bytes and start; the plan
// repeats them round by round, each write a chunk of the round's mean
// events per write: as many writes of as many bytes, at the same pace (a
// write to a stream whose pump is idle costs more than one to a busy
// stream: docs/PLATFORM.md, fact 16). A fan-out without rounds in the
// trace is one write of its events to every client.
func (bn *bench) fanoutPlan(from, to time.Time, clients int) (string, int) {
	st, err := getStats(bn.edgeURL + "/_edge/stats?trace=1")
	if err != nil {
		return "", 0
	}
	lo, hi := float64(from.UnixMilli())-1, float64(to.UnixMilli())+1
	var steps []edge.BatchTrace
	for _, b := range st.FeedTrace {
		if b.StartMs >= lo && b.StartMs <= hi && b.Events > 0 {
			steps = append(steps, b)
		}
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].StartMs < steps[j].StartMs })
	var parts []string
	deliveries := 0
	for _, b := range steps {
		all := b.Events + b.Joined
		if len(b.Rounds) == 0 {
			parts = append(parts, fmt.Sprintf("%d@%.0f", all, b.StartMs-steps[0].StartMs))
			deliveries += all * clients
			continue
		}
		bytes := 0
		for _, r := range b.Rounds {
			bytes += r.Bytes
		}
		eventBytes := float64(bytes) / float64(max(1, all*clients))
		for _, r := range b.Rounds {
			if r.Writes == 0 {
				continue
			}
			e := max(1, int(math.Round(float64(r.Bytes)/float64(r.Writes)/eventBytes)))
			w := min(r.Writes, clients)
			parts = append(parts, fmt.Sprintf("%d@%.0f/%d", e, r.StartMs-steps[0].StartMs, w))
			deliveries += e * w
		}
	}
	return strings.Join(parts, ","), deliveries
}

// floorRunner runs the floor object's side of the burst step, one run
// after each of the hub's bursts (floorStart, run, finish).
type floorRunner struct {
	bn                  *bench
	fw                  *floorWorker
	f                   floorResult
	answers             *answerLog
	clients, eventBytes int
}

// floorStart makes the floor hold as many streams as the hub's burst had
// clients; the first burst must have been measured.
func (bn *bench) floorStart() (*floorRunner, error) {
	fw := bn.floor
	if fw == nil {
		return nil, fmt.Errorf("the floor worker did not start")
	}
	r := bn.res
	fr := &floorRunner{bn: bn, fw: fw, answers: &answerLog{}, clients: r.burstClients, eventBytes: 100}
	if err := fw.hold(fr.clients, bn.p.dialParallel); err != nil {
		return nil, err
	}
	if r.burstReceived > 0 {
		fr.eventBytes = int(r.burstBytes / r.burstReceived)
	}
	fanouts, perFanout, events, interval := fr.pattern(r.burstBatches, r.burstWrites, r.burstDur)
	fr.f = floorResult{clients: fr.clients, fanouts: fanouts, writes1: perFanout, events: events, eventBytes: fr.eventBytes, interval: interval,
		slice: floorSlice, sliceBytes: floorSliceBytes}
	return fr, nil
}

// pattern is the mean write pattern of a burst of the hub's that made
// writes in batches fan-outs over dur.
func (fr *floorRunner) pattern(batches, writes float64, dur time.Duration) (fanouts, perFanout, events int, interval time.Duration) {
	fanouts = max(1, int(batches))
	perFanout = max(1, int(math.Round(writes/float64(fr.clients)/float64(fanouts))))
	events = int(math.Ceil(float64(fr.bn.res.burstEvents) / float64(fanouts*perFanout)))
	return fanouts, perFanout, events, dur / time.Duration(fanouts)
}

// run makes one run of the floor: it repeats the hub's newest measured
// burst, fan-out by fan-out as the hub's trace recorded them (the
// fan-outs of one burst are not alike, nor are bursts: with writev sizes
// traced, one step's hub bursts wrote 9,000 of their 23,000 chunks under
// 4 KiB and others of 64 KiB where even fan-outs wrote 22 KiB each, and a
// write's cost grows with its chunk past ≈ 20 KB), or, without a trace,
// that burst's mean pattern. It runs right after that burst: the CPU of
// one process on this machine drifts by up to 1.7× from one burst to the
// next, so a floor measured a minute apart from the hub compares with a
// different machine.
//
// probe sends the answer probes during the run; count adds its CPU to
// the floor's (the hub's burst before it was counted).
func (fr *floorRunner) run(probe, count bool) error {
	bn, fw, f, r := fr.bn, fr.fw, &fr.f, &fr.bn.res
	if len(r.cpuBursts) == 0 {
		return fmt.Errorf("no burst of the hub's was measured")
	}
	c := r.cpuBursts[len(r.cpuBursts)-1]
	var (
		u                          string
		fanouts, perFanout, events int // events: per chunk, or in all with a plan
		interval                   time.Duration
		want                       int64 // deliveries
	)
	if c.plan != "" {
		u = fmt.Sprintf("%s/fanout?plan=%s&bytes=%d&slice=%d&sliceBytes=%d", fw.url, c.plan, fr.eventBytes, f.slice, f.sliceBytes)
		fanouts, perFanout, events = strings.Count(c.plan, ",")+1, 1, c.planDeliveries/max(1, fr.clients)
		want = int64(c.planDeliveries)
	} else {
		fanouts, perFanout, events, interval = fr.pattern(c.batches, c.writes, c.to.Sub(c.from))
		u = fmt.Sprintf("%s/fanout?fanouts=%d&writes=%d&events=%d&bytes=%d&intervalMs=%d&slice=%d&sliceBytes=%d",
			fw.url, fanouts, perFanout, events, fr.eventBytes, interval.Milliseconds(), f.slice, f.sliceBytes)
		want = int64(fanouts * perFanout * events * fr.clients)
	}
	time.Sleep(time.Second) // the hub's burst settles
	var before int64
	for _, s := range fw.subs {
		before += s.events.Load()
	}
	pids := workerPIDs(fw.proc, fw.proxy)
	cpu0 := cpuTicks(pids)
	stop, probed := make(chan struct{}), make(chan struct{})
	answers := fr.answers
	if !probe {
		answers = nil
	}
	go probeAnswers(answers, fw.url+"/stats", fw.url+"/subscribe?group=answer", "", nil, stop, probed)
	t0 := time.Now()
	resp, err := (&http.Client{Timeout: 2 * time.Minute}).Post(u, "text/plain", nil)
	if err != nil {
		close(stop)
		<-probed
		return err
	}
	var out struct{ Writes float64 }
	err = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if err != nil {
		close(stop)
		<-probed
		return err
	}
	done := waitFor(60*time.Second, 20*time.Millisecond, func() bool {
		var n int64
		for _, s := range fw.subs {
			n += s.events.Load()
		}
		return n-before >= want
	})
	dur := time.Since(t0)
	cpu1 := cpuTicks(pids)
	close(stop)
	<-probed
	first := f.rounds == 0
	f.rounds++
	if probe {
		f.probed++
	}
	if done && count {
		f.cpuRuns = append(f.cpuRuns, cpuOver(cpu0, cpu1, out.Writes, t0, t0.Add(dur)))
		what := fmt.Sprintf("floor run %d (%d fan-outs × %d chunks of %d events)", f.rounds, fanouts, perFanout, events)
		if c.plan != "" {
			what = fmt.Sprintf("floor run %d (the hub's fan-outs, events@ms: %s)", f.rounds, c.plan)
		}
		bn.logWindow(what, f.cpuRuns[len(f.cpuRuns)-1])
	}
	if !first {
		return nil
	}
	f.done, f.dur = done, dur
	f.cpuSecs = cpuSecs(cpu0, cpu1)
	f.writes = out.Writes
	bn.tb.Logf("floor%s: %d fan-outs of %d writes × %d clients, %d events of %d B each, %s apart, slices of %d writes / %d B: %.0f writes, %.3f s CPU in %s",
		bn.labelSuffix(), fanouts, perFanout, fr.clients, events, fr.eventBytes, interval, f.slice, f.sliceBytes, f.writes, f.cpuSecs, f.dur.Round(time.Millisecond))
	if !f.done {
		return fmt.Errorf("the floor's clients did not receive all %d events", want)
	}
	return nil
}

// finish keeps the floor's results in the hub's bench.
func (fr *floorRunner) finish() {
	fr.f.answerStats, fr.f.answerSubs, fr.f.answerFail = fr.answers.sorted()
	fr.bn.res.floor = fr.f
}

// hold makes the floor object hold n streams of its default group.
func (fw *floorWorker) hold(n, parallel int) error {
	if len(fw.subs) == n {
		return nil
	}
	closeAll(fw.subs)
	var err error
	if fw.subs, err = dialMany(n, parallel, fw.url+"/subscribe", nil, nil); err != nil {
		return err
	}
	if !waitFor(30*time.Second, 200*time.Millisecond, func() bool {
		st, err := getStats(fw.url + "/stats")
		return err == nil && st.Streams >= n
	}) {
		return fmt.Errorf("the floor object does not count %d streams", n)
	}
	time.Sleep(2 * time.Second)
	return nil
}

// publishFloor writes data at once to the floor's streams of group.
func (fw *floorWorker) publish(group, data string) error {
	resp, err := apiClient.Post(fw.url+"/publish?group="+url.QueryEscape(group)+"&data="+url.QueryEscape(data), "text/plain", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

func (bn *bench) labelSuffix() string {
	if bn.label == "" {
		return ""
	}
	return " (" + bn.label + ")"
}

// workerPIDs returns the workerd processes of a launcher except wrangler's
// dev proxy (the one listening on the worker's port).
func workerPIDs(p interface{ Pid() int }, base string) []int {
	u, _ := url.Parse(base)
	port, _ := strconv.Atoi(u.Port())
	all := workerdPIDs(p.Pid())
	listens := listenerPIDs(all, port)
	var out []int
	for _, pid := range all {
		if !listens[pid] {
			out = append(out, pid)
		}
	}
	return out
}

// answerLog records how long the hub took to answer requests during a
// burst.
type answerLog struct {
	mu            sync.Mutex
	statsD, subsD []time.Duration
	// healthD: requests the isolate answers without the hub object
	// (/healthz, the front door), the control of row 6.
	healthD []time.Duration
	fail    int
}

// answerTimeout bounds one request of the answerLog: past it the request
// counts as failed.
const answerTimeout = 5 * time.Second

func (a *answerLog) add(dst *[]time.Duration, d time.Duration, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !ok {
		a.fail++
		return
	}
	*dst = append(*dst, d)
}

// stats times one stats request.
func (a *answerLog) stats(u string) bool {
	t0 := time.Now()
	_, err := getStats(u)
	a.add(&a.statsD, time.Since(t0), err == nil)
	return err == nil
}

// health times one request the isolate answers without the hub object; a
// failure is not counted with the hub's.
func (a *answerLog) health(u string) {
	t0 := time.Now()
	resp, err := apiClient.Get(u)
	if err != nil {
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		a.add(&a.healthD, time.Since(t0), true)
	}
}

// subscribe times a new subscription up to its 200 and closes it.
func (a *answerLog) subscribe(u string) {
	t0 := time.Now()
	s, err := dialSubscriber(u, nil, nil)
	a.add(&a.subsD, time.Since(t0), err == nil)
	if err == nil {
		s.close()
	}
}

func (a *answerLog) healthSorted() []time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return sortedCopy(a.healthD)
}

func (a *answerLog) sorted() (stats, subs []time.Duration, fail int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return sortedCopy(a.statsD), sortedCopy(a.subsD), a.fail
}

func sortedCopy(d []time.Duration) []time.Duration {
	c := slices.Clone(d)
	slices.Sort(c)
	return c
}

// holdBefore opens the streams the main worker holds during the latency,
// burst and steady phases, as edgeMemory does for this worker's.
func (bn *bench) holdBefore() error {
	b := bn.before
	if b == nil {
		return nil
	}
	n := bn.p.streams[0]
	// With EDGE_BENCH_PAIRED set, the same topic as this worker's
	// streams: the burst and steady phases then reach both hubs with the
	// same events at the same time (a paired measurement, but the two
	// hubs share the machine). By default each hub's phase runs right
	// after the other's.
	b.topicA = benchTopic("hold-before")
	if os.Getenv("EDGE_BENCH_PAIRED") != "" && bn.topicA != "" {
		b.topicA = bn.topicA
	}
	b.res.burstClients = n
	// The same history as this worker's hub: a warm stream held, the
	// larger steps of edgeMemory opened and closed again (a hub that held
	// 5,000 streams carries what that left behind in its isolate; without
	// it, the two hubs' latency differed by ×2 at p99 with the same build
	// on both sides).
	var err error
	warmTopic := benchTopic("warm-before")
	if b.warm, err = dialSubscriber(b.mercure(b.edgeURL, warmTopic), nil, nil); err != nil {
		return err
	}
	if err := publish(b.originURL, b.pubToken, warmTopic, "warm"); err != nil {
		return err
	}
	if !waitEvents([]*subscriber{b.warm}, 1, 20*time.Second) {
		return fmt.Errorf("the main hub's warm-up stream got no event within 20 s")
	}
	if most := slices.Max(bn.p.streams); most > n && bn.p.runs("edge memory") {
		topic := benchTopic("hold-before-more")
		more, err := dialMany(most-n, bn.p.dialParallel, b.mercure(b.edgeURL, topic), nil, nil)
		if err != nil {
			closeAll(more)
			return err
		}
		err = publish(b.originURL, b.pubToken, topic, "hello")
		if err == nil && !waitEvents(more, 1, 30*time.Second) {
			err = fmt.Errorf("the main hub's %d extra streams did not get the check event", len(more))
		}
		time.Sleep(3 * time.Second)
		closeAll(more)
		if err != nil {
			return err
		}
		b.settle(1)
	}
	if b.heldA, err = dialMany(n, bn.p.dialParallel, b.mercure(b.edgeURL, b.topicA), nil, nil); err != nil {
		return err
	}
	if !waitFor(30*time.Second, 200*time.Millisecond, func() bool {
		st, err := getStats(b.edgeURL + "/_edge/stats")
		return err == nil && st.Subscribers >= n+1
	}) {
		return fmt.Errorf("the main hub does not count %d subscribers", n+1)
	}
	before := make([]int64, len(b.heldA))
	for i, s := range b.heldA {
		before[i] = s.events.Load()
	}
	if err := publish(b.originURL, b.pubToken, b.topicA, "hello"); err != nil {
		return err
	}
	if !waitFor(30*time.Second, 50*time.Millisecond, func() bool {
		for i, s := range b.heldA {
			if s.events.Load() <= before[i] {
				return false
			}
		}
		return true
	}) {
		return fmt.Errorf("the main hub's streams did not get the check event")
	}
	time.Sleep(2 * time.Second)
	return nil
}

// sequential returns a phase that runs fn against this worker, then,
// unless the phase is paired (targets), against the main worker: each
// phase's two runs are next to each other in time.
func (bn *bench) sequential(name string, fn func(*bench) error) func() error {
	return func() error {
		err := fn(bn)
		if b := bn.before; b != nil && len(bn.targets()) == 1 {
			time.Sleep(2 * time.Second)
			t0 := time.Now()
			if err := b.phase(func() error { return fn(b) }); err != nil {
				b.res.errs[name] = err
				bn.tb.Errorf("%s (main): %v", name, err)
			}
			bn.tb.Logf("%s (main): %s", name, time.Since(t0).Round(time.Millisecond))
		}
		return err
	}
}
