package bench

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/origin/server"
	"github.com/edge-sse/edge-sse/shared/sse"
)

// Bench parameters: each phase runs for its duration or maxEvents events.
const (
	topic          = "https://example.com/bench"
	window         = 32 // events in flight in the throughput phase
	throughputTime = 3 * time.Second
	latencyTime    = 2 * time.Second
	// minLatencyEvents extends the latency phase up to 3×latencyTime.
	minLatencyEvents = 20
)

// result is one row of the table.
type result struct {
	impl           string
	subs           int
	events         int     // events of the throughput phase
	deliveredRate  float64 // deliveries per second in the throughput phase
	samples        uint64  // latency samples (one event in flight)
	p50, p99, p999 time.Duration
	heapPerSub     float64 // bytes of heap+stack per idle subscriber
	rssPerSub      float64 // bytes of RSS per idle subscriber
	errors         string
}

// TestBenchReport runs the benchmark when -bench is given (any pattern) or
// EDGE_SSE_BENCH=1, and prints the table; see the package documentation.
func TestBenchReport(t *testing.T) {
	if f := flag.Lookup("test.bench"); (f == nil || f.Value.String() == "") && os.Getenv("EDGE_SSE_BENCH") == "" {
		t.Skip("benchmark report: run with -bench . or EDGE_SSE_BENCH=1")
	}
	raiseFDLimit(t)
	c := startChild(t)
	var rows []result
	for _, n := range []int{1000, 10000} {
		rows = append(rows, runHub(t, c, n), runRaw(t, c, n))
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\nedge-sse origin fan-out over loopback HTTP, one topic, GOMAXPROCS=%d, %s/%s, %s\n",
		runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
	fmt.Fprintf(&sb, "throughput: %d events in flight for %v; latency: one event in flight for %v, publish→receive over all subscribers\n\n",
		window, throughputTime, latencyTime)
	fmt.Fprintf(&sb, "| %-4s | %6s | %6s | %14s | %9s | %9s | %9s | %9s | %13s | %11s |\n",
		"impl", "subs", "events", "delivered/s", "samples", "p50", "p99", "p99.9", "heap+stack/sub", "RSS/sub")
	fmt.Fprintf(&sb, "|------|--------|--------|----------------|-----------|-----------|-----------|-----------|---------------|-------------|\n")
	for _, r := range rows {
		fmt.Fprintf(&sb, "| %-4s | %6d | %6d | %14.0f | %9d | %9s | %9s | %9s | %11.1fKB | %9.1fKB |\n",
			r.impl, r.subs, r.events, r.deliveredRate, r.samples, round(r.p50), round(r.p99), round(r.p999),
			r.heapPerSub/1024, r.rssPerSub/1024)
	}
	for i := 0; i+1 < len(rows); i += 2 {
		h, raw := rows[i], rows[i+1]
		fmt.Fprintf(&sb, "\n%6d subscribers: hub/raw delivered/s = %.2f; p99 hub/raw = %.2f",
			h.subs, h.deliveredRate/raw.deliveredRate, float64(h.p99)/float64(max(raw.p99, time.Microsecond)))
	}
	for _, r := range rows {
		if r.errors != "" {
			fmt.Fprintf(&sb, "\n%s %d: %s", r.impl, r.subs, r.errors)
		}
	}
	fmt.Println(sb.String())
	t.Log(sb.String())
}

func round(d time.Duration) string {
	switch {
	case d >= 10*time.Millisecond:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.String()
}

// child is the subscriber process.
type child struct {
	in    io.Writer
	lines chan string
	acked atomic.Int64
	ackCh chan struct{}
}

func startChild(t *testing.T) *child {
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchClient$", "-test.timeout=0")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the subscriber process: %v", err)
	}
	t.Cleanup(func() { in.Close(); cmd.Wait() })
	c := &child{in: in, lines: make(chan string, 16), ackCh: make(chan struct{}, 1)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line, ok := strings.CutPrefix(sc.Text(), "bench: ")
			if !ok {
				continue
			}
			if k, ok := strings.CutPrefix(line, "ack "); ok {
				n, _ := strconv.ParseInt(k, 10, 64)
				if n > c.acked.Load() {
					c.acked.Store(n)
				}
				select {
				case c.ackCh <- struct{}{}:
				default:
				}
				continue
			}
			c.lines <- line
		}
		close(c.lines)
	}()
	return c
}

func (c *child) send(t *testing.T, format string, args ...any) {
	if _, err := fmt.Fprintf(c.in, format+"\n", args...); err != nil {
		t.Fatalf("command the subscriber process: %v", err)
	}
}

func (c *child) expect(t *testing.T, prefix string, timeout time.Duration) []string {
	select {
	case line, ok := <-c.lines:
		if !ok {
			t.Fatal("the subscriber process exited")
		}
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != prefix {
			t.Fatalf("subscriber process said %q, want %s", line, prefix)
		}
		return f[1:]
	case <-time.After(timeout):
		t.Fatalf("no %q from the subscriber process within %v", prefix, timeout)
	}
	return nil
}

