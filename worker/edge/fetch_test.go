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

// catchupHub returns a hub whose ring of 2 holds e3 and e4 (e1 and e2 are
// gone), with a Fetcher calling fetch.
func catchupHub(t *testing.T, fetch func(after, until string) (io.ReadCloser, error)) (*edge.Hub, *edge.Fetcher, *script) {
	h := edge.NewHub(testCompiler, 2)
	sc := &script{t: t}
	ft := &edge.Fetcher{Hub: h, Fetch: fetch, Timeout: time.Minute, Logf: sc.logf}
	h.OnFetch = ft.Start
	hello(h, "e0")
	h.Deliver([]*edge.Event{event("e1", "a", false), event("e2", "b", false), event("e3", "a", false), event("e4", "a", false)})
	return h, ft, sc
}

// history answers a range fetch from the events e1 … e9 (topic a except e2).
func history(after, until string) (io.ReadCloser, error) {
	b := frame.AppendHello(nil, "e9")
	on := after == "e0" || after == edge.Earliest // the origin holds all from e1
	for k := 1; k <= 9; k++ {
		id := fmt.Sprint("e", k)
		if on {
			topic := "a"
			if id == "e2" {
				topic = "b"
			}
			b = append(b, eventFrame(id, topic)...)
		}
		if id == after {
			on = true
		}
		if id == until {
			break
		}
	}
	if !on {
		b = frame.AppendGap(append(frame.AppendHello(nil, "e9"), frame.AppendHeartbeat(nil, 1)...), after)
	}
	return io.NopCloser(strings.NewReader(string(b))), nil
}

func TestFetcherServesRange(t *testing.T) {
	var asked []string
	var mu sync.Mutex
	h, _, _ := catchupHub(t, func(after, until string) (io.ReadCloser, error) {
		mu.Lock()
		asked = append(asked, after+".."+until)
		mu.Unlock()
		return history(after, until)
	})
	_, s := addSafe(t, h, "a", "e1")
	waitFor(t, func() bool { return h.Stats().CatchingUp == 0 })
	if got := ids(s.String()); got != "e3,e4" {
		t.Errorf("client resuming after e1 got %q, want e3,e4", got)
	}
	if fmt.Sprint(asked) != "[e1..e4]" {
		t.Errorf("fetched %v, want [e1..e4]", asked)
	}
}

func TestFetcherEarliest(t *testing.T) {
	var asked []string
	var mu sync.Mutex
	h, _, _ := catchupHub(t, func(after, until string) (io.ReadCloser, error) {
		mu.Lock()
		asked = append(asked, after+".."+until)
		mu.Unlock()
		return history(after, until)
	})
	_, s := addSafe(t, h, "a", edge.Earliest)
	waitFor(t, func() bool { return h.Stats().CatchingUp == 0 })
	if got := ids(s.String()); got != "e1,e3,e4" {
		t.Errorf("client resuming from earliest got %q, want e1,e3,e4", got)
	}
	if fmt.Sprint(asked) != "[earliest..e4]" {
		t.Errorf("fetched %v, want [earliest..e4]", asked)
	}
}

func TestFetcherGap(t *testing.T) {
	h, _, _ := catchupHub(t, history)
	_, s := addSafe(t, h, "a", "unknown")
	waitFor(t, func() bool { return h.Stats().CatchingUp == 0 })
	if !strings.Contains(s.String(), "event: "+edge.MissedEventType) || ids(s.String()) != "" {
		t.Errorf("client resuming after an id the origin lost got %q, want only the missed notice", s.String())
	}
}

