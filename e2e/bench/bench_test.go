package bench

import (
	"bytes"
	"compress/gzip"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/e2e/internal/proc"
	"github.com/edge-sse/edge-sse/shared/auth"
)

// statsToken is the worker's STATS_TOKEN: /_edge/stats needs it.
var statsToken = func() string {
	b := make([]byte, 32)
	crand.Read(b)
	return hex.EncodeToString(b)
}()

// jwtKey signs the benchmark's tokens; the origin (when it takes a key) and
// the worker both trust it.
const jwtKey = "edge-bench-key-0123456789abcdef0123456789"

// clientHeartbeatMS is the hub's comment interval to clients. The hub
// finds a closed client only when a write to it fails, so heartbeats are
// what lets it drop the streams a phase closed before the next phase; they
// also count as deliveries in the hub's counter (not in the clients'
// counts, which the rates are computed from).
// EDGE_BENCH_HEARTBEAT_MS overrides it.
func clientHeartbeatMS() string {
	if v := os.Getenv("EDGE_BENCH_HEARTBEAT_MS"); v != "" {
		return v
	}
	return "5000"
}

// params are the sizes of the run; EDGE_BENCH_* variables override them
// (see doc.go).
type params struct {
	streams      []int // edge streams held for the memory measurement
	naive        int   // streams held through the naive relay
	latSubs      int   // subscribers per path in the latency measurement
	latEvents    int
	latInterval  time.Duration
	burstEvents  int // events of the deliveries/s burst (to streams[0] clients)
	publishers   int // concurrent publishers of the burst
	steadyRate   int // events/s of the sustained measurement (to streams[0] clients)
	steadySecs   int // its length
	dialParallel int
	phases       map[string]bool // nil: all
}

func (p params) runs(phase string) bool { return p.phases == nil || p.phases[phase] }

func loadParams() params {
	p := params{
		streams:      []int{1000, 5000},
		naive:        100,
		latSubs:      200,
		latEvents:    300,
		latInterval:  20 * time.Millisecond,
		burstEvents:  1000,
		publishers:   16,
		steadyRate:   200,
		steadySecs:   10,
		dialParallel: 64,
	}
	if v := os.Getenv("EDGE_BENCH_STREAMS"); v != "" {
		p.streams = nil
		for _, f := range strings.Split(v, ",") {
			if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
				p.streams = append(p.streams, n)
			}
		}
		slices.Sort(p.streams)
	}
	intEnv := func(name string, dst *int) {
		if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
			*dst = n
		}
	}
	if v := os.Getenv("EDGE_BENCH_PHASES"); v != "" {
		p.phases = map[string]bool{}
		for _, f := range strings.Split(v, ",") {
			p.phases[strings.TrimSpace(f)] = true
		}
	}
	intEnv("EDGE_BENCH_NAIVE", &p.naive)
	intEnv("EDGE_BENCH_LATENCY_SUBS", &p.latSubs)
	intEnv("EDGE_BENCH_LATENCY_EVENTS", &p.latEvents)
	intEnv("EDGE_BENCH_BURST_EVENTS", &p.burstEvents)
	intEnv("EDGE_BENCH_PUBLISHERS", &p.publishers)
	intEnv("EDGE_BENCH_STEADY_RATE", &p.steadyRate)
	intEnv("EDGE_BENCH_STEADY_SECONDS", &p.steadySecs)
	return p
}

// bench is one run: the processes it started and what it measured.
type bench struct {
	tb        testing.TB
	p         params
	root, dir string
	originURL string
	edgeURL   string
	naiveURL  string
	origin    *proc.Process
	edge      *proc.Process
	naive     *proc.Process
	naiveWasm string // the naive worker's app.wasm
	loadStart string // /proc/loadavg when the run began
	pubToken  string
	subHeader http.Header   // a subscriber token, for streams the origin serves
	heldA     []*subscriber // the first step's streams, kept for the burst
	topicA    string        // their topic
	warm      *subscriber
	res       results
	pres      *presenceResult // the presence phase (presence_test.go)
}

type memResult struct {
	n               int
	wasm, rss       float64 // bytes per stream
	wasmTot, rssTot float64 // bytes added for n streams
	// rssProxy is the part of rss in wrangler's dev proxy (the workerd
	// that accepts the clients' connections and forwards them to the
	// workerd running the worker).
	rssProxy    float64
	subscribers int // as the hub or the naive worker counted them
}