// waitAcked waits until every stream received event k.
func (c *child) waitAcked(t *testing.T, k int64) {
	deadline := time.After(60 * time.Second)
	for c.acked.Load() < k {
		select {
		case <-c.ackCh:
		case <-deadline:
			t.Fatalf("event %d not received by every stream within 60s (acked %d)", k, c.acked.Load())
		}
	}
}

// memory returns heap+stack in use and the RSS, after collecting garbage.
func memory() (heapStack, rss uint64) {
	runtime.GC()
	debug.FreeOSMemory() // so that RSS counts live memory, not freed pages
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			pages, _ := strconv.ParseUint(f[1], 10, 64)
			rss = pages * uint64(os.Getpagesize())
		}
	}
	return m.HeapInuse + m.StackInuse, rss
}

// connect opens n streams from the child and measures the memory they cost.
func connect(t *testing.T, c *child, r *result, addr, path string, n int, registered func() int) {
	h0, rss0 := memory()
	c.send(t, "connect %s %s %d", addr, path, n)
	if errs := c.expect(t, "ready", 120*time.Second); errs[0] != "0" {
		r.errors += fmt.Sprintf("%s streams failed to open; ", errs[0])
	}
	for deadline := time.Now().Add(10 * time.Second); registered() < n && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	h1, rss1 := memory()
	r.heapPerSub = float64(int64(h1)-int64(h0)) / float64(n)
	r.rssPerSub = float64(int64(rss1)-int64(rss0)) / float64(n)
	c.acked.Store(0)
}

// measure runs the throughput phase then the latency phase, publishing
// event k with publish(k), and fills r.
func measure(t *testing.T, c *child, r *result, publish func(k int)) {
	c.send(t, "phase 0")
	k := 0
	start := time.Now()
	for time.Since(start) < throughputTime && k < maxEvents/2 {
		if k >= window {
			c.waitAcked(t, int64(k-window+1))
		}
		k++
		publish(k)
	}
	c.waitAcked(t, int64(k))
	r.events = k
	r.deliveredRate = float64(k) * float64(r.subs) / time.Since(start).Seconds()

	c.send(t, "phase 1")
	start = time.Now()
	first := k
	for (time.Since(start) < latencyTime || k-first < minLatencyEvents) && time.Since(start) < 3*latencyTime && k < maxEvents-1 {
		k++
		publish(k)
		c.waitAcked(t, int64(k))
	}
	c.send(t, "stats 1")
	f := c.expect(t, "stats", 10*time.Second)
	r.samples, _ = strconv.ParseUint(f[1], 10, 64)
	us := func(s string) time.Duration {
		v, _ := strconv.ParseInt(s, 10, 64)
		return time.Duration(v) * time.Microsecond
	}
	r.p50, r.p99, r.p999 = us(f[2]), us(f[3]), us(f[4])
}

// data is the payload of event k: its number and its send time.
func data(k int) string {
	return strconv.Itoa(k) + " " + strconv.FormatInt(time.Now().UnixNano(), 10)
}

// runHub measures the hub behind origin/server. Events are published with
// hub.Publish in the same process and encoded as the publish handler does,
// so that the comparison with the raw writer covers the fan-out and the
// subscribe path, not the publisher's HTTP request.
func runHub(t *testing.T, c *child, n int) result {
	r := result{impl: "hub", subs: n}
	h := hub.New(hub.NewMemoryHistory(4096))
	srv := server.New(h, server.Config{AllowAnonymous: true, Heartbeat: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	connect(t, c, &r, ln.Addr().String(), server.MercurePath+"?topic="+topic, n,
		func() int { return int(h.Stats().Subscribers) })
	measure(t, c, &r, func(k int) {
		e := &hub.Event{ID: fmt.Sprintf("n%d-%d", n, k), Topics: []string{topic}, Data: data(k)}
		e.SSE, _ = sse.AppendEvent(nil, sse.Event{ID: e.ID, Data: e.Data})
		if err := h.Publish(e); err != nil {
			t.Fatalf("publish: %v", err)
		}
	})
	if st := h.Stats(); st.SlowDrops > 0 {
		r.errors += fmt.Sprintf("%d slow drops; ", st.SlowDrops)
	}
	hs.Close()
	h.Close()
	c.send(t, "wait-closed")
	c.expect(t, "closed", 60*time.Second)
	return r
}

// runRaw measures the raw writer on the same number of connections.
func runRaw(t *testing.T, c *child, n int) result {
	r := result{impl: "raw", subs: n}
	s, err := startRaw()
	if err != nil {
		t.Fatal(err)
	}
	connect(t, c, &r, s.ln.Addr().String(), server.MercurePath+"?topic="+topic, n, s.count)
	s.startWriters()
	measure(t, c, &r, func(k int) {
		b, _ := sse.AppendEvent(nil, sse.Event{ID: fmt.Sprintf("n%d-%d", n, k), Data: data(k)})
		s.publish([]byte(chunk(string(b))))
	})
	s.close()
	c.send(t, "wait-closed")
	c.expect(t, "closed", 60*time.Second)
	return r
}
