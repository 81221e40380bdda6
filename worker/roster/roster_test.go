package roster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/shared/presence"
	"github.com/edge-sse/edge-sse/worker/roster"
)

// origin is a fake origin implementing the report channel as the protocol
// fixes it, with subscription events as a log it checks: per
// subscription, active:true and active:false alternate, starting with
// true.
type origin struct {
	t     *testing.T
	mu    sync.Mutex
	lease time.Duration
	// instances by hub id: the last applied seq, the subscriptions held
	// (by subscriber) and the lease's end.
	inst map[string]*instance
	// events is every subscription event, in order.
	events []event
	// requests counts the POSTs; seqs records each one's seq.
	requests int
	seqs     []uint64
	// down makes every POST fail without an answer; lost applies the
	// report and then loses the answer.
	down, lost bool
	// status, when set, answers every POST with it.
	status int
}

type instance struct {
	seq   uint64
	subs  map[string]bool
	until time.Time
}

type event struct {
	subscriber string
	active     bool
}

func newOrigin(t *testing.T, lease time.Duration) *origin {
	return &origin{t: t, lease: lease, inst: map[string]*instance{}}
}

func (o *origin) post(_ context.Context, body []byte) (int, []byte, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.requests++
	if o.down {
		return 0, nil, errors.New("connection refused")
	}
	if o.status != 0 {
		return o.status, []byte(`{"error":"no"}`), nil
	}
	rep, err := presence.Decode(bytes.NewReader(body), presence.Limits{})
	if err != nil {
		o.t.Errorf("origin: the edge sent a report the origin refuses: %v", err)
		return http.StatusBadRequest, nil, nil
	}
	o.seqs = append(o.seqs, rep.Seq)
	o.expireLocked()
	in := o.inst[rep.Hub]
	switch {
	case rep.Full:
		if in == nil {
			in = &instance{subs: map[string]bool{}}
			o.inst[rep.Hub] = in
		}
		now := map[string]bool{}
		for _, op := range rep.Ops {
			now[op.Subscriber] = true
		}
		for s := range in.subs {
			if !now[s] {
				o.events = append(o.events, event{s, false})
				delete(in.subs, s)
			}
		}
		for _, op := range rep.Ops {
			if !in.subs[op.Subscriber] {
				in.subs[op.Subscriber] = true
				o.events = append(o.events, event{op.Subscriber, true})
			}
		}
	case in == nil:
		return http.StatusConflict, []byte(`{"error":"unknown instance","resync":true}`), nil
	case rep.Seq == in.seq:
		// a retry: applied once already
	case rep.Seq != in.seq+1:
		return http.StatusConflict, []byte(`{"error":"seq","resync":true}`), nil
	default:
		for _, op := range rep.Ops {
			switch op.Op {
			case presence.OpAdd:
				if in.subs[op.Subscriber] {
					o.t.Errorf("origin: add of %s, already held", op.Subscriber)
				}
				in.subs[op.Subscriber] = true
				o.events = append(o.events, event{op.Subscriber, true})
			case presence.OpRemove:
				if in.subs[op.Subscriber] {
					delete(in.subs, op.Subscriber)
					o.events = append(o.events, event{op.Subscriber, false})
				}
			}
		}
	}
	in.seq = rep.Seq
	in.until = time.Now().Add(o.lease)
	if o.lost {
		return 0, nil, errors.New("answer lost")
	}
	b, _ := json.Marshal(presence.Response{LeaseMS: o.lease.Milliseconds()})
	return http.StatusOK, b, nil
}

// expireLocked ends the instances whose lease lapsed.
func (o *origin) expireLocked() {
	for hub, in := range o.inst {
		if time.Now().After(in.until) {
			for s := range in.subs {
				o.events = append(o.events, event{s, false})
			}
			delete(o.inst, hub)
		}
	}
}

// forget drops every instance without events, as an origin that lost its
// state.
func (o *origin) forget() {
	o.mu.Lock()
	o.inst = map[string]*instance{}
	o.mu.Unlock()
}

func (o *origin) set(f func(o *origin)) {
	o.mu.Lock()
	f(o)
	o.mu.Unlock()
}