type results struct {
	errs     map[string]error
	warnings []string

	edgeMem  []memResult
	naiveMem memResult
	// naiveFloor is the linear memory of one idle naive instance.
	naiveFloor float64

	latN, latEvents    int
	latDirect, latEdge []time.Duration // p50, p99
	latGotD, latGotE   int             // samples received per path

	burstClients, burstEvents int
	burstPublish              time.Duration // time to publish the burst
	burstDur                  time.Duration // first publish → hub counted every delivery
	burstDeliveries           float64       // counted by the hub during the burst
	burstEventsHub            float64       // events, fan-outs (batches) and stream writes the hub counted
	burstBatches, burstWrites float64
	burstRate, burstPeak      float64 // deliveries/s: overall, best 1 s window
	burstReceived             int64   // events the clients received
	burstDropped              float64
	cpuWorkerd, cpuHottest    float64 // cores used during the burst by the worker's workerd, its busiest thread
	cpuProxy                  float64 // by wrangler's dev proxy (workerd)
	cpuLauncher               float64 // by the launcher's node process
	cpuOther                  float64 // by processes this run did not start
	cpuOtherTop               string
	cpuOtherTopCores          float64
	cpuOrigin, cpuBench       float64
	cpuMachine                float64 // busy cores of the whole machine
	hubPolls, hubAnswers      int64   // stats requests sent to the hub during the burst, answered
	burstDone                 bool

	steadyClients, steadyEvents int
	steadyOffered, steadyRate   float64         // deliveries/s asked for, delivered
	steadyLat                   []time.Duration // p50, p99, max publish→receive
	steadyFanouts, steadyWrites float64
	steadyDone                  bool

	edgeGz, edgeRaw, edgeBundleGz int64
	naiveGz, naiveRaw             int64
}

// BenchmarkEdge measures, in one run, what issue 5 asks of the edge: memory
// per held stream against the naive per-request relay, publish→receive
// latency added by the edge, deliveries per second of one hub object and the
// size of the bundle. It prints one table; see doc.go. The run is not
// repeated: run it with -benchtime 1x.
func BenchmarkEdge(b *testing.B) {
	bn := &bench{tb: b, p: loadParams(), loadStart: loadAverage()}
	bn.res.errs = map[string]error{}
	defer bn.cleanup()
	start := time.Now()
	if err := bn.setup(); err != nil {
		b.Fatalf("setup: %v (logs in %s)", err, bn.dir)
	}
	b.Logf("setup %s (logs in %s)", time.Since(start).Round(time.Millisecond), bn.dir)
	b.ResetTimer()
	for _, ph := range []struct {
		name string
		fn   func() error
	}{
		{"bundle", bn.bundle},
		{"edge memory", bn.edgeMemory},
		{"latency", bn.latency},
		{"burst", bn.burst},
		{"steady", bn.steady},
		{"naive memory", bn.naiveMemory},
		{"presence", bn.presence},
	} {
		if !bn.p.runs(ph.name) {
			continue
		}
		t0 := time.Now()
		if err := bn.phase(ph.fn); err != nil {
			bn.res.errs[ph.name] = err
			b.Errorf("%s: %v", ph.name, err)
		}
		b.Logf("%s: %s", ph.name, time.Since(t0).Round(time.Millisecond))
	}
	b.StopTimer()
	for _, p := range []*proc.Process{bn.edge, bn.naive} {
		if log, _ := os.ReadFile(p.Log); bytes.Contains(log, []byte("Reloading local server")) {
			bn.res.warnings = append(bn.res.warnings, fmt.Sprintf("wrangler reloaded the %s worker during the run: its streams were cut; numbers are suspect", p.Name))
		}
	}
	for _, w := range bn.res.warnings {
		b.Error(w)
	}
	fmt.Print(bn.table())
	bn.report(b)
	b.Logf("total %s", time.Since(start).Round(time.Millisecond))
}

// phase runs fn, turning a panic into an error so later phases still run.
func (bn *bench) phase(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return fn()
}

