package presence_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	opresence "github.com/edge-sse/edge-sse/origin/presence"
	"github.com/edge-sse/edge-sse/shared/presence"
)

// flaky is a Store whose Apply fails while fail > 0, as an unreachable
// Redis does, and whose backing store can be swapped (lost state).
type flaky struct {
	mu   sync.Mutex
	fail int
	opresence.Store
}

func (f *flaky) Apply(ctx context.Context, r *opresence.Report, now time.Time, lease time.Duration) ([]opresence.Event, error) {
	f.mu.Lock()
	if f.fail > 0 {
		f.fail--
		f.mu.Unlock()
		return nil, errors.New("store unreachable")
	}
	s := f.Store
	f.mu.Unlock()
	return s.Apply(ctx, r, now, lease)
}

// recorder collects published events, as the hub's history does: an id
// it holds already is not published again. failing makes publish fail;
// failAfter > 0 lets that many publishes through first.
type recorder struct {
	mu        sync.Mutex
	got       []presence.Subscription // since take
	log       []presence.Subscription // all
	ids       map[string]bool
	failing   bool
	failAfter int
}

func (r *recorder) publish(e opresence.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failing {
		if r.failAfter == 0 {
			return errors.New("history unreachable")
		}
		r.failAfter--
	}
	if r.ids == nil {
		r.ids = map[string]bool{}
	}
	if r.ids[e.ID] {
		return nil
	}
	r.ids[e.ID] = true
	r.got = append(r.got, e.Doc)
	r.log = append(r.log, e.Doc)
	return nil
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := ev(r.got)
	r.got = nil
	return out
}

// TestTrackerOwnInstance: the origin's own subscribers are reported like
// an edge hub's: a failed report is re-sent, a resync sends the whole set.
func TestTrackerOwnInstance(t *testing.T) {
	ctx := context.Background()
	store := &flaky{Store: opresence.NewMemory(hubPath)}
	rec := &recorder{}
	now := t0
	tr := opresence.NewTracker(store, rec.publish, opresence.Options{Lease: lease, Now: func() time.Time { return now }})
	a, b := newConn("https://e/a"), newConn("https://e/b")
	topics := func(c conn) []presence.Topic { return c.add().Topics }

	tr.Connect(a.sub, topics(a))
	if err := tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rec.take(); !slices.Equal(got, evs(a, true, "https://e/a")) {
		t.Fatalf("connect a: %v", got)
	}
	store.fail = 1
	tr.Connect(b.sub, topics(b))
	if err := tr.Flush(ctx); err == nil {
		t.Fatal("flush with the store down succeeded")
	}
	if err := tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rec.take(); !slices.Equal(got, evs(b, true, "https://e/b")) {
		t.Fatalf("connect b after a failure: %v", got)
	}
	// The store loses its state (a memory index after a restart): the
	// next report is refused, and the full one announces both again.
	store.mu.Lock()
	store.Store = opresence.NewMemory(hubPath)
	store.mu.Unlock()
	tr.Disconnect(a.sub)
	if err := tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rec.take(); !slices.Equal(got, evs(b, true, "https://e/b")) {
		t.Fatalf("after a lost index: %v, want b announced again (a has left)", got)
	}
	// An empty flush renews the lease.
	now = now.Add(lease - time.Millisecond)
	if err := tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	now = now.Add(lease - time.Millisecond)
	if n, err := tr.Expire(ctx); n != 0 || err != nil {
		t.Fatalf("own instance expired although renewed: %d %v", n, err)
	}
	if tr.Stats.Resyncs.Load() != 1 {
		t.Fatalf("resyncs %d, want 1", tr.Stats.Resyncs.Load())
	}
}

// TestTrackerExpireRetries: when the ended subscriptions' events cannot
// be published, the claim is kept; once it lapses, a later check
// publishes them.
func TestTrackerExpireRetries(t *testing.T) {
	ctx := context.Background()
	store := opresence.NewMemory(hubPath)
	rec := &recorder{}
	now := t0
	tr := opresence.NewTracker(store, rec.publish, opresence.Options{Lease: lease, Now: func() time.Time { return now }})
	a := newConn("https://e/a")
	r := presence.Report{Hub: presence.NewInstanceID(), Seq: 1, Full: true, Ops: []presence.Op{a.add()}}
	if err := tr.Report(ctx, &r); err != nil {
		t.Fatal(err)
	}
	rec.take()
	now = now.Add(lease)
	rec.failing = true
	if n, _ := tr.Expire(ctx); n != 0 {
		t.Fatalf("expired %d with publishing down", n)
	}
	rec.failing = false
	if n, _ := tr.Expire(ctx); n != 0 {
		t.Fatal("a held claim was taken again before it lapsed")
	}
	now = now.Add(lease)
	if n, err := tr.Expire(ctx); n != 1 || err != nil {
		t.Fatalf("expire after the claim lapsed: %d %v", n, err)
	}
	if got := rec.take(); !slices.Equal(got, evs(a, false, "https://e/a")) {
		t.Fatalf("events %v", got)
	}
	if tr.Stats.PublishErrors.Load() != 1 {
		t.Fatalf("publish errors %d", tr.Stats.PublishErrors.Load())
	}
}

