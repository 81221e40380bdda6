package edge_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/shared/frame"
	"github.com/edge-sse/edge-sse/worker/edge"
)

// safeSink is a sink that the feed's goroutine and the test may share.
type safeSink struct {
	mu     sync.Mutex
	got    strings.Builder
	writes int
	closed bool
}

func (s *safeSink) Write(c *edge.Chunk) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	s.got.Write(c.Bytes)
	return true
}

func (s *safeSink) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
}

func (s *safeSink) Closed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *safeSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got.String()
}

func (s *safeSink) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

func addSafe(t *testing.T, h *edge.Hub, topic, last string) (uint64, *safeSink) {
	t.Helper()
	s := &safeSink{}
	id := h.NextID()
	if !h.Add(&edge.Client{ID: id, Sink: s, Match: topicMatch(topic)}, last) {
		t.Fatal("Add refused")
	}
	return id, s
}

// eventFrame is the Event frame of event id on topic.
func eventFrame(id, topic string) []byte {
	return frame.AppendEvent(nil, &frame.Event{ID: id, Topics: []string{topic}, SSE: []byte("id: " + id + "\ndata: " + topic + "\n\n")})
}

// frames joins frames into one write.
func frames(fs ...[]byte) []byte {
	var b []byte
	for _, f := range fs {
		b = append(b, f...)
	}
	return b
}

// script is a fake origin feed: each Dial takes the next step, which
// gets the id the hub resumes after and returns the feed's body or an error.
type script struct {
	t     *testing.T
	mu    sync.Mutex
	steps []func(after string) (io.ReadCloser, error)
	dials []string
	logs  []string
	naps  []time.Duration
}

func (s *script) dial(after string) (io.ReadCloser, error) {
	s.mu.Lock()
	s.dials = append(s.dials, after)
	if len(s.steps) == 0 {
		// After the script: a feed that stops once the hub has no client.
		s.mu.Unlock()
		return idleBody()(after)
	}
	step := s.steps[0]
	s.steps = s.steps[1:]
	s.mu.Unlock()
	return step(after)
}

func (s *script) logf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logs = append(s.logs, fmt.Sprintf(format, args...))
}

func (s *script) sleep(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.naps = append(s.naps, d)
}

func (s *script) feed(h *edge.Hub) *edge.Feed {
	return &edge.Feed{Hub: h, Dial: s.dial, Timeout: time.Minute, Idle: time.Minute, Logf: s.logf, Sleep: s.sleep}
}

// body returns a feed body that sends b then ends.
func body(b []byte) func(string) (io.ReadCloser, error) {
	return func(string) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(string(b))), nil }
}

