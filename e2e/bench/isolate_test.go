package bench

import (
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
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

// Targets of issue 12 measured by BenchmarkEdgeIsolate.
const (
	// targetIsolatePerStream bounds what one held stream adds to the
	// isolate (JS heap + embedder heap + Wasm memory), at the largest N.
	targetIsolatePerStream = 8000 // bytes ("8 KB")
	// targetWorkerRSSPerStream bounds the worker process's RSS per stream.
	targetWorkerRSSPerStream = 100 << 10
	// targetFrontCPU bounds the CPU of one short front-door request.
	targetFrontCPU = 2 * time.Millisecond
)

// floorKind names the front-door row that starts no Go: the floor the
// others are compared with.
const floorKind = "GET /_edge/stats without its token (401 from JS: the floor)"

// isoHeartbeatMS is the hub's heartbeat interval under BenchmarkEdgeIsolate.
const isoHeartbeatMS = "120000"

// isoWorker is one edge bundle under BenchmarkEdgeIsolate: this tree's, or
// the baseline's (EDGE_BENCH_BASELINE).
type isoWorker struct {
	label     string // "main", "this tree"
	config    string // wrangler.toml whose main names the bundle
	srv       *proc.Server
	inspector int
	mem       []isoMem
	kept      *heapKept // JS heap kept alive per client write
	front     []frontCPU
	idleCPU   float64 // CPU seconds per second of the idle worker process
}

// isoMem is what n held streams added to the worker, per stream.
type isoMem struct {
	n                      int
	js, embedder, wasm     float64 // bytes per stream, after garbage collection
	rssWorker, rssProxy    float64 // bytes per stream
	jsTot, embTot, wasmTot float64 // bytes added for n
	subscribers            int
	heapBefore, heapAfter  heapUsage
	wasmBefore, wasmAfter  float64
	rssBeforeW, rssAfterW  int64
	isolate                float64 // js + embedder + wasm, per stream
}

// targetKeptPerWrite bounds the heap a write may keep alive while its
// stream is held: Go's JS values per event (about ten, held until Go's
// collector runs) spread over the event's writes stay far below it; a
// stream mode that keeps something per write (≈ 90 B with a
// ReadableStream) does not.
const targetKeptPerWrite = 10

// heapKept is what a run of writes to held streams left in an isolate's
// heap after a garbage collection, the streams still held.
type heapKept struct {
	label          string
	streams        int
	events, writes int
	js, embedder   float64 // bytes added in all
}

// perWrite is the JS plus embedder heap kept alive per write.
func (k heapKept) perWrite() float64 { return (k.js + k.embedder) / float64(k.writes) }

// keptEvents is how many events the heap-kept measurement writes to each
// of its streams.
const keptEvents = 100

// frontCPU is the worker process's CPU per short front-door request.
type frontCPU struct {
	what string
	n    int
	cpu  time.Duration // per request
	wall time.Duration // mean per request, as the client saw it
}

// heapUsage is V8's Runtime.getHeapUsage answer.
type heapUsage = proc.HeapUsage

// BenchmarkEdgeIsolate measures what issue 12 asks of the isolate and the
// front door (doc.go, "Isolate memory and front-door CPU"): memory per held
// stream as Cloudflare's 128 MB isolate limit counts it (JS heap, embedder
// heap and Wasm memory, read through the inspector after a garbage
// collection), the worker process's RSS per held stream, and the CPU of
// short front-door requests. With EDGE_BENCH_BASELINE=<git revision> it
// builds that revision's worker too and measures both in the same run, one
// after the other, printing today's value beside the new one.
func BenchmarkEdgeIsolate(b *testing.B) {
	if os.Getenv("EDGE_BENCH_ISOLATE") == "0" {
		b.Skip("EDGE_BENCH_ISOLATE=0")
	}
	ib := &isoBench{tb: b, loadStart: loadAverage()}
	defer ib.cleanup()
	start := time.Now()
	if err := ib.setup(); err != nil {
		b.Fatalf("setup: %v (logs in %s)", err, ib.dir)
	}
	b.Logf("setup %s (logs in %s)", time.Since(start).Round(time.Millisecond), ib.dir)
	b.ResetTimer()
	for _, w := range ib.workers {
		if err := ib.measure(w); err != nil {
			ib.errs = append(ib.errs, fmt.Errorf("%s: %w", w.label, err))
			b.Errorf("%s: %v", w.label, err)
		}
	}
	if len(ib.streams) > 0 && os.Getenv("EDGE_BENCH_ISOLATE_FLOOR") != "0" {
		if err := ib.floorMemory(); err != nil {
			ib.errs = append(ib.errs, fmt.Errorf("floor: %w", err))
			b.Errorf("floor: %v", err)
		}
	}
	b.StopTimer()
	fmt.Print(ib.table())
	b.ReportMetric(0, "ns/op")
	if w := ib.workers[len(ib.workers)-1]; len(w.mem) > 0 {
		m := w.mem[len(w.mem)-1]
		b.ReportMetric(m.isolate, "isolate-B/stream")
		b.ReportMetric(m.rssWorker, "worker-rss-B/stream")
	}
	b.Logf("total %s", time.Since(start).Round(time.Millisecond))
}

type isoBench struct {
	tb               testing.TB
	root, dir        string
	loadStart        string
	origin           *proc.Process
	originURL        string
	secret, pubToken string
	streams          []int
	frontN           int
	workers          []*isoWorker
	// floorMem: the pure-JS floor object's isolate per held stream, the
	// same steps (its JS and embedder heap; it has no Wasm).
	floorMem []isoMem
	// floorKept: what writes keep alive on the floor object, per way of
	// holding a stream.
	floorKept []heapKept
	readers   map[int]*proc.HeapReader // by inspector port
	errs      []error
}

func (ib *isoBench) setup() error {
	proc.RaiseFileLimit()
	root, err := proc.Root()
	if err != nil {
		return err
	}
	ib.root = root
	if err := proc.CheckTree(root); err != nil {
		return err
	}
	if ib.dir, err = os.MkdirTemp("", "edge-sse-isolate-"); err != nil {
		return err
	}
	ib.streams = []int{1000, 5000}
	if v := os.Getenv("EDGE_BENCH_ISOLATE_STREAMS"); v != "" {
		ib.streams = nil
		for _, f := range strings.Split(v, ",") {
			if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
				ib.streams = append(ib.streams, n)
			}
		}
		slices.Sort(ib.streams) // none ("0"): front-door rows only
	}
	ib.frontN = 300
	if n, err := strconv.Atoi(os.Getenv("EDGE_BENCH_FRONT_REQUESTS")); err == nil && n > 0 {
		ib.frontN = n
	}
	if ib.pubToken, err = auth.Sign(auth.Claims{Form: auth.FormLegacy, Publish: []auth.Matcher{{Match: "*", Type: auth.MatchSelector}}}, []byte(jwtKey), "HS256", time.Hour); err != nil {
		return err
	}
	// The workers: the baseline first (when asked for), then this tree.
	if rev := os.Getenv("EDGE_BENCH_BASELINE"); rev != "" {
		cfg, err := ib.buildBaseline(rev)
		if err != nil {
			return fmt.Errorf("baseline %s: %w", rev, err)
		}
		ib.workers = append(ib.workers, &isoWorker{label: rev, config: cfg})
	}
	ib.workers = append(ib.workers, &isoWorker{label: "this tree", config: filepath.Join(root, "wrangler.toml")})

	originBin, err := proc.OriginBinary(root, ib.dir)
	if err != nil {
		return err
	}
	feedSecret := make([]byte, 32)
	crand.Read(feedSecret)
	ib.secret = hex.EncodeToString(feedSecret)
	origin, err := proc.Origin{Bin: originBin, Dir: ib.dir, LogDir: ib.dir, Name: "origin",
		Flags: []string{"--jwt-key", jwtKey, "--feed-secret", ib.secret, "--history", "memory"}}.Start()
	if err != nil {
		return err
	}
	ib.origin, ib.originURL = origin.Process, origin.URL
	return nil
}