// TestTrackerPublishesWhatWasNotSent: the index holds a report's change
// when its events are not all published (an origin killed between the
// two, or the history unreachable); the instance's retry publishes the
// rest, each event once, a subscription's start before its end.
func TestTrackerPublishesWhatWasNotSent(t *testing.T) {
	ctx := context.Background()
	store := opresence.NewMemory(hubPath)
	hub := presence.NewInstanceID()
	a, b := newConn("https://e/a"), newConn("https://e/b")
	r1 := presence.Report{Hub: hub, Seq: 1, Full: true, Ops: []presence.Op{a.add()}}
	// An origin applied r1 and died before it published anything.
	if _, err := store.Apply(ctx, opresence.Prepare(&r1, hubPath), t0, lease); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	tr := opresence.NewTracker(store, rec.publish, opresence.Options{Lease: lease, Now: func() time.Time { return t0 }})
	if err := tr.Report(ctx, &r1); err != nil {
		t.Fatal(err)
	}
	if got := rec.take(); !slices.Equal(got, evs(a, true, "https://e/a")) {
		t.Fatalf("r1's retry published %v", got)
	}
	// The history fails after one event: a's start is published, its end
	// and b's start are not.
	r2 := presence.Report{Hub: hub, Seq: 2, Ops: []presence.Op{b.add(), a.remove()}}
	rec.failing, rec.failAfter = true, 1
	if err := tr.Report(ctx, &r2); !errors.Is(err, opresence.ErrUnpublished) {
		t.Fatalf("report with the history failing: %v, want ErrUnpublished", err)
	}
	partial := rec.take()
	if len(partial) != 1 {
		t.Fatalf("published %v before the failure, want one event", partial)
	}
	rec.failing = false
	if err := tr.Report(ctx, &r2); err != nil {
		t.Fatal(err)
	}
	all := append(partial, rec.take()...)
	if slices.Sort(all); !slices.Equal(all, want(evs(b, true, "https://e/b"), evs(a, false, "https://e/a"))) {
		t.Fatalf("r2 and its retry published %v", all)
	}
	if err := tr.Report(ctx, &r2); err != nil {
		t.Fatal(err)
	}
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("a retry after everything was published published %v", got)
	}
	// A claim publishes what a report left unsent.
	c := newConn("https://e/c")
	r3 := presence.Report{Hub: hub, Seq: 3, Ops: []presence.Op{c.add()}}
	rec.failing = true
	if err := tr.Report(ctx, &r3); !errors.Is(err, opresence.ErrUnpublished) {
		t.Fatalf("r3: %v", err)
	}
	rec.failing = false
	var n int
	for at := t0.Add(lease); n == 0; at = at.Add(lease) {
		tr2 := opresence.NewTracker(store, rec.publish, opresence.Options{Lease: lease, Now: func() time.Time { return at }})
		var err error
		if n, err = tr2.Expire(ctx); err != nil {
			t.Fatal(err)
		}
		if at.After(t0.Add(5 * lease)) {
			t.Fatal("the instance was never claimed")
		}
	}
	if got := rec.take(); !slices.Equal(got, want(evs(c, true, "https://e/c"), evs(b, false, "https://e/b"), evs(c, false, "https://e/c"))) {
		t.Fatalf("the claim published %v", got)
	}
	checkAlternates(t, rec.log)
}

// checkAlternates fails unless each subscription's events alternate,
// starting with a start.
func checkAlternates(t *testing.T, docs []presence.Subscription) {
	t.Helper()
	active := map[string]bool{}
	for _, d := range docs {
		if was, seen := active[d.ID]; was == d.Active || (!seen && !d.Active) {
			t.Fatalf("%s active=%v repeats a state or ends a subscription never started: %v", d.ID, d.Active, ev(docs))
		}
		active[d.ID] = d.Active
	}
}