// idleBody returns a feed body that sends heartbeats until the feed closes
// it for lack of clients.
func idleBody() func(string) (io.ReadCloser, error) {
	return func(string) (io.ReadCloser, error) {
		r, w := io.Pipe()
		go func() {
			for {
				if _, err := w.Write(frame.AppendHeartbeat(nil, 1)); err != nil {
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
		return r, nil
	}
}

// held returns a feed body that stays open, without frames, until the
// test ends; the test's clients are removed then, so the feed stops.
func held(t *testing.T, h *edge.Hub) func(string) (io.ReadCloser, error) {
	return func(string) (io.ReadCloser, error) {
		r, w := io.Pipe()
		t.Cleanup(func() {
			for id, n := uint64(1), h.NextID(); id < n; id++ {
				h.Remove(id)
			}
			w.Close()
		})
		return r, nil
	}
}

func failing(string) (io.ReadCloser, error) { return nil, errors.New("origin down") }

// runFeed runs f and fails the test if it does not return within a while.
func runFeed(t *testing.T, f *edge.Feed) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		f.Run()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the feed did not give up")
	}
}

func TestFeedResumesAfterNewest(t *testing.T) {
	h := edge.NewHub(testCompiler, 10)
	id, s := addSafe(t, h, "a", "")
	sc := &script{t: t}
	sc.steps = append(sc.steps,
		body(frames(frame.AppendHello(nil, "e0"), eventFrame("e1", "a"), eventFrame("e2", "b"))),
		failing,
		func(after string) (io.ReadCloser, error) {
			return body(frames(frame.AppendHello(nil, after), eventFrame("e3", "a")))(after)
		},
		func(string) (io.ReadCloser, error) {
			h.Remove(id)
			return idleBody()("")
		},
	)
	f := sc.feed(h)
	f.Idle = time.Millisecond
	runFeed(t, f)
	if want := []string{"", "e2", "e2", "e3"}; fmt.Sprint(sc.dials) != fmt.Sprint(want) {
		t.Errorf("dialled after %q, want %q", sc.dials, want)
	}
	if got := ids(s.String()); got != "e1,e3" {
		t.Errorf("client got %q, want e1,e3", got)
	}
	if !strings.Contains(strings.Join(sc.logs, "\n"), "no clients") {
		t.Errorf("idle shutdown not logged: %q", sc.logs)
	}
}

func TestFeedBackoffResetAfterConnected(t *testing.T) {
	h := edge.NewHub(testCompiler, 10)
	id, _ := addSafe(t, h, "a", "")
	sc := &script{t: t}
	sc.steps = append(sc.steps, failing, failing, failing,
		body(frame.AppendHello(nil, "")), // connected, then ends
		failing,
		func(string) (io.ReadCloser, error) {
			h.Remove(id)
			return idleBody()("")
		},
	)
	f := sc.feed(h)
	f.Idle = time.Millisecond
	runFeed(t, f)
	if len(sc.naps) != 5 {
		t.Fatalf("slept %d times (%v), want 5", len(sc.naps), sc.naps)
	}
	// Each wait is a base of 250 ms doubled per attempt, jittered to
	// between half and one and a half times the base.
	bases := []time.Duration{250, 500, 1000, 250, 500}
	for i, b := range bases {
		b *= time.Millisecond
		if d := sc.naps[i]; d < b/2 || d >= b*3/2 {
			t.Errorf("wait %d is %s, want [%s, %s) (base %s)", i+1, d, b/2, b*3/2, b)
		}
	}
}

func TestFeedWatchdogClosesSilentFeed(t *testing.T) {
	h := edge.NewHub(testCompiler, 10)
	id, _ := addSafe(t, h, "a", "")
	sc := &script{t: t}
	var silent *io.PipeWriter
	var opened time.Time
	sc.steps = append(sc.steps,
		func(string) (io.ReadCloser, error) {
			r, w := io.Pipe()
			silent, opened = w, time.Now()
			go w.Write(frame.AppendHello(nil, "e0")) // then nothing
			return r, nil
		},
		func(string) (io.ReadCloser, error) {
			if waited := time.Since(opened); waited < 50*time.Millisecond {
				t.Errorf("redialled after %s, before the 50ms timeout", waited)
			}
			h.Remove(id)
			return idleBody()("")
		},
	)
	f := sc.feed(h)
	f.Timeout = 50 * time.Millisecond
	f.Idle = time.Millisecond
	runFeed(t, f)
	if len(sc.dials) != 2 {
		t.Fatalf("dialled %d times, want 2", len(sc.dials))
	}
	if _, err := silent.Write(frame.AppendHeartbeat(nil, 1)); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("the silent feed's body was not closed: write error %v", err)
	}
	if !strings.Contains(strings.Join(sc.logs, "\n"), "no frame from the origin for 50ms") {
		t.Errorf("watchdog not logged: %q", sc.logs)
	}
}

// TestFeedStartRace covers a client that arrives while the feed is giving
// up for lack of clients: Start, called then, finds the feed still running
// and returns; the feed must see the client and keep going.
func TestFeedStartRace(t *testing.T) {
	h := edge.NewHub(testCompiler, 10)
	id, _ := addSafe(t, h, "a", "")
	sc := &script{t: t}
	var once sync.Once
	redialled := make(chan string, 1)
	var f *edge.Feed
	sc.steps = append(sc.steps,
		func(string) (io.ReadCloser, error) {
			h.Remove(id)
			return idleBody()("")
		},
		func(after string) (io.ReadCloser, error) {
			redialled <- after
			return held(t, h)(after)
		},
	)
	f = sc.feed(h)
	f.Idle = time.Millisecond
	f.Logf = func(format string, args ...any) {
		if strings.Contains(format, "no clients") {
			// The feed has given up and is about to return.
			once.Do(func() {
				addSafe(t, h, "a", "")
				f.Start()
			})
		}
	}
	f.Start()
	select {
	case <-redialled:
	case <-time.After(10 * time.Second):
		t.Fatal("the client that arrived while the feed gave up was left without a feed")
	}
}