func (bn *bench) setup() error {
	proc.RaiseFileLimit()
	root, err := proc.Root()
	if err != nil {
		return err
	}
	bn.root = root
	if err := proc.CheckTree(root); err != nil {
		return err
	}
	if bn.dir, err = os.MkdirTemp("", "edge-sse-bench-"); err != nil {
		return err
	}
	bn.pubToken, err = auth.Sign(auth.Claims{Form: auth.FormLegacy, Publish: []auth.Matcher{{Match: "*", Type: auth.MatchSelector}}}, []byte(jwtKey), "HS256", time.Hour)
	if err != nil {
		return err
	}
	sub, err := auth.Sign(auth.Claims{Form: auth.FormLegacy, Subscribe: []auth.Matcher{{Match: "*", Type: auth.MatchSelector}}}, []byte(jwtKey), "HS256", time.Hour)
	if err != nil {
		return err
	}
	bn.subHeader = http.Header{"Authorization": {"Bearer " + sub}}

	// Build the origin and the naive worker side by side.
	var originBin string
	var originErr, naiveErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		originBin, originErr = proc.OriginBinary(root, bn.dir)
	}()
	go func() {
		defer wg.Done()
		naiveErr = bn.buildNaive()
	}()
	wg.Wait()
	if originErr != nil {
		return originErr
	}
	if naiveErr != nil {
		return naiveErr
	}

	// Origin, with the flags that E2E_ORIGIN_BIN (maybe an older origin)
	// offers.
	help, _ := exec.Command(originBin, "serve", "-h").CombinedOutput()
	var flags []string
	if bytes.Contains(help, []byte("-jwt-key")) {
		flags = append(flags, "--jwt-key", jwtKey)
	}
	// The feed secret is generated for this run (newer origins have no
	// default; older ones take the flag too).
	feedSecret := make([]byte, 32)
	crand.Read(feedSecret)
	secret := hex.EncodeToString(feedSecret)
	flags = append(flags, "--feed-secret", secret)
	// The history store is not what this measures: keep it in memory
	// (no fsync per publish) when the origin offers the choice.
	if bytes.Contains(help, []byte("-history string")) {
		flags = append(flags, "--history", "memory")
	}
	// The origin runs in the temporary directory: whatever it writes
	// there (a history file) goes away with it.
	origin, err := proc.Origin{Bin: originBin, Dir: bn.dir, LogDir: bn.dir, Name: "origin", Flags: flags}.Start()
	if err != nil {
		return err
	}
	bn.origin, bn.originURL = origin.Process, origin.URL

	// The edge, from a snapshot of worker/build (a concurrent `make build`
	// must not reload the worker under the benchmark), and the naive
	// worker, side by side.
	// EDGE_BENCH_VARS="NAME:VALUE,…" sets more worker vars (for example
	// FEED_COLLECT_MS:0 to compare).
	vars := []string{
		"ORIGIN_URL:" + bn.originURL,
		"FEED_SECRET:" + secret,
		"STATS_TOKEN:" + statsToken,
		"JWT_KEY:" + jwtKey,
		"ALLOW_ANONYMOUS:true",
		"CLIENT_HEARTBEAT_MS:" + clientHeartbeatMS(),
		// The memory rows hold 5,000 streams on one object, past the
		// latency-sized default of MAX_CLIENTS (README, "Sizing").
		"MAX_CLIENTS:10000",
	}
	for _, v := range strings.Split(os.Getenv("EDGE_BENCH_VARS"), ",") {
		if v = strings.TrimSpace(v); v != "" {
			vars = append(vars, v)
		}
	}
	workers := []proc.Worker{
		{Name: "edge", Snapshot: filepath.Join(bn.dir, "edge"), Vars: vars},
		{Name: "naive", Config: filepath.Join(bn.dir, "naive", "wrangler.toml"), Vars: []string{"ORIGIN_URL:" + bn.originURL}},
	}
	started := make([]*proc.Server, len(workers))
	errs := make([]error, len(workers))
	for i, w := range workers {
		w.Root, w.Dir, w.LogDir = root, bn.dir, bn.dir
		w.Persist = filepath.Join(bn.dir, w.Name+"-state")
		w.Timeout = 150 * time.Second
		wg.Add(1)
		go func() {
			defer wg.Done()
			started[i], errs[i] = w.Start()
		}()
	}
	wg.Wait()
	if started[0] != nil {
		bn.edge, bn.edgeURL = started[0].Process, started[0].URL
	}
	if started[1] != nil {
		bn.naive, bn.naiveURL = started[1].Process, started[1].URL
	}
	return errors.Join(errs...)
}

// buildNaive builds e2e/bench/naive the stock way into <dir>/naive/build and
// puts a copy of its wrangler.toml (main = "build/worker.mjs") beside it.
func (bn *bench) buildNaive() error {
	out := filepath.Join(bn.dir, "naive", "build")
	if b, err := bn.goCmd(nil, "run", "github.com/syumai/workers/cmd/workers-assets-gen", "-mode=go", "-o", out); err != nil {
		return fmt.Errorf("workers-assets-gen: %v\n%s", err, b)
	}
	bn.naiveWasm = filepath.Join(out, "app.wasm")
	// The same flags as the edge's bundle (Makefile), for a fair comparison.
	if b, err := bn.goCmd([]string{"GOOS=js", "GOARCH=wasm"}, "build", "-trimpath", "-ldflags=-s -w", "-o", bn.naiveWasm, "./e2e/bench/naive"); err != nil {
		return fmt.Errorf("build e2e/bench/naive: %v\n%s", err, b)
	}
	toml, err := os.ReadFile(filepath.Join(bn.root, "e2e", "bench", "naive", "wrangler.toml"))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(bn.dir, "naive", "wrangler.toml"), toml, 0o644)
}

