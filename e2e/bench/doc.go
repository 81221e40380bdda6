// Package bench is the edge's benchmark (issue 5, "make bench reports"):
// one run against a real origin process and the worker in real workerd
// (wrangler's dev server, inspector off, as in e2e/), printing one table.
//
// # Running it
//
//	make build                     # worker/build (the bundle under test) and node_modules must exist
//	go test -run '^$' -bench Edge -benchtime 1x -timeout 15m ./e2e/bench/
//
// It is a benchmark, not a test, so that `go test ./e2e/...` (make test)
// does not run it. It takes one to two minutes on a quiet machine (bounded
// at about five by its own timeouts) and cleans up every process it
// started (own process groups, Pdeathsig). The numbers depend on the
// machine being otherwise idle: the table's header shows the load average
// and row 4 how much CPU other processes took during the burst.
//
// It builds the origin from ./origin/cmd/origin, or runs E2E_ORIGIN_BIN if
// set (use that when the tree's origin does not compile), and builds the
// naive baseline worker (e2e/bench/naive) the stock syumai/workers way into a
// temporary directory. Then it starts, on free ports, with the start-up
// code the e2e tests use (e2e/internal/proc):
//
//   - the origin, in the temporary directory, with `--jwt-key` and
//     `--history memory` when `origin serve -h` lists them;
//   - the edge: node e2e/wrangler-dev.mjs --snapshot <tmp>/edge (a copy of
//     wrangler.toml and worker/build, so that a `make build` during the run
//     cannot reload the worker under it) with JWT_KEY,
//     ALLOW_ANONYMOUS=true, CLIENT_HEARTBEAT_MS=5000 and MAX_CLIENTS=10000
//     (the memory rows hold 5,000 streams on one object, past the
//     latency-sized default);
//   - the naive worker, the same way with --config <tmp>/naive/wrangler.toml;
//   - the floor worker (e2e/bench/floor), a pure-JS Durable Object that
//     holds streams like the hub and writes nothing but the chunks (row 4a);
//   - with EDGE_BENCH_BEFORE=<another checkout whose worker/build is
//     built>, that checkout's worker too ("edge-before"): the rows of the
//     latency, burst and steady measurements are then repeated for it,
//     prefixed "main:", so that a change is compared with the code before
//     it in the same run. The latency measurement subscribes to both at
//     once (the same events at the same moments); the burst and steady
//     ones run for each in turn, back to back, or for both at once with
//     EDGE_BENCH_PAIRED=1 (a paired comparison, but the two hubs then
//     share the machine). EDGE_BENCH_BEFORE_VARS="NAME:VALUE,…" sets
//     vars of that worker only: with EDGE_BENCH_BEFORE naming this
//     checkout, two settings of one build side by side.
//
// Every client and probe of the edge, of the floor and of the main worker
// goes straight to the workerd that runs the worker (its own loopback
// port, found from /proc), not through the dev proxy that wrangler puts
// in front of it: production has no such proxy, and on 2 cores the proxy
// competes for the same CPU (0.4-0.6 of a core during a burst) and about
// doubled every latency figure (2026-12-03, two full runs four minutes
// apart: edge-added latency 34.9 / 308 ms p50 / p99 through the proxy,
// 18.2 / 154 ms straight; answers during a burst p50 97 ms through it,
// 30 ms straight; docs/PLATFORM.md fact 21).
// EDGE_BENCH_PROXY=1 goes through the proxy as `wrangler dev` users do
// (the way this bench measured before 2026-12-03); the table's header
// says which.
//
// The load generator is this Go process: raw net/http clients, one TCP
// connection per held stream, each reading its body with a minimal SSE
// reader. It raises RLIMIT_NOFILE to the hard limit (workerd inherits it).
// Sizes can be changed with EDGE_BENCH_STREAMS (default "1000,5000"),
// EDGE_BENCH_NAIVE (100), EDGE_BENCH_LATENCY_SUBS (200),
// EDGE_BENCH_LATENCY_EVENTS (300), EDGE_BENCH_BURST_EVENTS (1000) and
// EDGE_BENCH_PUBLISHERS (16), EDGE_BENCH_STEADY_RATE (events/s of the
// sustained rows, "200,1000"), EDGE_BENCH_STEADY_SECONDS (10), the hub's
// CLIENT_HEARTBEAT_MS with EDGE_BENCH_HEARTBEAT_MS (5000);
// EDGE_BENCH_PHASES runs only some of "bundle", "edge memory", "before"
// (the main worker's held streams), "latency", "burst", "steady", "naive
// memory" and "presence" (comma-separated; presence is described in
// presence_test.go and sized with EDGE_BENCH_PRESENCE_RATE, _SECONDS and
// _HOLD_MS). EDGE_BENCH_INSPECTOR=<port> runs the edge worker with its
// DevTools inspector on that port, to take a CPU profile of a phase from
// outside (e2e/bench/profile/cpuprofile.mjs); the inspector slows the
// isolate, so the numbers of such a run are not the table's.
// EDGE_BENCH_LEGS=<file> writes every traced latency event's legs (from
// the hub's /_edge/stats?trace=1) to that file, one tab-separated line
// each with its send time of day, to line them up with a perf profile
// recorded with wall-clock times (perf record -k CLOCK_REALTIME).
// Logs stay in a temporary directory when the run fails.
//
// # What each number means
//
// 1. Edge memory per held stream. One client is connected first (the hub
// object, its Go instance, its upstream feed and its first client exist),
// then the baseline is taken: the hub's Wasm linear memory (wasmMemoryBytes
// of GET /_edge/stats, the instance's WebAssembly.Memory size) and VmRSS
// of the workerd processes under the launcher. Then N streams are opened
// (1,000, then 4,000 more for 5,000), one event is published to check
// that every stream is live, and after 3 s both are read again. "Per held
// stream" is (after − before) / N. Go grows the linear memory in steps
// of up to 4 MiB and never returns it, so the figure is a high-water mark
// with a resolution of a few MiB / N (it includes Go's GC headroom). The
// hub drops the streams a step closes on its next heartbeat to them
// (CLIENT_HEARTBEAT_MS=5000 here); the benchmark waits for that between
// steps. Target: at most
// 16 KiB per stream. RSS is split between the workerd that runs the worker
// and wrangler's dev proxy, the workerd that accepts the clients'
// connections and forwards them: in production Cloudflare's front end
// does that job and it does not count against the isolate, so the
// "worker" part is the one to compare with the 128 MB limit (and even it
// includes workerd's per-request machinery, not only JS heap).
//
// 2. The naive relay (e2e/bench/naive): syumai/workers' stock entry starts a
// Go instance per request, and each subscription fetches the origin's
// GET /.well-known/mercure through cloudflare/fetch and copies the body to
// the client. It holds N=100 streams (each costs megabytes, so 5,000 would
// not fit). RSS per stream is measured like the edge's. Wasm memory per
// stream is the whole linear memory of the instance holding it: each
// instance registers its WebAssembly.Memory in an isolate-global Map while
// its stream is open and GET /_naive/stats sums them (the "idle instance"
// figure is the memory of the instance answering the stats request, i.e.
// the floor of one Go instance). The ratios divide the naive per-stream
// cost by the edge's, for RSS (both workerd processes) and Wasm memory.
//
// 3. Publish→receive latency. 200 clients subscribe through the edge and
// 200 straight to the origin on one topic; 300 events are published to the
// origin, one every 20 ms, each carrying its send time (UnixNano) as data.
// Each client computes receive time − send time for every event; p50 and
// p99 are over all deliveries of a path (60,000 each), and "edge minus
// direct" is the difference of the percentiles: what the extra hops cost
// (origin → feed → Durable Object → client; → dev proxy → with
// EDGE_BENCH_PROXY). Sender and
// receivers share one clock. The 1,000 streams of step 1 stay held on the
// hub (on another topic). Every path is measured at once, from the same
// ticks (latency_test.go): with EDGE_BENCH_BEFORE, 200 clients of the main
// worker's hub, which holds the same streams and went through the same
// history (holdBefore repeats step 1's: a warm stream, the 5,000 opened
// and closed); and 200 clients of the pure-JS floor object, holding as
// many other streams, to which each tick also POSTs its send time, written
// at once to the 200 (the latency of the platform alone: workerd and
// wrangler's dev proxy). Half of the floor's 200 read straight from the
// workerd that runs it (its own loopback port, found from /proc), half
// through the dev proxy: the proxy's share. The paths' clients are
// dialled together and the two publishes of a tick alternate in order.
// Per event, the first client to get it and the spread to the last give
// the feed leg (origin → hub → one write) and the fan-out leg. Each event
// is one write per client: this step asks the hub for 10,000 stream
// writes per second.
//
// 4. Deliveries per second of one hub object. The 1,000 streams of step 1
// (one hub object: HUB_SHARDS is 1) receive a burst of 1,000 events that 16
// concurrent publishers post to the origin as fast as they can. A delivery
// is one event reaching one client. The time base is the clients: this
// process sums the events its clients received every 50 ms, and the rate
// is clients × events divided by the time from the first publish to the
// last event received; "best 1 s" is the highest rate over a window of
// about one second. The hub's own deliveries counter is polled every
// 100 ms as well, but a hub busy with a burst leaves other requests to it
// (stats, new subscribers) waiting until the burst is through, so the
// table shows how many polls it answered and its total afterwards
// (heartbeats included), with the clients dropped for being slow. The hub
// writes the events of one read of its feed to a client as one chunk, so
// deliveries/s can exceed stream writes/s. CPU is each thread's time on a
// CPU from /proc (schedstat, in ns) over the same window: the worker's workerd (and its busiest thread: a
// Durable Object runs on one thread, so a busiest thread near 1.00 means
// the hub itself is the limit), wrangler's dev proxy, the launcher's node,
// the origin, this process (clients and publishers), the whole machine,
// and the processes this run did not start: compare their sum with the
// machine's cores to see whether the machine, the load generator or the
// hub bounds the number.
//
// 4a. CPU per client write against the floor. After each burst of the
// hub's the floor object repeats it: as many clients (its own 1,000
// streams), and the burst's own writes, round by round, from the hub's
// trace (/_edge/stats?trace=1): events that arrive during a fan-out join
// it, so one fan-out is one or more rounds over the clients (the first
// over all of them, each next one over those reached before events
// joined), and the trace has each round's writes, bytes and start. The
// floor makes each round's writes (to as many of its streams) when it
// began, each a chunk of the round's mean events per write, each event as
// big as the hub's (bytes the clients read / events). The rounds of a
// burst are not alike, nor are two bursts, and a write's cost grows with
// its chunk past ≈ 20 KB, so a floor given the burst's mean pattern wrote
// other chunks than the hub. The figure is the CPU time from /proc
// (schedstat, every thread) of the worker's workerd (the process that
// runs the object, not wrangler's dev proxy; the front door runs there
// too, for the floor as for the hub) over the burst, divided by the
// stream writes: the hub's over the floor's is the ratio. The target
// (≤ 1.3×) is read over the CPU rounds: the EDGE_BENCH_BURSTS-1 (3)
// bursts after the first, each with the floor's run of the same fan-outs
// right after it, and no answer probes during either. The first burst
// after the memory phase costs both more (the kernel grows the streams'
// socket buffers in it: page clearing and copying, ≈ 40 µs a write in
// perf); answer probes are requests, not writes, and the hub answers them
// in Go (≈ 8 µs a write of Go during probed bursts, perf stacks) where the
// floor answers in a few lines of JavaScript; and the CPU one process
// spends on the same burst drifts by up to 1.7× from one burst to the
// next on this machine, so a floor measured a minute after the hub
// compared with another machine. The first burst's own ratio and the one
// over every burst (the first ones probed) are shown too. A write is only
// as cheap as workerd makes it (docs/PLATFORM.md, fact 16); what the hub
// spends beyond the floor is Go's per-event and per-write work. CPU per
// delivery is shown beside it: with every batch one write per client,
// writes carry more events each. Further rows split the CPU rounds'
// figures between the worker process's busiest thread (the object's: its
// JavaScript and Wasm, workerd's stream work, the front door's requests)
// and its other threads (V8's background threads, such as optimizing
// compilation, concurrent marking and sweeping, and workerd's own).
//
// With EDGE_BENCH_PERF=1 (or =<file> to keep the recording) the burst
// step also runs perf record -g on both workerd processes (root, or
// kernel.perf_event_paranoid ≤ 1) and splits the object's thread in the
// CPU rounds two ways: by the code each sample landed in (kernel, workerd,
// V8, the collectors, malloc, JavaScript, Go's Wasm) and by what its stack
// says it was for (Go's own code, Go's other calls out, the write calls,
// workerd's stream pumps, microtasks, the event loop and the rest). The
// second needs the JIT code named, which V8 does only with
// --perf-basic-prof, and wrangler 4.86 passes no V8 flag to workerd: give
// miniflare's config one by a local edit of
// node_modules/miniflare/dist/src/index.js, in serializeConfig, before the
// config is encoded, e.g.
//
//	if (process.env.MINIFLARE_V8_FLAGS) config.v8Flags = process.env.MINIFLARE_V8_FLAGS.split(" ");
//
// and run with MINIFLARE_V8_FLAGS=--perf-basic-prof (do not keep the
// edit: npm ci puts the file back). Go's functions then show as
// wasm-function[N]: e2e/bench/profile/wasmnames names them.
//
// 4b. Sustained deliveries/s at 200 and 1,000 events/s to the 1,000 held
// streams for 10 s each, with publish→receive latency; the 1,000 events/s
// row has the targets ≥ 99% received and p99 ≤ 100 ms. After it
// (steady_test.go), at 1,000 events/s: the pure-JS floor object with the
// same pattern (the object makes the events itself, each stamped with its
// scheduled send time, POST /steady, and fans them out to its 1,000
// streams as the hub does: what is queued goes out as one chunk, one
// write per stream, a 0 ms timer every SLICE_WRITES (64) writes, as the
// hub; EDGE_BENCH_FLOOR_SLICE sets it),
// and the hub with EDGE_BENCH_STEADY_SIZED (200) clients on a topic of
// their own, the 1,000 held streams idle beside them: the sizing formula's
// count for that rate (README, "Sizing"). "0" skips both.
//
// 6. Answering during the burst. Stats requests and new subscribers
// (timed to their 200) go to the hub while the burst runs, one of each at
// a time, 20 ms (EDGE_BENCH_ANSWER_MS) after the previous answer: during
// the first burst, and, after the CPU rounds, during more bursts (up to 8
// in all) until there are 20 of each (EDGE_BENCH_ANSWER_MIN) (target p99
// ≤ 50 ms, none failing). The floor object is probed the same way during
// its runs of those bursts, cut into the hub's slices.
//
// 5. Bundle size. gzip -9 of the app.wasm under test (and with the two JS
// files of the bundle) against Cloudflare's 3 MB compressed limit of the
// free plan; the naive worker's app.wasm for comparison.
//
// A WARNING row means wrangler reloaded a worker during the run (its
// streams were cut): run again.
//
// # Isolate memory and front-door CPU (BenchmarkEdgeIsolate)
//
// A second benchmark in the same package (`-bench Edge` runs both; alone:
// `-bench EdgeIsolate`) prints its own table, rows I1–I3. It runs the edge
// with the DevTools inspector on (e2e/wrangler-dev.mjs --inspector-port),
// which the first benchmark must not have (wrangler's inspector proxy
// records every request). With EDGE_BENCH_BASELINE=<git revision> (for
// example main) it also builds that revision's worker (git archive + make
// build in the temporary directory) and measures it in the same run, one
// worker after the other, each row showing the baseline's value, this
// tree's and their ratio.
//
// I1. Isolate memory per held stream: what Cloudflare's 128 MB limit per
// isolate counts (docs/PLATFORM.md, fact 12). e2e/bench/heapusage.mjs asks
// the inspector for a garbage collection (HeapProfiler.collectGarbage,
// twice; workerd runs it only when the isolate next runs something, so the
// script pokes /_edge/stats until it is answered) and then for
// Runtime.getHeapUsage: usedSize (the JS heap) and embedderHeapUsedSize
// (workerd's own objects in V8's heap: streams, promises' C++ halves). The
// Wasm figure is the hub's linear memory (wasmMemoryBytes of
// /_edge/stats). Each is read with one warm stream held, then after
// N = EDGE_BENCH_ISOLATE_STREAMS streams (default "1000,5000"; "0" skips
// the memory rows), and the
// difference is divided by N. The hub runs with CLIENT_HEARTBEAT_MS=120000
// here, so that the heap is read with no fan-out in flight (held idle
// streams: a fan-out's writes in flight add ≈ 2 KB per stream while they
// last). Locally the front door and the hub object
// run in one isolate, so the figure also holds the front door's part of a
// stream. Target: at most 8 KB per stream at the largest N.
// Then the pure-JS floor object (e2e/bench/floor) holds the same steps of
// streams under its own inspector and is read the same way (JS and
// embedder heap; EDGE_BENCH_ISOLATE_FLOOR=0 skips it): what a held stream
// costs with no Go and no hub code, for the hub's figure to be read
// against. heapusage.mjs stays connected to each inspector for the whole
// run: a new connection after many writes found wrangler's inspector
// proxy unresponsive.
//
// I1b. JS + embedder heap kept alive per client write while the streams
// stay held: the heap (as in I1) before and after 100 events written one
// at a time to the 1,000 streams of I1's first step (each delivered to
// every stream before the next is published, so that each is one write
// per stream), divided by the writes. Target: at most 10 B (what the hub
// keeps per event, spread over 1,000 writes). The floor object does the
// same with 1,000 streams of each kind it can hold: IdentityTransformStream
// writers, as the hub, and a ReadableStream written with
// controller.enqueue, the way the hub wrote until 2026-12-04, which keeps
// ≈ 90 B per write until the stream ends (docs/PLATFORM.md fact 24).
//
// I2. workerd RSS per held stream, worker process (the workerd that runs
// the worker, not wrangler's dev proxy, shown apart): the same streams,
// the same moments. Target: at most 100 KiB. It includes workerd's native
// per-request and per-stream machinery, which the isolate limit does not
// count.
//
// I3. Front-door CPU per short request: EDGE_BENCH_FRONT_REQUESTS (300)
// requests of each kind, 4 at a time, after 5 to warm up: GET /healthz, a
// publish forwarded to the origin, GET / (the demo page), and the floor:
// GET /_edge/stats without its token, which entry.mjs refuses in
// JavaScript without Go or an object (what workerd spends on any request
// here). The value is the
// CPU time of the worker's workerd process over them (threads summed,
// read from /proc's schedstat in ns), less what the idle process uses over
// the same time (measured for 2 s before), divided by their number; "wall" is
// the mean time one request took as the client saw it. Target: at most
// 2 ms (the free plan allows 10 ms per request).
package bench