func TestFetcherFailure(t *testing.T) {
	h, _, sc := catchupHub(t, func(after, until string) (io.ReadCloser, error) {
		return nil, errors.New("origin answered 502 Bad Gateway")
	})
	_, s := addSafe(t, h, "a", "e1")
	waitFor(t, func() bool { return h.Stats().CatchingUp == 0 })
	if st := h.Stats(); st.Subscribers != 0 || !s.Closed() || ids(s.String()) != "" {
		t.Errorf("a failed fetch should disconnect its client without events: closed %v, got %q, %+v", s.Closed(), s.String(), st)
	}
	if !strings.Contains(strings.Join(sc.logs, "\n"), `after "e1" until "e4" failed: fetch history: origin answered 502`) {
		t.Errorf("failure not logged: %q", sc.logs)
	}
	// A broken answer (the origin ends before until) fails the same way.
	h, _, _ = catchupHub(t, func(after, until string) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(string(frames(frame.AppendHello(nil, "e4"), eventFrame("e3", "a"))))), nil
	})
	_, s = addSafe(t, h, "a", "e1")
	waitFor(t, func() bool { return h.Stats().CatchingUp == 0 })
	if !s.Closed() || ids(s.String()) != "" {
		t.Errorf("a short answer should disconnect its client without events: got %q", s.String())
	}
}

func TestFetcherTimeoutIgnoresLateAnswer(t *testing.T) {
	release := make(chan struct{})
	calls := make(chan string, 2)
	h, ft, sc := catchupHub(t, func(after, until string) (io.ReadCloser, error) {
		calls <- after
		if after == "e1" {
			<-release // the origin does not answer in time
		}
		return history(after, until)
	})
	ft.Timeout = 30 * time.Millisecond
	_, late := addSafe(t, h, "a", "e1")
	waitFor(t, func() bool { return h.Stats().CatchingUp == 0 })
	if !late.Closed() || h.Stats().CatchupInFlight != 0 {
		t.Fatalf("an unanswered fetch should disconnect its client and end: closed %v, %+v", late.Closed(), h.Stats())
	}
	if !strings.Contains(strings.Join(sc.logs, "\n"), "no answer within 30ms") {
		t.Errorf("timeout not logged: %q", sc.logs)
	}
	// The next client is served while the first fetch still hangs.
	h.Deliver([]*edge.Event{event("e5", "a", false)})
	_, next := addSafe(t, h, "a", "e2")
	<-calls
	if after := <-calls; after != "e2" {
		t.Fatalf("second fetch after %q, want e2", after)
	}
	waitFor(t, func() bool { return h.Stats().CatchingUp == 0 })
	// The late answer changes nothing.
	writes := late.Writes()
	close(release)
	time.Sleep(20 * time.Millisecond)
	if late.Writes() != writes || h.Stats().Subscribers != 1 {
		t.Errorf("the late answer reached the hub: %+v", h.Stats())
	}
	if got := ids(next.String()); got != "e3,e4,e5" {
		t.Errorf("second client got %q, want e3,e4,e5", got)
	}
}

func TestFetcherSlots(t *testing.T) {
	var mu sync.Mutex
	in, most := 0, 0
	release := make(chan struct{})
	h := edge.NewHub(testCompiler, 1)
	ft := &edge.Fetcher{Hub: h, Timeout: time.Minute, Logf: t.Logf, Fetch: func(after, until string) (io.ReadCloser, error) {
		mu.Lock()
		in++
		most = max(most, in)
		mu.Unlock()
		<-release
		mu.Lock()
		in--
		mu.Unlock()
		return nil, errors.New("released")
	}}
	h.OnFetch = ft.Start
	h.MaxFetches = 10
	hello(h, "e0")
	h.Deliver([]*edge.Event{event("e1", "a", false)})
	// Six clients resuming from ids the ring lost, each while the ring
	// had another newest id: six fetches that none may share.
	for k := 2; k <= 7; k++ {
		h.Deliver([]*edge.Event{event(fmt.Sprint("e", k), "a", false)})
		addSafe(t, h, "a", fmt.Sprint("e", k-2))
	}
	if n := h.Stats().CatchupInFlight; n != 6 {
		t.Fatalf("%d fetches in flight, want 6", n)
	}
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	got := most
	mu.Unlock()
	if got != edge.FetchSlots {
		t.Errorf("%d requests to the origin at once, want %d", got, edge.FetchSlots)
	}
	close(release)
	waitFor(t, func() bool { return h.Stats().CatchupInFlight == 0 })
}