// held returns the subscribers the origin holds for hub, sorted.
func (o *origin) held(hub string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.expireLocked()
	var s []string
	if in := o.inst[hub]; in != nil {
		for k := range in.subs {
			s = append(s, k)
		}
	}
	slices.Sort(s)
	return s
}

// check verifies that events alternate per subscriber, starting active.
func (o *origin) check() {
	o.mu.Lock()
	defer o.mu.Unlock()
	active := map[string]bool{}
	for i, e := range o.events {
		if active[e.subscriber] == e.active {
			o.t.Errorf("event %d: %s active:%v twice without the other between", i, e.subscriber, e.active)
		}
		active[e.subscriber] = e.active
	}
}

func (o *origin) count(f func(o *origin) int) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return f(o)
}

func start(t *testing.T, o *origin, cfg roster.Config) *roster.Roster {
	cfg.Post = o.post
	if cfg.Batch == 0 {
		cfg.Batch = 20 * time.Millisecond
	}
	cfg.Logf = t.Logf
	r := roster.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

func topics(name string) []presence.Topic {
	return []presence.Topic{{MatchType: "exact", Match: name}}
}

// live tracks what the edge holds, to compare with the origin.
func ids(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = presence.NewSubscriberID()
	}
	return s
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func sameSet(o *origin, hub string, want []string) func() bool {
	w := slices.Clone(want)
	slices.Sort(w)
	return func() bool { return slices.Equal(o.held(hub), w) }
}

// TestBatches: a burst of connects and disconnects is a few reports, not
// one per op, and every connection gets exactly one active:true and, once
// gone, one active:false.
func TestBatches(t *testing.T) {
	o := newOrigin(t, time.Minute)
	r := start(t, o, roster.Config{Batch: 100 * time.Millisecond})
	first := presence.NewSubscriberID()
	r.Add(first, topics("a")) // the instance's first report: full
	eventually(t, "the first report", sameSet(o, r.Hub(), []string{first}))
	subs := ids(500)
	for _, s := range subs {
		r.Add(s, topics("a"))
	}
	for _, s := range subs[:200] {
		r.Remove(s)
	}
	r.Remove(subs[0]) // twice: a no-op
	eventually(t, "the origin's set", sameSet(o, r.Hub(), append([]string{first}, subs[200:]...)))
	if n := o.count(func(o *origin) int { return o.requests }); n > 3 {
		t.Errorf("%d requests for a burst of 700 ops, want at most 3", n)
	}
	if n := o.count(func(o *origin) int { return len(o.events) }); n != 701 {
		t.Errorf("%d events, want 701 (the first, 500 connects, 200 disconnects)", n)
	}
	o.check()
}

// TestRetrySameSeq: a report whose answer was lost is re-sent unchanged,
// with the same seq, and the origin applies it once; new ops wait for the
// next seq.
func TestRetrySameSeq(t *testing.T) {
	o := newOrigin(t, time.Minute)
	r := start(t, o, roster.Config{})
	a := ids(3)
	r.Add(a[0], topics("a"))
	eventually(t, "first report", sameSet(o, r.Hub(), a[:1]))
	o.set(func(o *origin) { o.lost = true })
	r.Add(a[1], topics("a"))
	eventually(t, "a lost answer", func() bool { return o.count(func(o *origin) int { return o.requests }) >= 3 })
	r.Add(a[2], topics("b"))
	o.set(func(o *origin) { o.lost = false })
	eventually(t, "the retried set", sameSet(o, r.Hub(), a))
	o.mu.Lock()
	seqs := slices.Clone(o.seqs)
	o.mu.Unlock()
	// 1 (full), then 2 re-sent at least twice, then 3.
	if seqs[0] != 1 || seqs[1] != 2 || seqs[2] != 2 || seqs[len(seqs)-1] != 3 {
		t.Errorf("seqs %v, want 1, 2 (re-sent), …, 3", seqs)
	}
	if st := r.Stats(); st.Retries == 0 || st.Full != 1 {
		t.Errorf("stats %+v: want retries and only the first report full", st)
	}
	o.check()
}

// TestResyncAfterConflict: an origin that lost the instance answers 409;
// the next report is full and restores the set.
func TestResyncAfterConflict(t *testing.T) {
	o := newOrigin(t, time.Minute)
	r := start(t, o, roster.Config{})
	a := ids(4)
	r.Add(a[0], topics("a"))
	r.Add(a[1], topics("a"))
	eventually(t, "first report", sameSet(o, r.Hub(), a[:2]))
	o.forget()
	r.Remove(a[0])
	r.Add(a[2], topics("a"))
	eventually(t, "the resynced set", sameSet(o, r.Hub(), a[1:3]))
	if st := r.Stats(); st.Resyncs != 1 || st.Full != 2 {
		t.Errorf("stats %+v: want one 409 and one full report besides the first", st)
	}
}

// TestLeaseRenewed: an idle roster that holds connections renews its
// lease every third of it, so the origin never ends them; one that held
// none lets it lapse and starts again with a full report.
func TestLeaseRenewed(t *testing.T) {
	o := newOrigin(t, 300*time.Millisecond)
	r := start(t, o, roster.Config{})
	a := ids(1)
	r.Add(a[0], topics("a"))
	for range 10 {
		time.Sleep(100 * time.Millisecond)
		if got := o.held(r.Hub()); len(got) != 1 {
			t.Fatalf("the origin let the lease lapse: %v", got)
		}
	}
	n := o.count(func(o *origin) int { return o.requests })
	if n < 6 || n > 14 {
		t.Errorf("%d reports in 1 s with a 300 ms lease, want about 10 (every 100 ms)", n)
	}
	r.Remove(a[0])
	eventually(t, "the removal", sameSet(o, r.Hub(), nil))
	time.Sleep(500 * time.Millisecond) // idle and empty: the lease lapses
	quiet := o.count(func(o *origin) int { return o.requests })
	b := ids(1)
	r.Add(b[0], topics("a"))
	eventually(t, "the set after the lapse", sameSet(o, r.Hub(), b))
	if st := r.Stats(); st.Resyncs != 0 || st.Full != 2 {
		t.Errorf("stats %+v: after a lapsed lease the next report should be full, without a 409 first", st)
	}
	if got := o.count(func(o *origin) int { return o.requests }) - quiet; got != 1 {
		t.Errorf("%d requests to come back after the lapse, want 1", got)
	}
	o.check()
}

// TestPendingBoundSendsFull: ops that pile up while the origin is away
// turn, past MaxPending, into one full report, and the origin ends up
// with the set the edge holds.
func TestPendingBoundSendsFull(t *testing.T) {
	o := newOrigin(t, time.Minute)
	r := start(t, o, roster.Config{MaxPending: 10})
	a := ids(30)
	r.Add(a[0], topics("a"))
	eventually(t, "first report", sameSet(o, r.Hub(), a[:1]))
	o.set(func(o *origin) { o.down = true })
	for _, s := range a[1:] {
		r.Add(s, topics("a"))
	}
	r.Remove(a[0])
	if st := r.Stats(); st.Pending != 29 {
		t.Errorf("pending %d, want the whole set (29) once past the bound", st.Pending)
	}
	o.set(func(o *origin) { o.down = false })
	eventually(t, "the set after the outage", sameSet(o, r.Hub(), a[1:]))
	if st := r.Stats(); st.Full == 0 {
		t.Errorf("stats %+v: want a full report", st)
	}
	o.check()
}

// TestRefusedWaitsALease: a refusal (here 404, presence off at the
// origin) is not retried in a loop.
func TestRefusedWaitsALease(t *testing.T) {
	o := newOrigin(t, time.Minute)
	o.status = http.StatusNotFound
	r := start(t, o, roster.Config{Lease: 500 * time.Millisecond})
	r.Add(presence.NewSubscriberID(), topics("a"))
	time.Sleep(300 * time.Millisecond)
	if n := o.count(func(o *origin) int { return o.requests }); n != 1 {
		t.Fatalf("%d requests within 300 ms of a 404, want 1", n)
	}
	if st := r.Stats(); st.Refused != 1 {
		t.Fatalf("stats %+v", st)
	}
}

var _ = fmt.Sprint
