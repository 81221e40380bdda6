//go:build chaos

package e2e

// Shared pieces of the chaos suite (issue 6, short form): a reconnecting
// subscriber that behaves like EventSource (and can stall, or fail over
// between origins sharing a history), the check that subscribers got
// exactly a numbered sequence, a kill -9 restart of the origin, a memory
// sampler and the report printed after the last test.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
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

// report collects the numbers every chaos test adds to the final table,
// printed once every test has run (chaos_report_test.go).
var report = &chaosReport{faults: map[string]int{}}

// chaosReport is what the chaos tests count; ran names the tests that
// added to it.
type chaosReport struct {
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
}

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
// It can stall: stop reading its stream (without cancelling it) until
// resumed, like a browser tab that is frozen or on a congested link.
type chaosSub struct {
	name   string
	url    string
	urls   []string // with more than one: hubs sharing a history, tried in turn when one fails
	header http.Header
	client *http.Client // nil: http.DefaultClient
	noData bool         // record events without their data

	mu       sync.Mutex
	events   []sse.Event
	lastID   string
	cancel   context.CancelFunc // of the current connection
	conns    int                // streams opened (200)
	ended    int                // streams that ended
	pick     int                // index in urls of the hub in use
	switches int                // moves to the next hub of urls
	dialErrs int
	statuses map[int]int
	gate     chan struct{} // non-nil while stalled; closed on resume
	stalls   int           // stalls begun

	stop chan struct{}
	done chan struct{}
}

// newChaosSub starts a subscriber on u that resumes after lastID from the
// first connection on (so it cannot miss events published before its first
// stream opened).
func newChaosSub(name, u string, header http.Header, lastID string) *chaosSub {
	return startChaosSub(&chaosSub{name: name, url: u, header: header, lastID: lastID})
}

// stallRcvBuf is the socket receive buffer of a stalling subscriber: small,
// so that the server's writes block soon after the subscriber stops
// reading instead of filling megabytes of kernel buffers first.
const stallRcvBuf = 4096

// newStallingSub is newChaosSub with a small socket receive buffer, for a
// subscriber that will be stalled; it records events without their data
// (it may receive megabytes of ballast).
func newStallingSub(name, u string, header http.Header, lastID string) *chaosSub {
	d := &net.Dialer{Timeout: 10 * time.Second, Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, stallRcvBuf)
		})
		return errors.Join(err, serr)
	}}
	client := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, ReadBufferSize: stallRcvBuf}}
	return startChaosSub(&chaosSub{name: name, url: u, header: header, lastID: lastID, client: client, noData: true})
}

// newFailoverSub is newChaosSub on hubs that share one history (origins on
// one Redis): it subscribes to urls[0] and moves to the next whenever a
// connection attempt fails, resuming with Last-Event-ID wherever it lands.
func newFailoverSub(name string, urls []string, lastID string) *chaosSub {
	return startChaosSub(&chaosSub{name: name, url: urls[0], urls: urls, lastID: lastID})
}

func startChaosSub(s *chaosSub) *chaosSub {
	s.statuses = map[int]int{}
	s.stop, s.done = make(chan struct{}), make(chan struct{})
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
	u := s.url
	if len(s.urls) > 0 {
		u = s.urls[s.pick]
	}
	s.mu.Unlock()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	for k, v := range s.header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "text/event-stream")
	if last != "" {
		req.Header.Set("Last-Event-ID", last)
	}
	client := s.client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		s.mu.Lock()
		s.dialErrs++
		s.next()
		s.mu.Unlock()
		return
	}
	defer resp.Body.Close()
	s.mu.Lock()
	s.statuses[resp.StatusCode]++
	if resp.StatusCode != 200 {
		s.next()
	}
	s.mu.Unlock()
	if resp.StatusCode != 200 {
		return
	}
	s.mu.Lock()
	s.conns++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.ended++
		s.mu.Unlock()
	}()
	p := sse.NewParser(stallReader{s, resp.Body}, sse.Config{LastEventID: last})
	for p.Next() {
		if p.Kind() != sse.KindEvent {
			continue
		}
		e := p.Event()
		if s.noData {
			e.Data = ""
		}
		s.mu.Lock()
		s.events = append(s.events, e)
		if e.ID != "" {
			s.lastID = e.ID
		}
		s.mu.Unlock()
	}
}

// next moves to the next hub of urls, if there are several; s.mu held.
func (s *chaosSub) next() {
	if len(s.urls) > 1 {
		s.pick = (s.pick + 1) % len(s.urls)
		s.switches++
	}
}

// stallReader reads the stream's body, but not while its subscriber is
// stalled: the bytes stay in the socket, so the server's writes back up.
type stallReader struct {
	s *chaosSub
	r io.Reader
}

func (g stallReader) Read(b []byte) (int, error) {
	g.s.mu.Lock()
	gate := g.s.gate
	g.s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-g.s.stop:
		}
	}
	return g.r.Read(b)
}

// stall stops s reading its stream until resume.
func (s *chaosSub) stall() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate == nil {
		s.gate = make(chan struct{})
		s.stalls++
	}
}

// resume lets s read again.
func (s *chaosSub) resume() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate != nil {
		close(s.gate)
		s.gate = nil
	}
}

