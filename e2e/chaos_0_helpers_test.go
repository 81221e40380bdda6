//go:build chaos

package e2e

// Shared pieces of the chaos suite (issue 6, short form): a reconnecting
// subscriber that behaves like EventSource, a kill -9 restart of the origin,
// a memory sampler and the report printed by TestChaosReport.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/shared/sse"
)

// chaosEnvInt reads an integer knob from the environment (long form), or def.
func chaosEnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// chaosRun names this run in event ids.
var chaosRun = strconv.FormatInt(time.Now().UnixNano()%1e9, 36)

// report collects the numbers every chaos test adds to the final table.
var report = struct {
	sync.Mutex
	faults                        map[string]int
	published, delivered          int
	lost, duplicated, reordered   int
	missed                        int
	leaked, allowedMissing        int
	badInputs, badAccepted, bad5x int
	crashes, known                int
	peakOriginRSS, peakWorkerdRSS int64 // KiB
	ran                           []string
	extra                         []reportLine // rows added by other tests, in order
}{faults: map[string]int{}}

type reportLine struct {
	name  string
	value string
}

// reportRow adds a named row to the final report (printed after the fixed
// rows, in the order added).
func reportRow(name string, v any) {
	report.Lock()
	report.extra = append(report.extra, reportLine{name, fmt.Sprint(v)})
	report.Unlock()
}

func reportFault(kind string) {
	report.Lock()
	report.faults[kind]++
	report.Unlock()
}

// killOrigin9 kills the origin's process group with SIGKILL (no graceful
// shutdown, no flush beyond what bbolt already fsynced) and starts it again
// on the same address and history file.
func killOrigin9(t testing.TB) {
	t.Helper()
	p := sys.origin
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
	if err := startOrigin(sys.originBin); err != nil {
		t.Fatal(err)
	}
}

// healthy reports whether both processes are alive and answer /healthz.
func healthy() error {
	for _, p := range []*process{sys.origin, sys.wrangler} {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited:\n%s", p.name, p.tail())
		default:
		}
	}
	for _, u := range []string{sys.originURL, sys.edgeURL} {
		c := http.Client{Timeout: 10 * time.Second}
		resp, err := c.Get(u + "/healthz")
		if err != nil {
			return fmt.Errorf("%s/healthz: %v", u, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("%s/healthz: %s", u, resp.Status)
		}
	}
	return nil
}

// ---- memory sampler -------------------------------------------------------

var samplerOnce sync.Once

// startSampler records the peak resident memory of the origin and of all
// workerd processes (summed) every 500 ms, for the whole test binary.
func startSampler() {
	samplerOnce.Do(func() {
		go func() {
			for {
				if o := sys.origin; o != nil {
					if kb := procKB(o.cmd.Process.Pid, "VmHWM:"); kb > 0 {
						report.Lock()
						report.peakOriginRSS = max(report.peakOriginRSS, kb)
						report.Unlock()
					}
				}
				if w := sys.wrangler; w != nil {
					var sum int64
					for _, pid := range groupPIDs(w.cmd.Process.Pid, "workerd") {
						sum += procKB(pid, "VmRSS:")
					}
					report.Lock()
					report.peakWorkerdRSS = max(report.peakWorkerdRSS, sum)
					report.Unlock()
				}
				time.Sleep(500 * time.Millisecond)
			}
		}()
	})
}

func procKB(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field) {
			f := strings.Fields(l)
			if len(f) >= 2 {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				return n
			}
		}
	}
	return 0
}

// groupPIDs lists the processes of process group pgid whose command is comm.
func groupPIDs(pgid int, comm string) []int {
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open {
			continue
		}
		f := strings.Fields(s[close+1:])
		if len(f) < 3 || !strings.Contains(s[open+1:close], comm) {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid {
			pid, _ := strconv.Atoi(strings.Fields(s)[0])
			out = append(out, pid)
		}
	}
	return out
}

// ---- reconnecting subscriber ----------------------------------------------

// chaosSub is a subscriber that reconnects with Last-Event-ID whenever its
// stream ends, as EventSource does, and records every event it receives.
type chaosSub struct {
	name   string
	url    string
	header http.Header

	mu       sync.Mutex
	events   []sse.Event
	lastID   string
	cancel   context.CancelFunc // of the current connection
	conns    int
	dialErrs int
	statuses map[int]int

	stop chan struct{}
	done chan struct{}
}

// newChaosSub starts a subscriber on u that resumes after lastID from the
// first connection on (so it cannot miss events published before its first
// stream opened).
func newChaosSub(name, u string, header http.Header, lastID string) *chaosSub {
	s := &chaosSub{name: name, url: u, header: header, lastID: lastID, statuses: map[int]int{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go s.loop()
	return s
}

func (s *chaosSub) loop() {
	defer close(s.done)
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		s.once()
		select {
		case <-s.stop:
			return
		case <-time.After(time.Duration(100+rand.IntN(400)) * time.Millisecond):
		}
	}
}

func (s *chaosSub) once() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.mu.Lock()
	last := s.lastID
	s.cancel = cancel
	s.mu.Unlock()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	for k, v := range s.header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "text/event-stream")
	if last != "" {
		req.Header.Set("Last-Event-ID", last)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.mu.Lock()
		s.dialErrs++
		s.mu.Unlock()
		return
	}
	defer resp.Body.Close()
	s.mu.Lock()
	s.statuses[resp.StatusCode]++
	s.mu.Unlock()
	if resp.StatusCode != 200 {
		return
	}
	s.mu.Lock()
	s.conns++
	s.mu.Unlock()
	p := sse.NewParser(resp.Body, sse.Config{LastEventID: last})
	for p.Next() {
		if p.Kind() != sse.KindEvent {
			continue
		}
		e := p.Event()
		s.mu.Lock()
		s.events = append(s.events, e)
		if e.ID != "" {
			s.lastID = e.ID
		}
		s.mu.Unlock()
	}
}

// cut closes the current connection abruptly (the client side of the TCP
// connection goes away); the subscriber reconnects by itself.
func (s *chaosSub) cut() {
	s.mu.Lock()
	c := s.cancel
	s.mu.Unlock()
	if c != nil {
		c()
	}
}

func (s *chaosSub) close() {
	close(s.stop)
	s.cut()
	<-s.done
}

func (s *chaosSub) snapshot() []sse.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sse.Event(nil), s.events...)
}

// chaosTopicURL builds a subscribe URL for base with the given selectors.
func chaosTopicURL(base string, topics ...string) string {
	q := url.Values{}
	for _, t := range topics {
		q.Add("topic", t)
	}
	return base + "/.well-known/mercure?" + q.Encode()
}