// buildBaseline extracts revision rev of the repository into the run's
// directory and builds its worker bundle there (make build), returning
// its wrangler.toml.
func (ib *isoBench) buildBaseline(rev string) (string, error) {
	src := filepath.Join(ib.dir, "baseline-src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	archive := exec.Command("sh", "-c", "git archive --format=tar \"$0\" | tar -x -C \"$1\"", rev, src)
	archive.Dir = ib.root
	if out, err := archive.CombinedOutput(); err != nil {
		return "", fmt.Errorf("git archive: %v\n%s", err, out)
	}
	build := exec.Command("make", "build")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("make build: %v\n%s", err, out)
	}
	return filepath.Join(src, "wrangler.toml"), nil
}

func (ib *isoBench) cleanup() {
	for _, r := range ib.readers {
		r.Close()
	}
	for _, w := range ib.workers {
		if w.srv != nil {
			w.srv.Stop()
		}
	}
	ib.origin.Stop()
	proc.FinishLogs(ib.dir, ib.tb.Failed())
}

// start runs w under wrangler's dev server with its inspector on.
func (ib *isoBench) start(w *isoWorker, i int) error {
	port, _ := strconv.Atoi(strings.TrimPrefix(proc.FreeAddr(), "127.0.0.1:"))
	w.inspector = port
	name := fmt.Sprintf("edge%d", i)
	srv, err := proc.Worker{
		Root: ib.root, Dir: ib.dir, LogDir: ib.dir, Name: name,
		Config:    w.config,
		Snapshot:  filepath.Join(ib.dir, name),
		Persist:   filepath.Join(ib.dir, name+"-state"),
		Inspector: port,
		Timeout:   150 * time.Second,
		Vars: []string{
			"ORIGIN_URL:" + ib.originURL,
			"FEED_SECRET:" + ib.secret,
			"STATS_TOKEN:" + statsToken,
			"JWT_KEY:" + jwtKey,
			"ALLOW_ANONYMOUS:true",
			// Heartbeats far apart: the heap is read with no write in
			// flight. With a fan-out to every stream each 5 s (the other
			// benchmark's interval) the JS heap per stream at 5,000
			// streams read 3.7–5.9 KB over seven readings, two of them
			// ≈ 5.8 KB (with +0.3 KB of embedder heap): a fan-out's
			// writes still in flight; with 120 s, 3.51–3.52 KB in three.
			"CLIENT_HEARTBEAT_MS:" + isoHeartbeatMS,
			// The largest step must fit on one object, past the
			// latency-sized default of MAX_CLIENTS (README, "Sizing").
			fmt.Sprintf("MAX_CLIENTS:%d", max(10000, slices.Max(append([]int{0}, ib.streams...))+100)),
		},
	}.Start()
	if err != nil {
		return err
	}
	w.srv = srv
	return nil
}