func (bn *bench) goCmd(env []string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = bn.root
	cmd.Env = append(os.Environ(), env...)
	return cmd.CombinedOutput()
}

func (bn *bench) cleanup() {
	if bn.warm != nil {
		bn.warm.close()
	}
	closeAll(bn.heldA)
	var wg sync.WaitGroup
	for _, p := range []*proc.Process{bn.edge, bn.naive, bn.origin} {
		if p != nil {
			wg.Add(1)
			go func() { defer wg.Done(); p.Stop() }()
		}
	}
	wg.Wait()
	proc.FinishLogs(bn.dir, bn.tb.Failed())
}

func (bn *bench) mercure(base, topic string) string {
	return base + "/.well-known/mercure?topic=" + url.QueryEscape(topic)
}

func benchTopic(name string) string {
	return fmt.Sprintf("https://example.com/bench/%s/%d", name, time.Now().UnixNano())
}

// sample is a worker's memory at one moment: the hub's Wasm linear memory
// and the RSS of every workerd process under the launcher, of which proxy
// in the one that listens on the worker's port (wrangler's dev proxy).
type sample struct {
	st         stats
	rss, proxy int64
}

func (bn *bench) edgeSample() (sample, error) {
	st, err := getStats(bn.edgeURL + "/_edge/stats")
	s := rssSample(bn.edge, bn.edgeURL)
	s.st = st
	return s, err
}

func rssSample(p *proc.Process, base string) sample {
	pids := workerdPIDs(p.Pid())
	u, _ := url.Parse(base)
	port, _ := strconv.Atoi(u.Port())
	proxy := listenerPIDs(pids, port)
	var s sample
	for _, pid := range pids {
		r := rssBytes([]int{pid})
		s.rss += r
		if proxy[pid] {
			s.proxy += r
		}
	}
	return s
}

// edgeMemory holds p.streams[i] streams on the hub (each step adds
// streams to the previous ones) and measures the memory they added. The
// hub, its upstream feed and its first client exist before the baseline.
// The streams of the first step stay open for the burst.
func (bn *bench) edgeMemory() error {
	warmTopic := benchTopic("warm")
	var err error
	if bn.warm, err = dialSubscriber(bn.mercure(bn.edgeURL, warmTopic), nil, nil); err != nil {
		return err
	}
	if err := publish(bn.originURL, bn.pubToken, warmTopic, "warm"); err != nil {
		return err
	}
	if !waitEvents([]*subscriber{bn.warm}, 1, 20*time.Second) {
		return fmt.Errorf("the warm-up stream got no event through the edge within 20 s")
	}
	time.Sleep(2 * time.Second)
	base, err := bn.edgeSample()
	if err != nil {
		return err
	}
	if base.st.WasmMemoryBytes == 0 {
		bn.tb.Logf("the edge's stats carry no wasmMemoryBytes: Wasm memory not measured")
	}
	held := 0
	var more []*subscriber
	defer func() {
		closeAll(more)
		bn.settle(len(bn.heldA) + 1)
	}()
	for i, n := range bn.p.streams {
		topic := benchTopic(fmt.Sprintf("hold%d", n))
		subs, err := dialMany(n-held, bn.p.dialParallel, bn.mercure(bn.edgeURL, topic), nil, nil)
		if err != nil {
			return err
		}
		if i == 0 {
			bn.heldA, bn.topicA = subs, topic
			bn.res.burstClients = n
		} else {
			more = append(more, subs...)
		}
		held = n
		var st stats
		if !waitFor(30*time.Second, 200*time.Millisecond, func() bool {
			st, _ = getStats(bn.edgeURL + "/_edge/stats")
			return st.Subscribers >= n+1
		}) {
			return fmt.Errorf("hub counts %d subscribers, want %d", st.Subscribers, n+1)
		}
		// Every stream is live: one event reaches all of them.
		if err := publish(bn.originURL, bn.pubToken, topic, "hello"); err != nil {
			return err
		}
		if !waitEvents(subs, 1, 30*time.Second) {
			got, _ := totalEvents(subs)
			return fmt.Errorf("%d of %d new streams got the check event", got, len(subs))
		}
		time.Sleep(3 * time.Second)
		s, err := bn.edgeSample()
		if err != nil {
			return err
		}
		m := memResult{
			n:           n,
			wasmTot:     s.st.WasmMemoryBytes - base.st.WasmMemoryBytes,
			rssTot:      float64(s.rss - base.rss),
			rssProxy:    float64(s.proxy-base.proxy) / float64(n),
			subscribers: s.st.Subscribers,
		}
		m.wasm, m.rss = m.wasmTot/float64(n), m.rssTot/float64(n)
		bn.res.edgeMem = append(bn.res.edgeMem, m)
		bn.tb.Logf("edge N=%d: wasm %.0f → %.0f, rss %d → %d (proxy %d → %d)", n, base.st.WasmMemoryBytes, s.st.WasmMemoryBytes, base.rss, s.rss, base.proxy, s.proxy)
	}
	return nil
}