func TestFeedStopsIdleAndRestarts(t *testing.T) {
	h := edge.NewHub(testCompiler, 10)
	id, _ := addSafe(t, h, "a", "")
	sc := &script{t: t}
	stopped := make(chan struct{})
	var stopOnce sync.Once
	dialled := make(chan struct{}, 2)
	sc.steps = append(sc.steps,
		func(string) (io.ReadCloser, error) {
			dialled <- struct{}{}
			h.Remove(id)
			return idleBody()("")
		},
		func(after string) (io.ReadCloser, error) {
			dialled <- struct{}{}
			return held(t, h)(after)
		},
	)
	f := sc.feed(h)
	f.Idle = time.Millisecond
	f.Logf = func(format string, args ...any) {
		if strings.Contains(format, "no clients") {
			stopOnce.Do(func() { close(stopped) })
		}
	}
	f.Start()
	<-dialled
	<-stopped
	// The feed has stopped, or stops now without dialling again.
	time.Sleep(20 * time.Millisecond)
	sc.mu.Lock()
	n := len(sc.dials)
	sc.mu.Unlock()
	if n != 1 {
		t.Fatalf("the idle feed dialled %d times without a client, want 1", n)
	}
	addSafe(t, h, "a", "")
	f.Start()
	select {
	case <-dialled:
	case <-time.After(10 * time.Second):
		t.Fatal("Start did not reopen the feed for a new client")
	}
}

// collectBody is a feed body that records what the feed asks it to collect.
type collectBody struct {
	io.Reader
	mu      sync.Mutex
	collect []time.Duration
}

func (b *collectBody) Collect(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.collect = append(b.collect, d)
}

func (b *collectBody) Pending() bool { return false }
func (b *collectBody) Close() error  { return nil }

func TestFeedBatchesAndCollects(t *testing.T) {
	h := edge.NewHub(testCompiler, 100)
	// Slices larger than this test's fan-out (70 writes, 3 events), so
	// that the only yield is the one before the next read.
	h.SetSlices(256, 64)
	var ymu sync.Mutex
	yields := 0
	h.Yield = func() { ymu.Lock(); yields++; ymu.Unlock() }
	yielded := func() int { ymu.Lock(); defer ymu.Unlock(); return yields }
	sinks := make([]*safeSink, 70)
	var last uint64
	for i := range sinks {
		last, sinks[i] = addSafe(t, h, "a", "")
	}
	before := sinks[0].Writes()
	r, w := io.Pipe()
	b := &collectBody{Reader: r}
	sc := &script{t: t}
	sc.steps = append(sc.steps, func(string) (io.ReadCloser, error) { return b, nil })
	f := sc.feed(h)
	f.Idle = time.Millisecond
	f.Collect = 7 * time.Millisecond
	done := make(chan struct{})
	go func() {
		f.Run()
		close(done)
	}()
	// One read: the hello and three events, delivered as one write per client.
	w.Write(frames(frame.AppendHello(nil, "e0"), eventFrame("e1", "a"), eventFrame("e2", "b"), eventFrame("e3", "a")))
	waitFor(t, func() bool { return sinks[0].Writes() > before })
	if got := sinks[0].Writes() - before; got != 1 {
		t.Errorf("client got %d writes for one read, want 1", got)
	}
	if got := ids(sinks[0].String()); got != "e1,e3" {
		t.Errorf("client got %q, want e1,e3", got)
	}
	// That fan-out wrote to 70 streams: the next read collects.
	b.mu.Lock()
	got := fmt.Sprint(b.collect)
	b.mu.Unlock()
	if got != "[7ms]" {
		t.Errorf("collect after a fan-out to 70 streams: %s, want [7ms]", got)
	}
	// And it yields a turn before reading again (70 writes and 3 events
	// are below a slice: that is the only yield), so that the worker's
	// event loop reads what queued up in the feed during the fan-out.
	waitFor(t, func() bool { return yielded() == 1 })
	// A fan-out to few streams does not.
	for id := uint64(1); id < last; id++ {
		h.Remove(id)
	}
	w.Write(eventFrame("e4", "a"))
	waitFor(t, func() bool { return strings.Contains(sinks[69].String(), "e4") })
	// The feed tells the body how to collect after the fan-out returns, so
	// the client may hold e4 a moment before the second Collect call.
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.collect) >= 2 })
	b.mu.Lock()
	got = fmt.Sprint(b.collect)
	b.mu.Unlock()
	if got != "[7ms 0s]" {
		t.Errorf("collect after a fan-out to 1 stream: %s, want [7ms 0s]", got)
	}
	if got := yielded(); got != 1 {
		t.Errorf("%d yields after a fan-out to 1 stream, want still 1", got)
	}
	h.Remove(last)
	w.Close() // the feed redials, finds no client and stops
	<-done
}