// measure starts w, measures it and stops it, so that the workers never
// hold streams at the same time.
func (ib *isoBench) measure(w *isoWorker) error {
	i := slices.Index(ib.workers, w)
	if err := ib.start(w, i); err != nil {
		return err
	}
	defer func() { w.srv.Stop(); w.srv = nil }()
	if err := ib.frontDoor(w); err != nil {
		return fmt.Errorf("front door: %w", err)
	}
	if len(ib.streams) == 0 {
		return nil
	}
	return ib.memory(w)
}

// heap collects garbage in w's isolate and reads its heap usage
// (e2e/bench/heapusage.mjs).
func (ib *isoBench) heap(w *isoWorker) (heapUsage, error) {
	return ib.heapAt(w.inspector, w.srv.URL+"/_edge/stats")
}

// heapAt does it for the isolate whose inspector listens on port, poking
// it with requests to poke (which the stats token is sent to), over one
// inspector connection per port for the whole run (proc.HeapReader).
func (ib *isoBench) heapAt(port int, poke string) (heapUsage, error) {
	r, ok := ib.readers[port]
	if !ok {
		var err error
		if r, err = proc.StartHeapReader(ib.root, port, poke, statsToken); err != nil {
			return heapUsage{}, err
		}
		if ib.readers == nil {
			ib.readers = map[int]*proc.HeapReader{}
		}
		ib.readers[port] = r
	}
	return r.Read()
}

