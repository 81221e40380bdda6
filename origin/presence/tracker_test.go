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

func (f *flaky) Apply(ctx context.Context, r *opresence.Report, now time.Time, lease time.Duration) ([]presence.Subscription, error) {
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

// recorder collects published events; failing makes publish fail.
type recorder struct {
	mu      sync.Mutex
	got     []presence.Subscription
	failing bool
}

func (r *recorder) publish(d presence.Subscription) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failing {
		return errors.New("history unreachable")
	}
	r.got = append(r.got, d)
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