func TestFeedHelloAndGap(t *testing.T) {
	h := edge.NewHub(testCompiler, 10)
	earlyID, early := addSafe(t, h, "a", "e1") // resumes before the first Hello
	id, s := addSafe(t, h, "a", "")
	sc := &script{t: t}
	sc.steps = append(sc.steps,
		body(frames(frame.AppendHello(nil, "e1"), eventFrame("e2", "a"), frame.AppendGap(nil, "e2"), eventFrame("e3", "a"))),
		func(after string) (io.ReadCloser, error) {
			h.Remove(id)
			h.Remove(earlyID)
			return idleBody()(after)
		},
	)
	f := sc.feed(h)
	f.Idle = time.Millisecond
	runFeed(t, f)
	out := s.String()
	i2, gap, i3 := strings.Index(out, "id: e2"), strings.Index(out, "event: "+edge.MissedEventType), strings.Index(out, "id: e3")
	if i2 < 0 || gap < i2 || i3 < gap {
		t.Errorf("want e2, the missed notice, e3 in that order; got %q", out)
	}
	if got := ids(early.String()); got != "e2,e3" {
		t.Errorf("client resuming after e1 before the Hello got %q, want e2,e3", got)
	}
	if st := h.Stats(); st.RingLen != 1 || st.LastEventID != "e3" || st.Gaps != 1 {
		t.Errorf("after the gap the ring should hold only e3: %+v", st)
	}
	if sc.dials[1] != "e3" {
		t.Errorf("redialled after %q, want e3", sc.dials[1])
	}
}

// waitFor waits until cond holds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for start := time.Now(); !cond(); time.Sleep(time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatal("timed out")
		}
	}
}

// TestFeedWatchdogResetByFrames: a feed whose frames (heartbeats) keep
// coming within the timeout is never closed by the watchdog.
func TestFeedWatchdogResetByFrames(t *testing.T) {
	h := edge.NewHub(testCompiler, 10)
	id, _ := addSafe(t, h, "a", "")
	sc := &script{t: t}
	sc.steps = append(sc.steps, func(string) (io.ReadCloser, error) {
		r, w := io.Pipe()
		go func() {
			w.Write(frame.AppendHello(nil, "e0"))
			// 1.2s, four times the timeout; the timeout is 30 frame gaps
			// so that a goroutine stalled by a loaded machine (a 100ms
			// timeout failed at load average ≈15) does not read as silence.
			for range 120 {
				time.Sleep(10 * time.Millisecond)
				w.Write(frame.AppendHeartbeat(nil, 1))
			}
			h.Remove(id)
			for {
				time.Sleep(5 * time.Millisecond)
				if _, err := w.Write(frame.AppendHeartbeat(nil, 1)); err != nil {
					return
				}
			}
		}()
		return r, nil
	})
	f := sc.feed(h)
	f.Timeout = 300 * time.Millisecond
	f.Idle = time.Millisecond
	runFeed(t, f)
	if len(sc.dials) != 1 || strings.Contains(strings.Join(sc.logs, "\n"), "no frame") {
		t.Errorf("a feed with frames every 10ms was closed by a 300ms watchdog: dials %q, logs %q", sc.dials, sc.logs)
	}
}