// settle waits, after streams were closed, until the hub holds at most
// want subscribers (workerd tells it of a closed stream within seconds),
// then 2 s more, so that tearing streams down does not load the next
// measurement.
func (bn *bench) settle(want int) {
	t0 := time.Now()
	var st stats
	ok := waitFor(30*time.Second, 200*time.Millisecond, func() bool {
		var err error
		st, err = getStats(bn.edgeURL + "/_edge/stats")
		return err == nil && st.Subscribers <= want
	})
	bn.tb.Logf("settle: hub holds %d subscribers (want ≤ %d) after %s (settled: %v)", st.Subscribers, want, time.Since(t0).Round(time.Millisecond), ok)
	time.Sleep(2 * time.Second)
}

// latency subscribes p.latSubs clients through the edge and as many
// straight to the origin, publishes p.latEvents events at a steady rate
// with the send time in data, and compares the delays at receipt.
func (bn *bench) latency() error {
	n, events := bn.p.latSubs, bn.p.latEvents
	bn.res.latN, bn.res.latEvents = n, events
	topic := benchTopic("latency")
	edgeLat := make([][]time.Duration, n)
	directLat := make([][]time.Duration, n)
	record := func(dst [][]time.Duration) func(int) func([]byte, time.Time) {
		return func(i int) func([]byte, time.Time) {
			return func(data []byte, at time.Time) {
				if ns, err := strconv.ParseInt(string(data), 10, 64); err == nil {
					dst[i] = append(dst[i], at.Sub(time.Unix(0, ns)))
				}
			}
		}
	}
	edgeSubs, err := dialMany(n, 32, bn.mercure(bn.edgeURL, topic), nil, record(edgeLat))
	if err != nil {
		return err
	}
	directSubs, err := dialMany(n, 32, bn.mercure(bn.originURL, topic), bn.subHeader, record(directLat))
	if err != nil {
		closeAll(edgeSubs)
		return err
	}
	all := append(slices.Clone(edgeSubs), directSubs...)
	time.Sleep(time.Second)
	tick := time.NewTicker(bn.p.latInterval)
	for range events {
		<-tick.C
		if err := publish(bn.originURL, bn.pubToken, topic, strconv.FormatInt(time.Now().UnixNano(), 10)); err != nil {
			tick.Stop()
			closeAll(all)
			return err
		}
	}
	tick.Stop()
	complete := waitEvents(all, int64(events), 30*time.Second)
	closeAll(all) // the readers are done: the slices are ours
	bn.settle(len(bn.heldA) + 1)
	flat := func(per [][]time.Duration) []time.Duration {
		var out []time.Duration
		for _, d := range per {
			out = append(out, d...)
		}
		slices.Sort(out)
		return out
	}
	d, e := flat(directLat), flat(edgeLat)
	bn.res.latGotD, bn.res.latGotE = len(d), len(e)
	if len(d) == 0 || len(e) == 0 {
		return fmt.Errorf("no latency samples (direct %d, edge %d)", len(d), len(e))
	}
	bn.res.latDirect = []time.Duration{pct(d, 50), pct(d, 99)}
	bn.res.latEdge = []time.Duration{pct(e, 50), pct(e, 99)}
	if !complete {
		return fmt.Errorf("not every subscriber got all %d events: direct %d, edge %d of %d samples", events, len(d), len(e), n*events)
	}
	return nil
}

func pct(sorted []time.Duration, p int) time.Duration {
	return sorted[min(len(sorted)-1, len(sorted)*p/100)]
}