// workerRSS is the RSS of w's workerd processes: the one that runs the
// worker and wrangler's dev proxy apart.
func workerRSS(w *isoWorker) (worker, proxy int64) {
	s := rssSample(w.srv.Process, w.srv.URL)
	return s.rss - s.proxy, s.proxy
}

// memory holds ib.streams[i] streams on w's hub (each step adds to the
// previous) and measures what they added, as edgeMemory does, plus the
// isolate's heap after a garbage collection.
func (ib *isoBench) memory(w *isoWorker) error {
	base := w.srv.URL
	warmTopic := benchTopic("iso-warm")
	warm, err := dialSubscriber(mercureURL(base, warmTopic), nil, nil)
	if err != nil {
		return err
	}
	defer warm.close()
	if err := publish(ib.originURL, ib.pubToken, warmTopic, "warm"); err != nil {
		return err
	}
	if !waitEvents([]*subscriber{warm}, 1, 20*time.Second) {
		return fmt.Errorf("the warm-up stream got no event through the edge within 20 s")
	}
	time.Sleep(2 * time.Second)
	h0, err := ib.heap(w)
	if err != nil {
		return err
	}
	st0, err := getStats(base + "/_edge/stats")
	if err != nil {
		return err
	}
	rw0, rp0 := workerRSS(w)
	var held, first []*subscriber
	var firstTopic string
	defer func() { closeAll(held) }()
	for _, n := range ib.streams {
		topic := benchTopic(fmt.Sprintf("iso-hold%d", n))
		subs, err := dialMany(n-len(held), 64, mercureURL(base, topic), nil, nil)
		if err != nil {
			return err
		}
		held = append(held, subs...)
		if first == nil {
			first, firstTopic = subs, topic
		}
		var st stats
		if !waitFor(30*time.Second, 200*time.Millisecond, func() bool {
			st, _ = getStats(base + "/_edge/stats")
			return st.Subscribers >= n+1
		}) {
			return fmt.Errorf("hub counts %d subscribers, want %d", st.Subscribers, n+1)
		}
		if err := publish(ib.originURL, ib.pubToken, topic, "hello"); err != nil {
			return err
		}
		if !waitEvents(subs, 1, 30*time.Second) {
			got, _ := totalEvents(subs)
			return fmt.Errorf("%d of %d new streams got the check event", got, len(subs))
		}
		time.Sleep(3 * time.Second)
		h1, err := ib.heap(w)
		if err != nil {
			return err
		}
		st1, err := getStats(base + "/_edge/stats")
		if err != nil {
			return err
		}
		rw1, rp1 := workerRSS(w)
		m := isoMem{n: n, subscribers: st1.Subscribers, heapBefore: h0, heapAfter: h1,
			wasmBefore: st0.WasmMemoryBytes, wasmAfter: st1.WasmMemoryBytes, rssBeforeW: rw0, rssAfterW: rw1}
		m.jsTot, m.embTot, m.wasmTot = h1.Used-h0.Used, h1.Embedder-h0.Embedder, st1.WasmMemoryBytes-st0.WasmMemoryBytes
		f := float64(n)
		m.js, m.embedder, m.wasm = m.jsTot/f, m.embTot/f, m.wasmTot/f
		m.isolate = m.js + m.embedder + m.wasm
		m.rssWorker, m.rssProxy = float64(rw1-rw0)/f, float64(rp1-rp0)/f
		w.mem = append(w.mem, m)
		ib.tb.Logf("%s N=%d: JS heap %.0f → %.0f, embedder %.0f → %.0f, wasm %.0f → %.0f, worker RSS %d → %d, proxy RSS %d → %d",
			w.label, n, h0.Used, h1.Used, h0.Embedder, h1.Embedder, st0.WasmMemoryBytes, st1.WasmMemoryBytes, rw0, rw1, rp0, rp1)
	}
	// What writes leave behind: keptEvents events to the first step's
	// streams, everything still held.
	k, err := measureKept(w.label, first, 1, func() (heapUsage, error) { return ib.heap(w) }, func(i int) error {
		return publish(ib.originURL, ib.pubToken, firstTopic, fmt.Sprintf("kept %d", i))
	})
	if err != nil {
		return fmt.Errorf("heap kept by writes: %w", err)
	}
	w.kept = &k
	return nil
}