// A batch of many events read at once is decoded in slices of
// DefaultDecodeSlice events with Hub.Yield between them, and still goes out as
// one fan-out: one write per client.
func TestFeedDecodeYields(t *testing.T) {
	h := edge.NewHub(testCompiler, 1000)
	var mu sync.Mutex
	yields := 0
	h.Yield = func() { mu.Lock(); yields++; mu.Unlock() }
	id, s := addSafe(t, h, "a", "")
	before := s.Writes()
	n := 3*edge.DefaultDecodeSlice + 1
	fs := [][]byte{frame.AppendHello(nil, "e0")}
	for i := range n {
		fs = append(fs, eventFrame(fmt.Sprintf("e%d", i+1), "a"))
	}
	sc := &script{t: t}
	sc.steps = append(sc.steps, body(frames(fs...)), func(string) (io.ReadCloser, error) {
		h.Remove(id)
		return idleBody()("")
	})
	f := sc.feed(h)
	f.Idle = time.Millisecond
	runFeed(t, f)
	if got := strings.Count(s.String(), "id: "); got != n {
		t.Fatalf("client got %d events, want %d", got, n)
	}
	if got := s.Writes() - before; got != 1 {
		t.Errorf("client got %d writes for one read of %d events, want 1", got, n)
	}
	mu.Lock()
	got := yields
	mu.Unlock()
	if got != 3 {
		t.Errorf("%d yields while decoding %d events, want 3 (one per %d)", got, n, edge.DefaultDecodeSlice)
	}
}

// stampBody is a feed body that says when its reads arrived and were taken.
type stampBody struct {
	io.Reader
	arrived, taken time.Time
}

func (b *stampBody) Stamps() (arrived, taken time.Time) { return b.arrived, b.taken }
func (b *stampBody) Close() error                       { return nil }

func TestFeedTrace(t *testing.T) {
	h := edge.NewHub(testCompiler, 100)
	var sinks []*safeSink
	for range 3 {
		_, s := addSafe(t, h, "a", "")
		sinks = append(sinks, s)
	}
	r, w := io.Pipe()
	arrived := time.UnixMilli(1_700_000_000_000)
	b := &stampBody{Reader: r, arrived: arrived, taken: arrived.Add(7 * time.Millisecond)}
	startFeed(t, h, b, func() { w.Close() })
	// One read of two events (one fan-out), then one of one event.
	w.Write(frames(frame.AppendHello(nil, "e0"), eventFrame("e1", "a"), eventFrame("e2", "a")))
	waitFor(t, func() bool { return strings.Contains(sinks[2].String(), "e2") })
	w.Write(eventFrame("e3", "a"))
	waitFor(t, func() bool { return strings.Contains(sinks[2].String(), "e3") })
	tr := h.Trace()
	if len(tr) != 2 {
		t.Fatalf("trace has %d fan-outs, want 2: %+v", len(tr), tr)
	}
	for i, want := range []struct {
		last   string
		events int
	}{{"e2", 2}, {"e3", 1}} {
		got := tr[i]
		if got.LastID != want.last || got.Events != want.events || got.Writes != 3 {
			t.Errorf("fan-out %d: last %s, %d events, %d writes; want %s, %d, 3", i, got.LastID, got.Events, got.Writes, want.last, want.events)
		}
		if got.ArrivedMs != 1_700_000_000_000 || got.TakenMs != 1_700_000_000_007 {
			t.Errorf("fan-out %d: arrived %v, taken %v; want the body's stamps", i, got.ArrivedMs, got.TakenMs)
		}
		if got.StartMs < got.TakenMs || got.DoneMs < got.StartMs {
			t.Errorf("fan-out %d: start %v, done %v: out of order after taken %v", i, got.StartMs, got.DoneMs, got.TakenMs)
		}
	}
}