// burst publishes p.burstEvents events as fast as p.publishers concurrent
// publishers can to the topic of the streams held since edgeMemory, and
// measures how fast they reach the clients. The time base is the clients'
// receipts, sampled every 50 ms in this process; the hub's deliveries
// counter is polled too, but a hub busy with a burst answers no other
// request until the burst is through (see doc.go), so it mostly serves to
// check the total afterwards.
func (bn *bench) burst() error {
	if len(bn.heldA) == 0 { // the edge memory phase did not run
		bn.topicA = benchTopic("burst")
		bn.res.burstClients = bn.p.streams[0]
		var err error
		if bn.heldA, err = dialMany(bn.p.streams[0], bn.p.dialParallel, bn.mercure(bn.edgeURL, bn.topicA), nil, nil); err != nil {
			return err
		}
		time.Sleep(time.Second)
	}
	subs, topic := bn.heldA, bn.topicA
	events := bn.p.burstEvents
	want := int64(events * len(subs))
	bn.res.burstEvents = events
	before := make([]int64, len(subs))
	var sum0 int64
	for i, s := range subs {
		before[i] = s.events.Load()
		sum0 += before[i]
	}
	st0, err := getStats(bn.edgeURL + "/_edge/stats")
	if err != nil {
		return err
	}
	// The worker's workerd and wrangler's dev proxy, apart.
	var worker, proxy []int
	u, _ := url.Parse(bn.edgeURL)
	port, _ := strconv.Atoi(u.Port())
	all := workerdPIDs(bn.edge.Pid())
	listens := listenerPIDs(all, port)
	for _, pid := range all {
		if listens[pid] {
			proxy = append(proxy, pid)
		} else {
			worker = append(worker, pid)
		}
	}
	self := []int{os.Getpid()}
	origin := []int{bn.origin.Pid()}
	cpuW0, cpuP0, cpuO0, cpuS0 := cpuTicks(worker), cpuTicks(proxy), cpuTicks(origin), cpuTicks(self)
	busy0, total0 := machineBusyTicks()
	procs0 := procTicks()

	// The hub's counter, polled on the side.
	var hubPolls, hubAnswers atomic.Int64
	stopPoll := make(chan struct{})
	pollDone := make(chan struct{})
	go func() {
		defer close(pollDone)
		for {
			select {
			case <-stopPoll:
				return
			case <-time.After(100 * time.Millisecond):
			}
			hubPolls.Add(1)
			if _, err := getStats(bn.edgeURL + "/_edge/stats"); err == nil {
				hubAnswers.Add(1)
			}
		}
	}()

	type point struct {
		t time.Time
		n int64
	}
	t0 := time.Now()
	var next atomic.Int64
	var pubErr atomic.Value
	var wg sync.WaitGroup
	for range bn.p.publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(events) || pubErr.Load() != nil {
					return
				}
				if err := publish(bn.originURL, bn.pubToken, topic, "burst-"+strconv.FormatInt(i, 10)); err != nil {
					pubErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	published := make(chan time.Duration, 1)
	go func() { wg.Wait(); published <- time.Since(t0) }()

	// Follow the clients until all have every event, or 90 s.
	points := []point{{t0, 0}}
	received := func() int64 {
		var n int64
		for _, s := range subs {
			n += s.events.Load()
		}
		return n - sum0
	}
	deadline := t0.Add(90 * time.Second)
	for {
		time.Sleep(50 * time.Millisecond)
		n := received()
		points = append(points, point{time.Now(), n})
		if n >= want || time.Now().After(deadline) || pubErr.Load() != nil {
			break
		}
	}
	end := points[len(points)-1].t
	cpuW1, cpuP1, cpuO1, cpuS1 := cpuTicks(worker), cpuTicks(proxy), cpuTicks(origin), cpuTicks(self)
	busy1, total1 := machineBusyTicks()
	procs1 := procTicks()
	bn.res.burstPublish = <-published
	close(stopPoll)
	<-pollDone
	if err, _ := pubErr.Load().(error); err != nil {
		return err
	}
	// The moment the last event arrived: the first sample with everything.
	for _, p := range points {
		if p.n >= want {
			end = p.t
			break
		}
	}
	bn.res.burstDur = end.Sub(t0)
	bn.res.burstReceived = points[len(points)-1].n
	bn.res.burstRate = float64(bn.res.burstReceived) / bn.res.burstDur.Seconds()
	for i := range points {
		for j := i + 1; j < len(points); j++ {
			if dt := points[j].t.Sub(points[i].t); dt >= time.Second {
				bn.res.burstPeak = max(bn.res.burstPeak, float64(points[j].n-points[i].n)/dt.Seconds())
				break
			}
		}
	}
	if bn.res.burstPeak == 0 {
		bn.res.burstPeak = bn.res.burstRate // the burst took less than a second
	}
	// The shape of the burst, for the log: deliveries received per 500 ms.
	var shape []string
	last, lastT := int64(0), t0
	for _, p := range points {
		if p.t.Sub(lastT) >= 500*time.Millisecond || p.n >= want && last < want {
			shape = append(shape, strconv.FormatInt(p.n-last, 10))
			last, lastT = p.n, p.t
		}
		if last >= want {
			break
		}
	}
	bn.tb.Logf("burst: deliveries received per 500 ms: %s", strings.Join(shape, " "))
	bn.res.cpuWorkerd, bn.res.cpuHottest = cpuUse(cpuW0, cpuW1, bn.res.burstDur)
	bn.res.cpuProxy, _ = cpuUse(cpuP0, cpuP1, bn.res.burstDur)
	bn.res.cpuOrigin, _ = cpuUse(cpuO0, cpuO1, bn.res.burstDur)
	bn.res.cpuBench, _ = cpuUse(cpuS0, cpuS1, bn.res.burstDur)
	if total1 > total0 {
		bn.res.cpuMachine = float64(runtime.NumCPU()) * float64(busy1-busy0) / float64(total1-total0)
	}
	mine := []int{os.Getpid(), bn.origin.Pid(), bn.edge.Pid(), bn.naive.Pid()}
	bn.res.cpuOther, bn.res.cpuOtherTop, bn.res.cpuOtherTopCores = otherCPU(procs0, procs1, mine, bn.res.burstDur)
	if l := bn.edge.Pid(); procs1[l].ticks >= procs0[l].ticks {
		bn.res.cpuLauncher = float64(procs1[l].ticks-procs0[l].ticks) / (bn.res.burstDur.Seconds() * clockTicks)
	}
	bn.res.hubPolls, bn.res.hubAnswers = hubPolls.Load(), hubAnswers.Load()

	// The hub's own count, once it answers again.
	var st1 stats
	waitFor(30*time.Second, 200*time.Millisecond, func() bool {
		st1, err = getStats(bn.edgeURL + "/_edge/stats")
		return err == nil && st1.Deliveries-st0.Deliveries >= float64(want)
	})
	bn.res.burstDeliveries = st1.Deliveries - st0.Deliveries
	bn.res.burstDropped = st1.Dropped - st0.Dropped
	bn.res.burstEventsHub = st1.Events - st0.Events
	bn.res.burstBatches = st1.Batches - st0.Batches
	bn.res.burstWrites = st1.Writes - st0.Writes
	bn.res.burstDone = bn.res.burstReceived >= want
	if !bn.res.burstDone {
		return fmt.Errorf("clients received %d of %d events", bn.res.burstReceived, want)
	}
	if bn.res.burstDeliveries < float64(want) {
		return fmt.Errorf("the hub counted %.0f deliveries, want at least %d", bn.res.burstDeliveries, want)
	}
	return nil
}

// steady publishes p.steadyRate events per second for p.steadySecs
// seconds to the streams held since edgeMemory (one hub object), each
// event carrying its send time, and measures the deliveries per second
// the clients received over the run and the publish→receive latency of
// every delivery: a rate the hub sustains, with the latency it costs,
// rather than how fast it drains a burst.
func (bn *bench) steady() error {
	subs, topic := bn.heldA, bn.topicA
	if len(subs) == 0 {
		return fmt.Errorf("no held streams (run the edge memory or burst phase too)")
	}
	rate, secs := bn.p.steadyRate, bn.p.steadySecs
	events := rate * secs
	bn.res.steadyClients, bn.res.steadyEvents = len(subs), events
	bn.res.steadyOffered = float64(rate * len(subs))
	lat := make([][]time.Duration, len(subs))
	last := make([]time.Time, len(subs))
	before := make([]int64, len(subs))
	for i, s := range subs {
		before[i] = s.events.Load()
		lat[i] = make([]time.Duration, 0, events)
		s.onData(func(data []byte, at time.Time) {
			if ns, err := strconv.ParseInt(string(data), 10, 64); err == nil {
				lat[i] = append(lat[i], at.Sub(time.Unix(0, ns)))
				last[i] = at
			}
		})
	}
	defer func() {
		for _, s := range subs {
			s.onData(nil)
		}
	}()
	st0, err := getStats(bn.edgeURL + "/_edge/stats")
	if err != nil {
		return err
	}

	// Publish on a fixed schedule; publishes run concurrently so that a
	// slow answer does not delay the next one.
	t0 := time.Now()
	sem := make(chan struct{}, bn.p.publishers)
	var pubErr atomic.Value
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(rate)
	for i := range events {
		if d := time.Until(t0.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		if pubErr.Load() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := publish(bn.originURL, bn.pubToken, topic, strconv.FormatInt(time.Now().UnixNano(), 10)); err != nil {
				pubErr.CompareAndSwap(nil, err)
			}
		}()
	}
	wg.Wait()
	if err, _ := pubErr.Load().(error); err != nil {
		return err
	}
	complete := waitFor(60*time.Second, 50*time.Millisecond, func() bool {
		for i, s := range subs {
			if s.events.Load()-before[i] < int64(events) {
				return false
			}
		}
		return true
	})
	for _, s := range subs {
		s.onData(nil) // the slices are ours from here on
	}
	time.Sleep(100 * time.Millisecond) // a handler call in progress ends
	var all []time.Duration
	end := t0
	for i := range subs {
		all = append(all, lat[i]...)
		if last[i].After(end) {
			end = last[i]
		}
	}
	if len(all) == 0 {
		return fmt.Errorf("no event received")
	}
	slices.Sort(all)
	bn.res.steadyRate = float64(len(all)) / end.Sub(t0).Seconds()
	bn.res.steadyLat = []time.Duration{pct(all, 50), pct(all, 99), all[len(all)-1]}
	if st1, err := getStats(bn.edgeURL + "/_edge/stats"); err == nil {
		bn.res.steadyFanouts = st1.Batches - st0.Batches
		bn.res.steadyWrites = st1.Writes - st0.Writes
	}
	bn.res.steadyDone = complete
	if !complete {
		return fmt.Errorf("clients received %d of %d deliveries within 60 s of the last publish", len(all), events*len(subs))
	}
	return nil
}

// naiveMemory holds p.naive streams through the naive relay worker and
// measures the memory they added; the Wasm memory is the sum of the linear
// memories of the instances holding them (the worker's /_naive/stats).
func (bn *bench) naiveMemory() error {
	closeAll(bn.heldA) // the edge is done; keep the machine quiet
	bn.heldA = nil
	bn.settle(1)
	statsURL := bn.naiveURL + "/_naive/stats"
	idle, err := getStats(statsURL)
	if err != nil {
		return err
	}
	bn.res.naiveFloor = idle.SelfMemoryBytes
	time.Sleep(2 * time.Second)
	base := rssSample(bn.naive, bn.naiveURL)
	n := bn.p.naive
	topic := benchTopic("naive")
	subs, err := dialMany(n, 8, bn.mercure(bn.naiveURL, topic), bn.subHeader, nil)
	if err != nil {
		return err
	}
	defer closeAll(subs)
	var st stats
	if !waitFor(30*time.Second, 200*time.Millisecond, func() bool {
		st, _ = getStats(statsURL)
		return st.Streams >= n
	}) {
		return fmt.Errorf("naive worker counts %d streams, want %d", st.Streams, n)
	}
	if err := publish(bn.originURL, bn.pubToken, topic, "hello"); err != nil {
		return err
	}
	if !waitEvents(subs, 1, 30*time.Second) {
		got, _ := totalEvents(subs)
		return fmt.Errorf("%d of %d naive streams got the check event", got, n)
	}
	time.Sleep(3 * time.Second)
	after := rssSample(bn.naive, bn.naiveURL)
	if st, err = getStats(statsURL); err != nil {
		return err
	}
	m := memResult{n: n, rssTot: float64(after.rss - base.rss), wasmTot: st.WasmMemoryBytes, subscribers: st.Streams}
	m.rss = m.rssTot / float64(n)
	m.rssProxy = float64(after.proxy-base.proxy) / float64(n)
	if st.Streams > 0 {
		m.wasm = st.WasmMemoryBytes / float64(st.Streams)
	}
	bn.res.naiveMem = m
	bn.tb.Logf("naive N=%d: rss %d → %d (proxy %d → %d), wasm %.0f in %d instances", n, base.rss, after.rss, base.proxy, after.proxy, st.WasmMemoryBytes, st.Streams)
	return nil
}

// bundle measures gzip -9 of the edge's app.wasm (what counts against the
// Workers size limit, with the small JS files) and of the naive worker's.
func (bn *bench) bundle() error {
	var err error
	build := filepath.Join(bn.dir, "edge", "worker", "build") // the snapshot under test
	if bn.res.edgeRaw, bn.res.edgeGz, err = gzipSize(filepath.Join(build, "app.wasm")); err != nil {
		return err
	}
	bn.res.edgeBundleGz = bn.res.edgeGz
	for _, f := range []string{"entry.mjs", "wasm_exec.js"} {
		if _, gz, err := gzipSize(filepath.Join(build, f)); err == nil {
			bn.res.edgeBundleGz += gz
		}
	}
	bn.res.naiveRaw, bn.res.naiveGz, err = gzipSize(bn.naiveWasm)
	return err
}

// gzipSize returns the size of path and of `gzip -9 < path`; without a
// gzip binary it compresses with compress/gzip at level 9.
func gzipSize(path string) (raw, gz int64, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, 0, err
	}
	if out, err := exec.Command("gzip", "-9", "-c", path).Output(); err == nil {
		return fi.Size(), int64(len(out)), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	var cw countWriter
	zw, _ := gzip.NewWriterLevel(&cw, gzip.BestCompression)
	if _, err := io.Copy(zw, f); err != nil {
		return 0, 0, err
	}
	zw.Close()
	return fi.Size(), int64(cw), nil
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }
