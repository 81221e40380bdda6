// Package bench measures the origin's fan-out over real loopback HTTP and
// compares it, in the same run, with a raw writer that pushes pre-encoded
// bytes to the same number of connections: the physical ceiling of the
// machine. Run it with
//
//	go test -run TestBenchReport -bench . -v ./origin/bench
//
// (or EDGE_SSE_BENCH=1 go test -run TestBenchReport -v ./origin/bench). It
// prints a table: delivered events/s, publish→receive latency p50/p99/p99.9
// and memory per idle subscriber, for 1,000 and 10,000 subscribers on one
// topic, and the hub/raw throughput ratio. The subscribers live in a child
// process (the test binary run again as TestBenchClient) so that the
// memory figures are the server's alone.
package bench
