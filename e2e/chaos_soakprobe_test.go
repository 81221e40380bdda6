//go:build chaos

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Probes of the soak and flood tests: the origin's metrics, the edge
// hub's stats (on the worker's own port) and their samples.

// soakSample is one reading of the origin, the workerd processes and the edge hub.
type soakSample struct {
	goroutines, fds, heapInuse, nextGC, rss, originSubs float64
	workerdKB                                           int64
	edgeSubs, wasmBytes                                 float64
	err                                                 error
}

func (a soakSample) max(b soakSample) soakSample {
	return soakSample{
		goroutines: max(a.goroutines, b.goroutines), fds: max(a.fds, b.fds),
		heapInuse: max(a.heapInuse, b.heapInuse), nextGC: max(a.nextGC, b.nextGC),
		rss: max(a.rss, b.rss), originSubs: max(a.originSubs, b.originSubs),
		workerdKB: max(a.workerdKB, b.workerdKB), edgeSubs: max(a.edgeSubs, b.edgeSubs),
		wasmBytes: max(a.wasmBytes, b.wasmBytes),
	}
}

func takeSoakSample(originURL string, edge *edgeDirect) soakSample {
	m, err := scrapeMetrics(originURL)
	if err != nil {
		return soakSample{err: err}
	}
	s := soakSample{
		goroutines: m["go_goroutines"], fds: m["process_open_fds"],
		heapInuse: m["go_memstats_heap_inuse_bytes"], nextGC: m["go_memstats_next_gc_bytes"],
		rss: m["process_resident_memory_bytes"], originSubs: m["edge_sse_origin_subscribers"],
	}
	for _, pid := range groupPIDs(sys.wrangler.cmd.Process.Pid, "workerd") {
		s.workerdKB += procKB(pid, "VmRSS:")
	}
	stats, err := edge.stats()
	if err != nil {
		return soakSample{err: err}
	}
	s.edgeSubs, s.wasmBytes = stats["subscribers"], stats["wasmMemoryBytes"]
	return s
}

var metricsClient = http.Client{Timeout: 10 * time.Second}

// scrapeMetrics reads the unlabelled samples of an origin's /metrics.
func scrapeMetrics(base string) (map[string]float64, error) {
	resp, err := operatorGet(&metricsClient, base+"/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("%s/metrics: %s", base, resp.Status)
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			m[name] = f
		}
	}
	return m, sc.Err()
}

func mustScrape(t testing.TB, base string) map[string]float64 {
	t.Helper()
	m, err := scrapeMetrics(base)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// edgeStats reads the numbers of the edge hub's /_edge/stats.
func edgeStats(base string) (map[string]float64, error) {
	resp, err := operatorGet(&metricsClient, base+"/_edge/stats")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var raw map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		return nil, fmt.Errorf("%s/_edge/stats: %w", base, err)
	}
	m := map[string]float64{}
	for k, v := range raw {
		if f, ok := v.(float64); ok {
			m[k] = f
		}
	}
	return m, nil
}

func mib(b float64) float64 { return b / (1 << 20) }

// human formats v: bytes as KiB or MiB, counts as they are.
func human(v float64, unit string) string {
	switch {
	case unit != "B":
		return fmt.Sprintf("%.1f", v)
	case v >= 1<<20 || v <= -(1<<20):
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	default:
		return fmt.Sprintf("%.1f KiB", v/1024)
	}
}

// edgeDirect is the base URL of the worker itself inside wrangler dev,
// without wrangler's dev-only ProxyWorker in front (CHAOS_EDGE_VIA_PROXY=1:
// sys.edgeURL, through the proxy). The ProxyWorker relays each response
// from its own Durable Object; measured here, under churn a quarter to a
// third of the client streams it relays are never cancelled towards the
// worker when their client leaves (the EdgeHub's JS cancel() never runs,
// so it keeps them as subscribers), which production, without that hop,
// does not do. Connecting to the worker's own socket keeps the
// front door → EdgeHub path the soak and flood tests measure.
//
// The worker's own port changes when wrangler reloads it (worker/build
// rewritten by a build during the run); moved finds the new one.
type edgeDirect struct {
	mu     sync.Mutex
	u      string
	at     time.Time
	moves  int
	direct bool
}

func newEdgeDirect(t testing.TB) *edgeDirect {
	t.Helper()
	if os.Getenv("CHAOS_EDGE_VIA_PROXY") != "" {
		return &edgeDirect{u: sys.edgeURL}
	}
	u, ports := findEdgeDirect()
	if u == "" {
		t.Fatalf("cannot find the worker's own port among workerd's listening ports %v (set CHAOS_EDGE_VIA_PROXY=1 to go through wrangler's proxy at %s)", ports, sys.edgeURL)
	}
	return &edgeDirect{u: u, at: time.Now(), direct: true}
}

func (d *edgeDirect) url() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.u
}

// moved reports that old could not be reached: if it is still the current
// URL, the worker's port is looked up again (at most twice a second).
func (d *edgeDirect) moved(old string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.direct || old != d.u || time.Since(d.at) < 500*time.Millisecond {
		return
	}
	d.at = time.Now()
	if u, _ := findEdgeDirect(); u != "" && u != d.u {
		d.u = u
		d.moves++
	}
}

// stats reads the edge hub's /_edge/stats, following the worker if it moved.
func (d *edgeDirect) stats() (map[string]float64, error) {
	u := d.url()
	m, err := edgeStats(u)
	if err != nil {
		d.moved(u)
	}
	return m, err
}

// subscribers is the edge hub's subscriber count, or -1 when unreadable.
func (d *edgeDirect) subscribers() float64 {
	m, err := d.stats()
	if err != nil {
		return -1
	}
	return m["subscribers"]
}

// reloads says how often wrangler reloaded the worker during the test.
func (d *edgeDirect) reloads() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.moves
}

// findEdgeDirect finds the listening port of the workerd processes of
// wrangler dev that answers /_edge/stats and is not the proxy's.
func findEdgeDirect() (string, []string) {
	var ports []string
	for _, pid := range groupPIDs(sys.wrangler.cmd.Process.Pid, "workerd") {
		ports = append(ports, listeningPorts(pid)...)
	}
	c := http.Client{Timeout: 5 * time.Second}
	for _, port := range ports {
		u := "http://127.0.0.1:" + port
		if u == sys.edgeURL {
			continue
		}
		resp, err := operatorGet(&c, u+"/_edge/stats")
		if err != nil {
			continue
		}
		var m map[string]any
		err = json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if _, ok := m["subscribers"]; err == nil && resp.StatusCode == 200 && ok {
			return u, ports
		}
	}
	return "", ports
}

// listeningPorts lists the TCP ports process pid listens on (IPv4), from
// /proc/net/tcp and the process's socket descriptors.
func listeningPorts(pid int) []string {
	inodes := map[string]bool{}
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, fd := range fds {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/net/tcp", pid))
	var ports []string
	for _, l := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) < 10 || f[3] != "0A" || !inodes[f[9]] { // 0A: LISTEN
			continue
		}
		_, hexPort, _ := strings.Cut(f[1], ":")
		if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil {
			ports = append(ports, strconv.FormatUint(p, 10))
		}
	}
	return ports
}
