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
	burstEvents  int   // events of the deliveries/s burst (to streams[0] clients)
	publishers   int   // concurrent publishers of the burst
	steadyRates  []int // events/s of the sustained measurements (to streams[0] clients)
	steadySecs   int   // the length of each
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
		steadyRates:  []int{200, 1000},
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
	if v := os.Getenv("EDGE_BENCH_STEADY_RATE"); v != "" {
		p.steadyRates = nil
		for _, f := range strings.Split(v, ",") {
			if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
				p.steadyRates = append(p.steadyRates, n)
			}
		}
	}
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
	// proxyURL is where wrangler's dev proxy listens for the edge: the
	// edgeURL too with EDGE_BENCH_PROXY; otherwise clients go to the
	// workerd running the worker.
	proxyURL  string
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
	// floor is the pure-JS baseline object (e2e/bench/floor), shared with
	// before.
	floor *floorWorker
	// before, when EDGE_BENCH_BEFORE names another checkout, is the same
	// benchmark against that checkout's worker/build (main, before a
	// change), run in the same run on the same origin.
	before *bench
	label  string          // "" for the worker under test, "main" for before
	procs  []*proc.Process // every worker launcher started
	pres   *presenceResult // the presence phase (presence_test.go)
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
	latFloor           []time.Duration // p50, p99 of the pure-JS floor object's fan-out (through the dev proxy)
	// The legs of the edge's delay, per event (latency_test.go): when the
	// first of its clients had it (latFirst; the origin's first direct
	// client: latDirectFirst) and how much later the last one did
	// (latSpread), p50 and p99; the same for the floor object, and its
	// delay straight from its own workerd (no dev proxy: latFloorDirect).
	latFirst, latSpread, latDirectFirst []time.Duration
	latFloorFirst, latFloorSpread       []time.Duration
	latFloorSlowest                     string
	latFloorDirect                      []time.Duration
	latFloorN, latFloorHeld             int // the floor's streams through the proxy; other streams it held

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
	cpuWorkerSecs             float64 // CPU seconds of the worker's workerd over the burst
	// cpuBursts: the worker's workerd CPU and the hub's writes of the
	// first burst and of the CPU rounds after it (row 4a).
	cpuBursts []cpuSample
	// perfHub, perfFloor: where the object's thread spent the CPU
	// rounds' bursts and the floor's runs of them, with EDGE_BENCH_PERF
	// (row 4a's perf rows).
	perfHub, perfFloor perfSplit
	burstBytes         int64 // bytes the clients read during the burst
	floor              floorResult
	// answerStats and answerSubs are how long a stats request and a new
	// subscription (to its 200) took while the burst ran, sorted;
	// answerFail counts those that failed or timed out.
	answerStats, answerSubs []time.Duration
	// answerHealth: /healthz, answered by the isolate's front door
	// without the hub object, probed beside them (the control).
	answerHealth []time.Duration
	// latFeedWaits: the hub's feed pump during the latency run.
	latFeedWaits *feedWaits
	// latSlowest: the edge's slowest events, when in the run.
	latSlowest string
	// latLegs and latSlowLegs: where the edge's events spent their time,
	// from the hub's trace (p50 / p99 of each leg; the slowest events').
	latLegs, latSlowLegs string
	// latGC: the hub's Go collections during the latency run, and its
	// live heap after it.
	latGC                int
	latHeapLive          float64
	latJSValues          [2]float64 // JS values Go held before and after the run
	answerFail           int
	answerRounds         int     // bursts the answers were measured over
	cpuProxy             float64 // by wrangler's dev proxy (workerd)
	cpuLauncher          float64 // by the launcher's node process
	cpuOther             float64 // by processes this run did not start
	cpuOtherTop          string
	cpuOtherTopCores     float64
	cpuOrigin, cpuBench  float64
	cpuMachine           float64 // busy cores of the whole machine
	hubPolls, hubAnswers int64   // stats requests sent to the hub during the burst, answered
	burstDone            bool

	steadies []steadyResult // the hub's; kind "floor" for the floor object's, "sized" for the hub at the sizing formula's clients

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
		{"before", bn.holdBefore},
		{"latency", bn.latency},
		{"burst", bn.sequential("burst", (*bench).burst)},
		{"steady", bn.sequential("steady", (*bench).steadyAll)},
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
	for _, p := range bn.workers() {
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
	have, err := proc.OriginFlags(originBin)
	if err != nil {
		return err
	}
	var flags []string
	if have["jwt-key"] {
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
	if have["history"] {
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
		{Name: "floor", Config: filepath.Join(root, "e2e", "bench", "floor", "wrangler.toml")},
	}
	if port, err := strconv.Atoi(os.Getenv("EDGE_BENCH_INSPECTOR")); err == nil && port > 0 {
		workers[0].Inspector = port // for a profile from outside (doc.go)
	}
	// EDGE_BENCH_BEFORE=<another checkout, built> runs its worker beside
	// this one, for the "main" rows.
	beforeRoot := os.Getenv("EDGE_BENCH_BEFORE")
	if beforeRoot != "" {
		// EDGE_BENCH_BEFORE_VARS="NAME:VALUE,…" sets vars of that worker
		// only (with EDGE_BENCH_BEFORE naming this checkout, a paired
		// comparison of two settings).
		bvars := slices.Clone(vars)
		for _, v := range strings.Split(os.Getenv("EDGE_BENCH_BEFORE_VARS"), ",") {
			if v = strings.TrimSpace(v); v != "" {
				bvars = append(bvars, v)
			}
		}
		workers = append(workers, proc.Worker{Name: "edge-before", Config: filepath.Join(beforeRoot, "wrangler.toml"), Snapshot: filepath.Join(bn.dir, "edge-before"), Vars: bvars})
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
		bn.edge, bn.edgeURL, bn.proxyURL = started[0].Process, started[0].URL, started[0].URL
	}
	if started[1] != nil {
		bn.naive, bn.naiveURL = started[1].Process, started[1].URL
	}
	if started[2] != nil {
		bn.floor = &floorWorker{proc: started[2].Process, url: started[2].URL, proxy: started[2].URL}
	}
	for _, st := range started {
		if st != nil {
			bn.procs = append(bn.procs, st.Process)
		}
	}
	if beforeRoot != "" && started[3] != nil {
		bn.before = &bench{tb: bn.tb, p: bn.p, root: bn.root, dir: bn.dir, originURL: bn.originURL,
			edge: started[3].Process, edgeURL: started[3].URL, proxyURL: started[3].URL, naive: bn.naive, origin: bn.origin,
			pubToken: bn.pubToken, subHeader: bn.subHeader, floor: bn.floor, label: "main", procs: bn.procs}
		bn.before.res.errs = map[string]error{}
	}
	// Every client and probe goes to the workerd running each worker, not
	// through wrangler's dev proxy, which production does not have, unless
	// EDGE_BENCH_PROXY=1 (doc.go).
	if viaProxy() {
		return errors.Join(errs...)
	}
	direct := func(name string, p *proc.Process, u *string) {
		if d := workerdURL(p, *u); d != "" {
			*u = d
		} else {
			errs = append(errs, fmt.Errorf("the %s worker's own workerd port not found (EDGE_BENCH_PROXY=1 goes through wrangler's dev proxy)", name))
		}
	}
	if bn.edge != nil {
		direct("edge", bn.edge, &bn.edgeURL)
	}
	if bn.floor != nil {
		direct("floor", bn.floor.proc, &bn.floor.url)
	}
	if bn.before != nil {
		direct("edge-before", bn.before.edge, &bn.before.edgeURL)
	}
	return errors.Join(errs...)
}

// viaProxy reports whether the clients go through wrangler's dev proxy
// (EDGE_BENCH_PROXY=1) rather than straight to each worker's workerd.
func viaProxy() bool { return os.Getenv("EDGE_BENCH_PROXY") != "" }

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
	if bn.before != nil {
		closeAll(bn.before.heldA)
		if bn.before.warm != nil {
			bn.before.warm.close()
		}
	}
	var wg sync.WaitGroup
	for _, p := range append(bn.workers(), bn.origin) {
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
	s := rssSample(bn.edge, bn.proxyURL)
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

func pct(sorted []time.Duration, p int) time.Duration {
	return sorted[min(len(sorted)-1, len(sorted)*p/100)]
}

// burst publishes p.burstEvents events as fast as p.publishers concurrent
// publishers can to the topic of the streams held since edgeMemory, and
// measures how fast they reach the clients. The time base is the clients'
// receipts, sampled every 50 ms in this process; the hub's deliveries
// counter is polled too, and new subscribers are opened, to time how long
// each waits for the hub while the burst runs (row 6: answers_test.go;
// the burst is repeated for those until there are answerMin of each, and
// answerMinRounds bursts in all).
// When the main worker runs too (EDGE_BENCH_BEFORE), its streams hold the
// same topic and the same burst reaches both hubs at once: a paired
// measurement under one load.
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
	targets := bn.targets()
	events := bn.p.burstEvents
	var rec *perfRecord
	if perfOn {
		var pids []int
		for _, t := range targets {
			pids = append(pids, workerPIDs(t.edge, t.proxyURL)...)
			if t.floor != nil {
				pids = append(pids, workerPIDs(t.floor.proc, t.floor.proxy)...)
			}
		}
		var err error
		if rec, err = startPerf(bn.dir, pids); err != nil {
			return err
		}
		defer rec.stop() // on an early return; a no-op once stopped
	}
	obs := make([]*burstObs, len(targets))
	for i, t := range targets {
		var err error
		if obs[i], err = t.startBurst(events, &answerLog{}, true); err != nil {
			return err
		}
	}
	busy0, total0 := machineBusyTicks()
	procs0 := procTicks()
	t0 := time.Now()
	pub, pubErr := bn.publishBurst(events, "burst-", obs)
	busy1, total1 := machineBusyTicks()
	procs1 := procTicks()
	if pubErr != nil {
		for _, o := range obs {
			o.stop()
		}
		return pubErr
	}
	mine := []int{os.Getpid(), bn.origin.Pid()}
	for _, p := range bn.workers() {
		mine = append(mine, p.Pid())
	}
	var errs []error
	for i, t := range targets {
		o := obs[i]
		t.res.burstPublish = pub
		o.finish(t0)
		r := &t.res
		if total1 > total0 {
			r.cpuMachine = float64(runtime.NumCPU()) * float64(busy1-busy0) / float64(total1-total0)
		}
		r.cpuOther, r.cpuOtherTop, r.cpuOtherTopCores = otherCPU(procs0, procs1, mine, r.burstDur)
		if l := t.edge.Pid(); procs1[l].ticks >= procs0[l].ticks {
			r.cpuLauncher = float64(procs1[l].ticks-procs0[l].ticks) / (r.burstDur.Seconds() * clockTicks)
		}
		if err := t.checkBurst(o); err != nil {
			errs = append(errs, fmt.Errorf("%s%w", t.labelPrefix(), err))
		} else {
			c := cpuOver(o.cpuW0, o.cpuW1, r.burstWrites, o.points[0].t, o.end)
			c.batches = r.burstBatches
			c.plan, c.planDeliveries = t.fanoutPlan(c.from, c.to, len(t.heldA))
			r.cpuBursts = append(r.cpuBursts, c)
			bn.logWindow(t.labelPrefix()+"hub burst 1", r.cpuBursts[len(r.cpuBursts)-1])
		}
	}
	// The floor: the same write pattern from the pure-JS object, for each
	// target, one run right after each of its bursts.
	floors := make([]*floorRunner, len(targets))
	floorRun := func(probe, count bool) {
		for i, t := range targets {
			if floors[i] == nil {
				continue
			}
			if err := floors[i].run(probe, count); err != nil {
				errs = append(errs, fmt.Errorf("%sfloor: %w", t.labelPrefix(), err))
				floors[i].finish()
				floors[i] = nil
			}
		}
	}
	floorsEnough := func() bool {
		for _, fr := range floors {
			if fr != nil && !fr.answers.enough() {
				return false
			}
		}
		return true
	}
	for i, t := range targets {
		if len(t.res.cpuBursts) == 0 {
			continue
		}
		fr, err := t.floorStart()
		if err != nil {
			errs = append(errs, fmt.Errorf("%sfloor: %w", t.labelPrefix(), err))
			continue
		}
		floors[i] = fr
	}
	floorRun(true, true)
	// More of the same burst: first the CPU rounds, with no answer
	// probes, each followed by the floor's run of its fan-outs; then, with
	// probes, the answer rounds until the answers are enough.
	rounds, probed := 1, 1
	for ; rounds < answerMaxRounds && (rounds < answerMinRounds || !allEnough(obs) || !floorsEnough()); rounds++ {
		cpuRound := rounds < answerMinRounds
		if !cpuRound {
			probed++
		}
		time.Sleep(time.Second)
		more := make([]*burstObs, len(targets))
		for i, t := range targets {
			answers := obs[i].answers
			if cpuRound {
				answers = nil
			}
			var err error
			if more[i], err = t.startBurst(events, answers, false); err != nil {
				return errors.Join(append(errs, err)...)
			}
		}
		_, err := bn.publishBurst(events, fmt.Sprintf("burst%d-", rounds), more)
		for i, o := range more {
			o.stop()
			// Its CPU and writes too, when every client had it all.
			if !cpuRound {
				continue
			}
			if st, serr := getStats(targets[i].edgeURL + "/_edge/stats"); err == nil && serr == nil && o.received() >= o.want {
				r := &targets[i].res
				c := cpuOver(o.cpuW0, o.cpuW1, st.Writes-o.st0.Writes, o.points[0].t, o.end)
				c.batches = st.Batches - o.st0.Batches
				c.plan, c.planDeliveries = targets[i].fanoutPlan(c.from, c.to, len(targets[i].heldA))
				r.cpuBursts = append(r.cpuBursts, c)
				bn.logWindow(fmt.Sprintf("%shub burst %d", targets[i].labelPrefix(), rounds+1), r.cpuBursts[len(r.cpuBursts)-1])
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("answer round %d: %w", rounds, err))
			break
		}
		floorRun(!cpuRound, cpuRound)
	}
	for _, fr := range floors {
		if fr != nil {
			fr.finish()
		}
	}
	for i, t := range targets {
		r := &t.res
		r.answerStats, r.answerSubs, r.answerFail = obs[i].answers.sorted()
		r.answerHealth = obs[i].answers.healthSorted()
		r.answerRounds = probed
	}
	for _, t := range targets {
		t.settle(len(t.heldA) + 1)
	}
	if rec != nil {
		if err := rec.stop(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		for _, t := range targets {
			var err error
			// Over the CPU rounds: no probes, and warm.
			if t.res.perfHub, err = rec.splitAll(workerPIDs(t.edge, t.proxyURL), afterFirst(t.res.cpuBursts)); err != nil {
				errs = append(errs, err)
			}
			if t.floor != nil {
				if t.res.perfFloor, err = rec.splitAll(workerPIDs(t.floor.proc, t.floor.proxy), afterFirst(t.res.floor.cpuRuns)); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// afterFirst returns samples but the first.
func afterFirst(samples []cpuSample) []cpuSample {
	if len(samples) < 2 {
		return nil
	}
	return samples[1:]
}

func allEnough(obs []*burstObs) bool {
	for _, o := range obs {
		if !o.answers.enough() {
			return false
		}
	}
	return true
}

// publishBurst publishes events events as fast as p.publishers concurrent
// publishers can (data tag+i), follows the clients of obs until all have
// every event, or 90 s, and returns how long publishing took.
func (bn *bench) publishBurst(events int, tag string, obs []*burstObs) (time.Duration, error) {
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
				if err := publish(bn.originURL, bn.pubToken, bn.topicA, tag+strconv.FormatInt(i, 10)); err != nil {
					pubErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	published := make(chan time.Duration, 1)
	go func() { wg.Wait(); published <- time.Since(t0) }()

	deadline := t0.Add(90 * time.Second)
	for {
		time.Sleep(50 * time.Millisecond)
		done := true
		for _, o := range obs {
			done = o.sample() && done
		}
		if done || time.Now().After(deadline) || pubErr.Load() != nil {
			break
		}
	}
	pub := <-published
	err, _ := pubErr.Load().(error)
	return pub, err
}

// targets returns this worker and, when it runs with its streams on the
// same topic, the main worker: the hubs a paired phase measures.
func (bn *bench) targets() []*bench {
	if b := bn.before; b != nil && len(b.heldA) > 0 && b.topicA == bn.topicA {
		return []*bench{bn, b}
	}
	return []*bench{bn}
}

func (bn *bench) labelPrefix() string {
	if bn.label == "" {
		return ""
	}
	return bn.label + ": "
}

// burstObs follows one hub's clients, CPU and answers through a burst.
type burstObs struct {
	bn                   *bench
	want, sum0, bytes0   int64
	st0                  stats
	worker, proxy        []int
	cpuW0, cpuP0, cpuO0  map[string]uint64
	cpuS0                map[string]uint64
	points               []burstPoint
	answers              *answerLog
	hubPolls, hubAnswers atomic.Int64
	stopPoll, pollDone   chan struct{}
	cpuW1, cpuP1, cpuO1  map[string]uint64
	cpuS1                map[string]uint64
	end                  time.Time
	stopped              bool
}

type burstPoint struct {
	t time.Time
	n int64
}

// startBurst starts following bn's hub for a burst of events, its answers
// recorded in answers; measured is false for the bursts repeated for the
// answers only.
func (bn *bench) startBurst(events int, answers *answerLog, measured bool) (*burstObs, error) {
	subs := bn.heldA
	o := &burstObs{bn: bn, want: int64(events * len(subs)), answers: answers,
		stopPoll: make(chan struct{}), pollDone: make(chan struct{})}
	if measured {
		bn.res.burstEvents = events
	}
	for _, s := range subs {
		o.sum0 += s.events.Load()
		o.bytes0 += s.bytes.Load()
	}
	var err error
	if o.st0, err = getStats(bn.edgeURL + "/_edge/stats"); err != nil {
		return nil, err
	}
	// The worker's workerd and wrangler's dev proxy, apart.
	u, _ := url.Parse(bn.proxyURL)
	port, _ := strconv.Atoi(u.Port())
	all := workerdPIDs(bn.edge.Pid())
	listens := listenerPIDs(all, port)
	for _, pid := range all {
		if listens[pid] {
			o.proxy = append(o.proxy, pid)
		} else {
			o.worker = append(o.worker, pid)
		}
	}
	o.cpuW0, o.cpuP0, o.cpuO0, o.cpuS0 = cpuTicks(o.worker), cpuTicks(o.proxy), cpuTicks([]int{bn.origin.Pid()}), cpuTicks([]int{os.Getpid()})
	o.points = []burstPoint{{time.Now(), 0}}
	// The hub's counter, polled on the side, and new subscribers: how
	// long each waits for the hub while the burst runs.
	go probeAnswers(o.answers, bn.edgeURL+"/_edge/stats", bn.mercure(bn.edgeURL, benchTopic("answer")), bn.edgeURL+"/healthz", func(ok bool) {
		o.hubPolls.Add(1)
		if ok {
			o.hubAnswers.Add(1)
		}
	}, o.stopPoll, o.pollDone)
	return o, nil
}

func (o *burstObs) received() int64 {
	var n int64
	for _, s := range o.bn.heldA {
		n += s.events.Load()
	}
	return n - o.sum0
}

// sample records the clients' count and reports whether they have it all;
// the first time they do, it takes the CPU counters.
func (o *burstObs) sample() bool {
	if o.stopped {
		return true
	}
	n := o.received()
	o.points = append(o.points, burstPoint{time.Now(), n})
	if n >= o.want {
		o.stop()
		return true
	}
	return false
}

// stop takes the end counters and stops the polls.
func (o *burstObs) stop() {
	if o.stopped {
		return
	}
	o.stopped = true
	o.end = time.Now()
	o.cpuW1, o.cpuP1, o.cpuO1, o.cpuS1 = cpuTicks(o.worker), cpuTicks(o.proxy), cpuTicks([]int{o.bn.origin.Pid()}), cpuTicks([]int{os.Getpid()})
	close(o.stopPoll)
	<-o.pollDone
}

// finish computes the burst's results into the hub's bench.
func (o *burstObs) finish(t0 time.Time) {
	o.stop()
	bn, r := o.bn, &o.bn.res
	points, want := o.points, o.want
	end := o.end
	for _, p := range points {
		if p.n >= want {
			end = p.t
			break
		}
	}
	r.burstDur = end.Sub(t0)
	r.burstReceived = points[len(points)-1].n
	for _, s := range bn.heldA {
		r.burstBytes += s.bytes.Load()
	}
	r.burstBytes -= o.bytes0
	r.burstRate = float64(r.burstReceived) / r.burstDur.Seconds()
	for i := range points {
		for j := i + 1; j < len(points); j++ {
			if dt := points[j].t.Sub(points[i].t); dt >= time.Second {
				r.burstPeak = max(r.burstPeak, float64(points[j].n-points[i].n)/dt.Seconds())
				break
			}
		}
	}
	if r.burstPeak == 0 {
		r.burstPeak = r.burstRate // the burst took less than a second
	}
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
	bn.tb.Logf("burst%s: deliveries received per 500 ms: %s", bn.labelSuffix(), strings.Join(shape, " "))
	// CPU over the window up to the moment the counters were taken.
	win := o.end.Sub(t0)
	r.cpuWorkerd, r.cpuHottest = cpuUse(o.cpuW0, o.cpuW1, win)
	r.cpuWorkerSecs = r.cpuWorkerd * win.Seconds()
	r.cpuProxy, _ = cpuUse(o.cpuP0, o.cpuP1, win)
	r.cpuOrigin, _ = cpuUse(o.cpuO0, o.cpuO1, win)
	r.cpuBench, _ = cpuUse(o.cpuS0, o.cpuS1, win)
	r.hubPolls, r.hubAnswers = o.hubPolls.Load(), o.hubAnswers.Load()
}

// checkBurst reads the hub's own counters once it answers again.
func (bn *bench) checkBurst(o *burstObs) error {
	var st1 stats
	var err error
	waitFor(30*time.Second, 200*time.Millisecond, func() bool {
		st1, err = getStats(bn.edgeURL + "/_edge/stats")
		return err == nil && st1.Deliveries-o.st0.Deliveries >= float64(o.want)
	})
	r := &bn.res
	r.burstDeliveries = st1.Deliveries - o.st0.Deliveries
	r.burstDropped = st1.Dropped - o.st0.Dropped
	r.burstEventsHub = st1.Events - o.st0.Events
	r.burstBatches = st1.Batches - o.st0.Batches
	r.burstWrites = st1.Writes - o.st0.Writes
	r.burstDone = r.burstReceived >= o.want
	if !r.burstDone {
		return fmt.Errorf("clients received %d of %d events", r.burstReceived, o.want)
	}
	if r.burstDeliveries < float64(o.want) {
		return fmt.Errorf("the hub counted %.0f deliveries, want at least %d", r.burstDeliveries, o.want)
	}
	return nil
}

// naiveMemory holds p.naive streams through the naive relay worker and
// measures the memory they added; the Wasm memory is the sum of the linear
// memories of the instances holding them (the worker's /_naive/stats).
func (bn *bench) naiveMemory() error {
	closeAll(bn.heldA) // the edge is done; keep the machine quiet
	bn.heldA = nil
	if bn.before != nil {
		closeAll(bn.before.heldA)
		bn.before.heldA = nil
	}
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