// edgeDrops reads the edge hub's count of dropped clients.
func edgeDrops(edgeURL string) (int64, bool) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := operatorGet(&c, edgeURL+"/_edge/stats")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	var st struct{ Dropped int64 }
	err = json.NewDecoder(resp.Body).Decode(&st)
	io.Copy(io.Discard, resp.Body) // so that the connection is reused
	if err != nil {
		return 0, false
	}
	return st.Dropped, true
}

// originDrops reads the origin's count of slow consumers disconnected.
func originDrops(originURL string) (int64, bool) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := operatorGet(&c, originURL+"/metrics")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "edge_sse_origin_slow_consumer_disconnects_total "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int64(f), err == nil
		}
	}
	return 0, false
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

// has reports whether s received the event id (searching from the newest).
func (s *chaosSub) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.events) - 1; i >= 0; i-- {
		if s.events[i].ID == id {
			return true
		}
	}
	return false
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

// ---- sequence check -----------------------------------------------------------

// lastInSequence is the id of the last event in ev for which skip (nil:
// none) is false.
func lastInSequence(ev []sse.Event, skip func(id string) bool) string {
	for i := len(ev) - 1; i >= 0; i-- {
		if skip == nil || !skip(ev[i].ID) {
			return ev[i].ID
		}
	}
	return ""
}

// waitSequence waits until every subscriber's last event is last (ids for
// which skip is true aside), or timeout, then a second more for anything
// extra to arrive.
func waitSequence(subs []*chaosSub, last string, skip func(id string) bool, timeout time.Duration) {
	waitFor(timeout, func() bool {
		for _, s := range subs {
			if lastInSequence(s.snapshot(), skip) != last {
				return false
			}
		}
		return true
	})
	time.Sleep(time.Second)
}

// sequenceTally is what checkSequence counted over all subscribers.
type sequenceTally struct {
	delivered, lost, duplicated, reordered, missed int
}

// checkSequence fails t unless every subscriber received exactly want, in
// order, each once, and no mercure-missed event. Events whose id skip (nil:
// none) reports are not part of the sequence (ballast), but must not
// arrive twice either.
func checkSequence(t *testing.T, subs []*chaosSub, want []string, skip func(id string) bool) sequenceTally {
	t.Helper()
	wanted := make(map[string]bool, len(want))
	for _, id := range want {
		wanted[id] = true
	}
	var tally sequenceTally
	for _, s := range subs {
		ev := s.snapshot()
		seen := map[string]int{}
		var got []string
		skipped := 0
		for _, e := range ev {
			if e.Type == "mercure-missed" {
				tally.missed++
				t.Errorf("%s: received mercure-missed %q after id %q", s.name, e.Data, e.ID)
				continue
			}
			seen[e.ID]++
			if skip != nil && skip(e.ID) {
				skipped++
				continue
			}
			got = append(got, e.ID)
		}
		tally.delivered += len(got)
		l, d, extra := 0, 0, 0
		for _, id := range want {
			if seen[id] == 0 {
				l++
			}
		}
		for id, c := range seen {
			if c > 1 {
				d += c - 1
			}
			if !wanted[id] && (skip == nil || !skip(id)) {
				extra++
			}
		}
		firstDiff := -1
		for i := 0; i < len(want) || i < len(got); i++ {
			if i >= len(want) || i >= len(got) || got[i] != want[i] {
				firstDiff = i
				break
			}
		}
		if l == 0 && d == 0 && firstDiff >= 0 {
			tally.reordered++
		}
		tally.lost += l
		tally.duplicated += d
		s.mu.Lock()
		t.Logf("%-14s connections %3d, dial errors %3d, statuses %v, origin switches %d, events %d, lost %d, duplicated %d, extra %d, skipped %d, stalls %d",
			s.name, s.conns, s.dialErrs, s.statuses, s.switches, len(got), l, d, extra, skipped, s.stalls)
		s.mu.Unlock()
		if d > 0 {
			t.Errorf("%s: %d events received more than once", s.name, d)
		}
		if firstDiff >= 0 {
			lo := max(0, firstDiff-2)
			t.Errorf("%s: sequence differs at index %d: got %v…, want %v…", s.name, firstDiff,
				got[lo:min(len(got), firstDiff+3)], want[lo:min(len(want), firstDiff+3)])
		}
	}
	return tally
}

// addToReport adds the tally of a run that published n events to the
// report, and returns the fault counts so far.
func (tally sequenceTally) addToReport(n int) string {
	report.Lock()
	defer report.Unlock()
	report.published += n
	report.delivered += tally.delivered
	report.lost += tally.lost
	report.duplicated += tally.duplicated
	report.reordered += tally.reordered
	report.missed += tally.missed
	return fmt.Sprint(report.faults)
}

// cutsBetweenFaults waits half of faultEvery, cuts one to three random
// subscriber connections, and waits the other half, unless the publisher
// finishes first: then it returns the publisher's result and true.
func cutsBetweenFaults(pubErr <-chan error, subs []*chaosSub, faultEvery time.Duration) (error, bool) {
	for half := 0; half < 2; half++ {
		select {
		case err := <-pubErr:
			return err, true
		case <-time.After(faultEvery / 2):
		}
		if half == 0 {
			for k := 1 + rand.IntN(3); k > 0; k-- {
				subs[rand.IntN(len(subs))].cut()
				reportFault("subscriber connection cut")
			}
		}
	}
	return nil, false
}
