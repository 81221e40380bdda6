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
// does not run it. It takes about two to five minutes and cleans up every
// process it started (own process groups, Pdeathsig). It builds the origin
// from ./origin/cmd/origin, or runs E2E_ORIGIN_BIN if set (use that when
// the tree's origin does not compile), and builds the naive baseline worker
// (worker/naive) the stock syumai/workers way into a temporary directory,
// then starts three processes on free ports:
//
//   - the origin (`--jwt-key` added when `origin serve -h` lists it);
//   - the edge: node e2e/wrangler-dev.mjs with JWT_KEY, ALLOW_ANONYMOUS=true
//     and CLIENT_HEARTBEAT_MS=600000, so that the hub's deliveries counter
//     counts events only;
//   - the naive worker: node e2e/bench/wrangler-dev.mjs --config <tmp>/wrangler.toml,
//     the same launcher with a --config flag.
//
// The load generator is this Go process: raw net/http clients, one TCP
// connection per held stream, each reading its body with a minimal SSE
// reader. It raises RLIMIT_NOFILE to the hard limit (workerd inherits it).
// Sizes can be changed with EDGE_BENCH_STREAMS (default "1000,5000"),
// EDGE_BENCH_NAIVE (100), EDGE_BENCH_LATENCY_SUBS (200),
// EDGE_BENCH_LATENCY_EVENTS (300), EDGE_BENCH_BURST_EVENTS (1000) and
// EDGE_BENCH_PUBLISHERS (16). Logs stay in a temporary directory when the
// run fails.
//
// # What each number means
//
// 1. Edge memory per held stream. One client is connected first (the hub
// object, its Go instance, its upstream feed and its first client exist),
// then the baseline is taken: the hub's Wasm linear memory (wasmMemoryBytes
// of GET /_edge/stats, the instance's WebAssembly.Memory size) and the sum
// of VmRSS of every workerd process under the launcher (wrangler's proxy
// workerd and the one running the worker; both pay per connection). Then
// N streams are opened (1,000, then 4,000 more for 5,000), one event is
// published to check every stream is live, and after 3 s both are read
// again. "Per held stream" is (after − before) / N. Wasm memory only grows
// (Go's heap includes its GC headroom, about twice the live heap), so it is
// a high-water mark. Target: at most 16 KiB of Wasm memory per stream.
// RSS includes workerd's own per-request machinery (JS stream objects,
// sockets, the proxy hop), which the edge cannot avoid, and V8 heap not yet
// collected.
//
// 2. The naive relay (worker/naive): syumai/workers' stock entry starts a
// Go instance per request, and each subscription fetches the origin's
// GET /.well-known/mercure through cloudflare/fetch and copies the body to
// the client. It holds N=100 streams (each costs megabytes, so 5,000 would
// not fit). RSS per stream is measured like the edge's. Wasm memory per
// stream is the whole linear memory of the instance holding it: each
// instance registers its WebAssembly.Memory in an isolate-global Map while
// its stream is open and GET /_naive/stats sums them (the "idle instance"
// figure is the memory of the instance answering the stats request, i.e.
// the floor of one Go instance). The ratios divide naive per-stream cost
// by edge per-stream cost, for RSS and for Wasm memory.
//
// 3. Publish→receive latency. 200 clients subscribe through the edge and
// 200 straight to the origin on one topic; 300 events are published to the
// origin, one every 20 ms, each carrying its send time (UnixNano) as data.
// Each client computes receive time − send time for every event; p50 and
// p99 are over all deliveries of a path (60,000 each), and "edge minus
// direct" is the difference of the percentiles: what the extra hop costs
// (origin → feed → Durable Object → wrangler's proxy → client). Sender and
// receivers share one clock; the 1,000 streams of step 1 stay held on the
// hub (on another topic) during this step.
//
// 4. Deliveries per second of one hub object. The 1,000 streams of step 1
// (one hub object: HUB_SHARDS is 1) receive a burst of 1,000 events that 16
// concurrent publishers post to the origin as fast as they can. The hub's
// deliveries counter (one per event per client) is polled every 100 ms;
// the rate is the deliveries counted from the first publish until the
// counter reached clients × events, divided by that time, and "best 1 s"
// is the highest rate over any window of about one second. The clients
// must receive every event (checked per client). CPU is utime+stime from
// /proc of the workerd processes (sum, and the busiest single thread: a
// Durable Object runs on one thread, so a busiest thread near 1.00 means
// the hub is the limit), of the origin and of this process (the clients
// and publishers), over the same window; compare their sum with the
// machine's cores to see whether the machine or the load generator bounds
// the number.
//
// 5. Bundle size. gzip -9 of worker/build/app.wasm (and with the two JS
// files of the bundle) against Cloudflare's 3 MB compressed limit of the
// free plan; the naive worker's app.wasm for comparison.
package bench