// measureKept reads the heap, sends keptEvents events with send (each
// written to every one of subs, which have had already events each),
// waits until every stream has them all, and reads the heap again: what
// the writes kept alive while the streams stay open.
func measureKept(label string, subs []*subscriber, already int, heap func() (heapUsage, error), send func(i int) error) (heapKept, error) {
	k := heapKept{label: label, streams: len(subs), events: keptEvents, writes: len(subs) * keptEvents}
	h0, err := heap()
	if err != nil {
		return k, err
	}
	// One event at a time, each delivered to every stream before the
	// next is sent: the hub writes events that arrive together as one
	// chunk per client, and this counts one write per event and stream.
	for i := 0; i < keptEvents; i++ {
		if err := send(i); err != nil {
			return k, err
		}
		if !waitEvents(subs, int64(already+i+1), 30*time.Second) {
			got, _ := totalEvents(subs)
			return k, fmt.Errorf("%d of %d events reached the %d streams", got, int64(len(subs))*int64(already+i+1), len(subs))
		}
	}
	time.Sleep(2 * time.Second) // the last writes settle
	h1, err := heap()
	if err != nil {
		return k, err
	}
	k.js, k.embedder = h1.Used-h0.Used, h1.Embedder-h0.Embedder
	return k, nil
}

// floorMemory holds the same steps of streams on the pure-JS floor
// object (e2e/bench/floor: an IdentityTransformStream per client, its
// response returned by the front door as it is, nothing else) and reads its isolate's heap the same
// way: what a held stream costs the platform alone, for the hub's JS and
// embedder heap per stream to be read against.
func (ib *isoBench) floorMemory() error {
	port, _ := strconv.Atoi(strings.TrimPrefix(proc.FreeAddr(), "127.0.0.1:"))
	srv, err := proc.Worker{
		Root: ib.root, Dir: ib.dir, LogDir: ib.dir, Name: "floor",
		Config:    filepath.Join(ib.root, "e2e", "bench", "floor", "wrangler.toml"),
		Persist:   filepath.Join(ib.dir, "floor-state"),
		Inspector: port,
		Timeout:   150 * time.Second,
	}.Start()
	if err != nil {
		return err
	}
	defer srv.Stop()
	heap := func() (heapUsage, error) { return ib.heapAt(port, srv.URL+"/stats") }
	fw := &floorWorker{proc: srv.Process, url: srv.URL}
	if err := fw.hold(1, 1); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	h0, err := heap()
	if err != nil {
		return err
	}
	var held []*subscriber
	defer func() { closeAll(held) }()
	for _, n := range ib.streams {
		subs, err := dialMany(n-len(held), 64, srv.URL+"/subscribe", nil, nil)
		if err != nil {
			return err
		}
		held = append(held, subs...)
		if !waitFor(30*time.Second, 200*time.Millisecond, func() bool {
			st, err := getStats(srv.URL + "/stats")
			return err == nil && st.Streams >= n+1
		}) {
			return fmt.Errorf("the floor object does not count %d streams", n+1)
		}
		time.Sleep(3 * time.Second)
		h1, err := heap()
		if err != nil {
			return err
		}
		f := float64(n)
		m := isoMem{n: n, heapBefore: h0, heapAfter: h1, jsTot: h1.Used - h0.Used, embTot: h1.Embedder - h0.Embedder}
		m.js, m.embedder = m.jsTot/f, m.embTot/f
		m.isolate = m.js + m.embedder
		ib.floorMem = append(ib.floorMem, m)
		ib.tb.Logf("floor N=%d: JS heap %.0f → %.0f, embedder %.0f → %.0f", n, h0.Used, h1.Used, h0.Embedder, h1.Embedder)
	}
	// What writes leave behind, for each way of holding a stream: the
	// hub's (IdentityTransformStream writers) and the ReadableStream the
	// hub enqueued to before 2026-12-04. The held streams stay open.
	n := min(1000, ib.streams[0])
	for _, mode := range []string{"", "readable"} {
		group := "kept" + mode
		subs, err := dialMany(n, 64, srv.URL+"/subscribe?group="+group+"&mode="+mode, nil, nil)
		held = append(held, subs...)
		if err != nil {
			return err
		}
		if !waitFor(30*time.Second, 200*time.Millisecond, func() bool {
			st, err := getStats(srv.URL + "/stats?group=" + group)
			return err == nil && st.Streams >= n
		}) {
			return fmt.Errorf("the floor object does not count %d streams in group %s", n, group)
		}
		label := "floor, IdentityTransformStream writers (as the hub)"
		if mode == "readable" {
			label = "floor, ReadableStream + controller.enqueue (the hub before 2026-12-04)"
		}
		k, err := measureKept(label, subs, 0, heap, func(i int) error {
			return fw.publish(group, fmt.Sprintf("kept%d", i))
		})
		if err != nil {
			return fmt.Errorf("heap kept by writes (%s): %w", label, err)
		}
		ib.floorKept = append(ib.floorKept, k)
		ib.tb.Logf("%s: %d writes kept %.0f B of JS heap and %.0f B of embedder heap", label, k.writes, k.js, k.embedder)
	}
	closeAll(fw.subs)
	return nil
}

func mercureURL(base, topic string) string {
	return base + "/.well-known/mercure?topic=" + url.QueryEscape(topic)
}

// frontDoor sends ib.frontN requests of each short kind to w (4 at a
// time) and divides the CPU the worker's workerd process used over them
// by their number, less what the process uses when idle over the same
// time (measured for 2 s first: wrangler's runtime has some background
// work). The dev proxy's CPU is not counted: production has no such hop.
func (ib *isoBench) frontDoor(w *isoWorker) error {
	base := w.srv.URL
	topic := benchTopic("iso-front")
	form := url.Values{"topic": {topic}, "data": {"x"}}.Encode()
	kinds := []struct {
		what string
		req  func() (*http.Request, error)
		want int
	}{
		{"GET /healthz", func() (*http.Request, error) { return http.NewRequest(http.MethodGet, base+"/healthz", nil) }, 200},
		{"POST /.well-known/mercure (forwarded publish)", func() (*http.Request, error) {
			r, err := http.NewRequest(http.MethodPost, base+"/.well-known/mercure", strings.NewReader(form))
			if err == nil {
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.Header.Set("Authorization", "Bearer "+ib.pubToken)
			}
			return r, err
		}, 200},
		{"GET / (demo page)", func() (*http.Request, error) { return http.NewRequest(http.MethodGet, base+"/", nil) }, 200},
		// The floor: a request entry.mjs refuses in JavaScript, no Go, no
		// object (/_edge/stats without its token): what workerd spends on
		// any request here.
		{floorKind, func() (*http.Request, error) { return http.NewRequest(http.MethodGet, base+"/_edge/stats", nil) }, 401},
	}
	sumTicks := func(before, after map[string]uint64) uint64 {
		var ticks uint64
		for key, v := range after {
			if v > before[key] {
				ticks += v - before[key]
			}
		}
		return ticks
	}
	time.Sleep(500 * time.Millisecond)
	pids := workerPIDs(w.srv, base)
	i0, it0 := cpuTicks(pids), time.Now()
	time.Sleep(2 * time.Second)
	idle := float64(sumTicks(i0, cpuTicks(pids))) / threadTicks / time.Since(it0).Seconds() // CPU seconds per second
	w.idleCPU = idle
	for _, k := range kinds {
		// Warm up: the first requests compile and cache what later ones reuse.
		for range 5 {
			if err := frontRequest(k.req, k.want); err != nil {
				return fmt.Errorf("%s: %w", k.what, err)
			}
		}
		time.Sleep(500 * time.Millisecond)
		worker := workerPIDs(w.srv, base)
		c0 := cpuTicks(worker)
		t0 := time.Now()
		var next atomic.Int64
		var firstErr atomic.Value
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(ib.frontN) {
					if err := frontRequest(k.req, k.want); err != nil {
						firstErr.CompareAndSwap(nil, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		d := time.Since(t0)
		time.Sleep(200 * time.Millisecond) // work finishing after the answer counts too
		c1 := cpuTicks(worker)
		if err, _ := firstErr.Load().(error); err != nil {
			return fmt.Errorf("%s: %w", k.what, err)
		}
		busy := float64(sumTicks(c0, c1))/threadTicks - idle*(d+200*time.Millisecond).Seconds()
		n := ib.frontN
		w.front = append(w.front, frontCPU{what: k.what, n: n,
			cpu:  time.Duration(max(0, busy) * float64(time.Second) / float64(n)),
			wall: d * 4 / time.Duration(n)})
	}
	return nil
}

func frontRequest(mk func() (*http.Request, error), want int) error {
	req, err := mk()
	if err != nil {
		return err
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("%s, want %d: %s", resp.Status, want, firstLine(string(body)))
	}
	return nil
}

// table prints one row per figure: the baseline's value (when measured),
// this tree's, and their ratio.
func (ib *isoBench) table() string {
	var rows []row
	add := func(num, what, value, target, verdict string) {
		rows = append(rows, row{num, what, value, target, verdict})
	}
	for _, err := range ib.errs {
		add("!", "FAILED", firstLine(err.Error()), "", "")
	}
	cur := ib.workers[len(ib.workers)-1]
	var baseW *isoWorker
	if len(ib.workers) > 1 {
		baseW = ib.workers[0]
	}
	// both formats a figure of the baseline and of this tree with their ratio.
	both := func(base, now float64, format func(float64) string) string {
		if baseW == nil {
			return format(now)
		}
		r := "—"
		if base != 0 {
			r = fmt.Sprintf("%.2f×", now/base)
		}
		return fmt.Sprintf("%s: %s → this tree: %s (%s)", baseW.label, format(base), format(now), r)
	}
	memAt := func(w *isoWorker, n int) (isoMem, bool) {
		if w == nil {
			return isoMem{}, false
		}
		for _, m := range w.mem {
			if m.n == n {
				return m, true
			}
		}
		return isoMem{}, false
	}
	last := 0
	if len(ib.streams) > 0 {
		last = ib.streams[len(ib.streams)-1]
	}
	num := "I1"
	for _, m := range cur.mem {
		b, _ := memAt(baseW, m.n)
		tgt, v := "", ""
		if m.n == last {
			tgt, v = "≤ 8 KB at the largest N", verdict(m.isolate <= targetIsolatePerStream)
		}
		add(num, fmt.Sprintf("isolate memory per held stream, N=%d (JS + embedder + Wasm)", m.n), both(b.isolate, m.isolate, size), tgt, v)
		parts := fmt.Sprintf("%s / %s / %s", size(m.js), size(m.embedder), size(m.wasm))
		if baseW != nil {
			parts = fmt.Sprintf("%s: %s / %s / %s → this tree: %s", baseW.label, size(b.js), size(b.embedder), size(b.wasm), parts)
		}
		add("", "  JS heap / embedder heap / Wasm", parts, "", "")
		num = ""
	}
	for _, m := range ib.floorMem {
		hub, ok := memAt(cur, m.n)
		ratio := ""
		if ok && m.js+m.embedder > 0 {
			ratio = fmt.Sprintf("; the hub's JS + embedder heap %s, %.2f× the floor's", size(hub.js+hub.embedder), (hub.js+hub.embedder)/(m.js+m.embedder))
		}
		add("", fmt.Sprintf("  pure-JS floor object, N=%d: JS heap / embedder heap", m.n), fmt.Sprintf("%s / %s%s", size(m.js), size(m.embedder), ratio), "", "")
	}
	// What writes keep alive while their streams are held: workerd's
	// full collections are atomic and as long as the live heap is large,
	// so a stream that keeps something per write makes every later pause
	// longer (docs/EVIDENCE.md, "A client write must not keep JS heap alive").
	keptRow := func(k heapKept) string {
		return fmt.Sprintf("%.1f B (JS %+.0f B, embedder %+.0f B for %d writes: %d events to %d streams)", k.perWrite(), k.js, k.embedder, k.writes, k.events, k.streams)
	}
	num = "I1b"
	for _, w := range ib.workers {
		if w.kept == nil {
			continue
		}
		tgt, v := "", ""
		if w == cur {
			tgt, v = "≤ "+fmt.Sprint(targetKeptPerWrite)+" B", verdict(w.kept.perWrite() <= targetKeptPerWrite)
		}
		add(num, fmt.Sprintf("JS + embedder heap kept alive per client write, streams held (%s)", w.label), keptRow(*w.kept), tgt, v)
		num = ""
	}
	for _, k := range ib.floorKept {
		add(num, "  "+k.label, keptRow(k), "", "")
		num = ""
	}
	num = "I2"
	for _, m := range cur.mem {
		b, _ := memAt(baseW, m.n)
		tgt, v := "", ""
		if m.n == last {
			tgt, v = "≤ "+size(targetWorkerRSSPerStream), verdict(m.rssWorker <= targetWorkerRSSPerStream)
		}
		add(num, fmt.Sprintf("workerd RSS per held stream, worker process, N=%d", m.n), both(b.rssWorker, m.rssWorker, size), tgt, v)
		add("", "  dev proxy RSS per held stream (not in production)", both(b.rssProxy, m.rssProxy, size), "", "")
		num = ""
	}
	num = "I3"
	for i, f := range cur.front {
		var b frontCPU
		if baseW != nil && i < len(baseW.front) {
			b = baseW.front[i]
		}
		msf := func(d float64) string { return fmt.Sprintf("%.2f ms", d/1e6) }
		tgt, v := "≤ 2 ms", verdict(f.cpu <= targetFrontCPU)
		if f.what == floorKind {
			tgt, v = "", ""
		}
		add(num, fmt.Sprintf("front-door CPU per request, %s (%d requests)", f.what, f.n),
			both(float64(b.cpu), float64(f.cpu), msf)+fmt.Sprintf("; wall %s", both(float64(b.wall), float64(f.wall), msf)),
			tgt, v)
		num = ""
	}
	if len(cur.front) > 0 {
		idle := func(w *isoWorker) string { return fmt.Sprintf("%.1f ms/s", w.idleCPU*1e3) }
		v := idle(cur)
		if baseW != nil {
			v = fmt.Sprintf("%s: %s, this tree: %s", baseW.label, idle(baseW), v)
		}
		add("", "  idle worker process CPU, subtracted above", v, "", "")
	}

	return renderTable("edge-sse isolate bench", "", ib.loadStart, ib.root, rows)
}
