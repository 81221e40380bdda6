package history_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/origin/history"
	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/origin/hub/hubtest"
	"github.com/edge-sse/edge-sse/origin/internal/redistest"
)

// newRedis returns a store on its own client, as one origin process has.
func newRedis(t testing.TB, prefix string, opts history.RedisOptions) *history.Redis {
	t.Helper()
	opts.Prefix = prefix
	if opts.Block == 0 {
		opts.Block = 100 * time.Millisecond
	}
	r, err := history.NewRedis(context.Background(), redistest.Dial(t), opts)
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestRedisContract(t *testing.T) {
	hubtest.TestHistory(t, func(t *testing.T) hub.History {
		return newRedis(t, redistest.Prefix(t), history.RedisOptions{})
	})
}

func receiveIDs(t *testing.T, s *hub.Subscriber, n int) []string {
	t.Helper()
	var got []string
	for len(got) < n {
		select {
		case e := <-s.Events():
			got = append(got, e.ID)
		case <-s.Done():
			t.Fatalf("subscriber dropped after %v: %v", got, s.Err())
		case <-time.After(5 * time.Second):
			t.Fatalf("received %v, want %d events", got, n)
		}
	}
	return got
}

// TestRedisTwoProcesses runs two hubs on one Redis stream, each with its
// own client, as two origin processes behind a load balancer.
func TestRedisTwoProcesses(t *testing.T) {
	prefix := redistest.Prefix(t)
	a := hub.New(newRedis(t, prefix, history.RedisOptions{}))
	defer a.Close()
	b := hub.New(newRedis(t, prefix, history.RedisOptions{}))
	defer b.Close()

	onA, onB := hub.NewSubscriber(16, nil), hub.NewSubscriber(16, nil)
	a.Subscribe(onA, "")
	b.Subscribe(onB, "")
	for i := 1; i <= 3; i++ {
		if err := a.Publish(event(i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := receiveIDs(t, onB, 3); fmt.Sprint(got) != "[e1 e2 e3]" {
		t.Fatalf("subscriber on B received %v, want [e1 e2 e3]", got)
	}
	if got := receiveIDs(t, onA, 3); fmt.Sprint(got) != "[e1 e2 e3]" {
		t.Fatalf("subscriber on A received %v, want [e1 e2 e3]", got)
	}
	time.Sleep(50 * time.Millisecond)
	if n := len(onA.Events()) + len(onB.Events()); n != 0 {
		t.Fatalf("%d events delivered twice", n)
	}

	// The subscriber on B disconnects; A publishes; it resumes on B.
	b.Unsubscribe(onB)
	for i := 4; i <= 7; i++ {
		if err := a.Publish(event(i)); err != nil {
			t.Fatal(err)
		}
	}
	again := hub.NewSubscriber(16, nil)
	replay, err := b.Subscribe(again, "e3")
	if err != nil {
		t.Fatalf("resume on B from e3: %v", err)
	}
	got := append(ids(replay), receiveIDs(t, again, 4-len(replay))...)
	if fmt.Sprint(got) != "[e4 e5 e6 e7]" {
		t.Fatalf("resume on B from e3 got %v, want [e4 e5 e6 e7]", got)
	}
	if err := b.Publish(event(2)); !errors.Is(err, hub.ErrDuplicateID) {
		t.Fatalf("publishing A's e2 again on B = %v, want ErrDuplicateID", err)
	}
	for deadline := time.Now().Add(5 * time.Second); b.LastEventID() != "e7"; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("LastEventID() on B = %q, want e7", b.LastEventID())
		}
	}
}

func TestRedisStressTwoProcesses(t *testing.T) {
	prefix := redistest.Prefix(t)
	a := hub.New(newRedis(t, prefix, history.RedisOptions{MaxLen: 100000}))
	defer a.Close()
	b := hub.New(newRedis(t, prefix, history.RedisOptions{MaxLen: 100000}))
	defer b.Close()
	hubtest.Stress(t, []*hub.Hub{a, b}, hubtest.StressOptions{Events: 150})
}

// TestRedisTrimmed resumes from an id whose entry MAXLEN trimmed: the id
// key still exists, but the range finds its entry gone.
func TestRedisTrimmed(t *testing.T) {
	store := newRedis(t, redistest.Prefix(t), history.RedisOptions{MaxLen: 5, ExactTrim: true})
	h := hub.New(store)
	defer h.Close()
	for i := 1; i <= 20; i++ {
		if err := h.Publish(event(i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := store.Len(); n != 5 {
		t.Fatalf("Len() = %d, want 5", n)
	}
	hubtest.WaitFanned(t, h, "e20")
	if _, err := h.Subscribe(hub.NewSubscriber(4, nil), "e2"); !errors.Is(err, hub.ErrUnknownID) {
		t.Fatalf("resume from trimmed e2 = %v, want ErrUnknownID", err)
	}
	replay, err := h.Subscribe(hub.NewSubscriber(4, nil), "e17")
	if err != nil || fmt.Sprint(ids(replay)) != "[e18 e19 e20]" {
		t.Fatalf("resume from e17 = %v, %v; want [e18 e19 e20]", ids(replay), err)
	}
	replay, err = h.Subscribe(hub.NewSubscriber(4, nil), hub.Earliest)
	if err != nil || fmt.Sprint(ids(replay)) != "[e16 e17 e18 e19 e20]" {
		t.Fatalf("resume from earliest = %v, %v; want the 5 held events e16..e20", ids(replay), err)
	}
}

// TestRedisTailReportsLost tails from an entry that was trimmed together
// with its successors: Tail must call lost before delivering what follows.
func TestRedisTailReportsLost(t *testing.T) {
	store := newRedis(t, redistest.Prefix(t), history.RedisOptions{MaxLen: 5, ExactTrim: true})
	var seqs []uint64
	for i := 1; i <= 12; i++ {
		e := event(i)
		if err := store.Append(e); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, e.Seq)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var log []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		store.Tail(ctx, seqs[0], func(batch []*hub.Event) {
			mu.Lock()
			for _, e := range batch {
				log = append(log, e.ID)
				if e.ID == "e12" {
					cancel()
				}
			}
			mu.Unlock()
		}, func(resume uint64) {
			mu.Lock()
			log = append(log, fmt.Sprintf("lost(%v)", resume >= seqs[6] && resume < seqs[7]))
			mu.Unlock()
		})
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cancel()
		t.Fatal("Tail did not deliver e12 within 5s")
	}
	if got := fmt.Sprint(log); got != "[lost(true) e8 e9 e10 e11 e12]" {
		t.Fatalf("Tail reported %s, want lost between e7 and e8, then e8..e12", got)
	}
}

// TestRedisTailFromEmptyStream starts a tail on an empty stream, as a new
// origin process does, and lets another process publish past MAXLEN before
// the tail reads: the first entry's counter shows what was trimmed.
func TestRedisTailFromEmptyStream(t *testing.T) {
	prefix := redistest.Prefix(t)
	late := newRedis(t, prefix, history.RedisOptions{})
	if seq, id := late.Last(); seq != 0 || id != "" {
		t.Fatalf("Last() of an empty stream = %d %q", seq, id)
	}
	other := newRedis(t, prefix, history.RedisOptions{MaxLen: 5, ExactTrim: true})
	for i := 1; i <= 12; i++ {
		if err := other.Append(event(i)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var log []string
	late.Tail(ctx, 0, func(batch []*hub.Event) {
		for _, e := range batch {
			log = append(log, e.ID)
			if e.ID == "e12" {
				cancel()
			}
		}
	}, func(uint64) { log = append(log, "lost") })
	if got := fmt.Sprint(log); got != "[lost e8 e9 e10 e11 e12]" {
		t.Fatalf("Tail reported %s, want lost, then e8..e12", got)
	}
	// A process that starts after every entry expired still knows the
	// newest Seq and its counter, so its tail reports no loss.
	redistest.Dial(t).XTrimMaxLen(context.Background(), prefix+"stream", 0)
	restarted := newRedis(t, prefix, history.RedisOptions{})
	want, _ := other.Last()
	seq, id := restarted.Last()
	if seq != want || id != "" {
		t.Fatalf("Last() after expiry = %d %q, want %d and no id", seq, id, want)
	}
	if err := other.Append(event(13)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	log = nil
	restarted.Tail(ctx, seq, func(batch []*hub.Event) {
		for _, e := range batch {
			log = append(log, e.ID)
		}
		cancel()
	}, func(uint64) { log = append(log, "lost") })
	if got := fmt.Sprint(log); got != "[e13]" {
		t.Fatalf("Tail after expiry reported %s, want [e13]", got)
	}
}

// TestRedisTailCountsEntries removes an entry in the middle of the stream
// behind the tail's back: the entry counters jump, and Tail reports it.
func TestRedisTailCountsEntries(t *testing.T) {
	prefix := redistest.Prefix(t)
	store := newRedis(t, prefix, history.RedisOptions{})
	var seqs []uint64
	for i := 1; i <= 5; i++ {
		e := event(i)
		if err := store.Append(e); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, e.Seq)
	}
	client := redistest.Dial(t)
	msgs, err := client.XRange(context.Background(), prefix+"stream", "-", "+").Result()
	if err != nil || len(msgs) != 5 {
		t.Fatalf("XRANGE: %d entries, %v", len(msgs), err)
	}
	client.XDel(context.Background(), prefix+"stream", msgs[2].ID) // e3
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var log []string
	store.Tail(ctx, seqs[0], func(batch []*hub.Event) {
		for _, e := range batch {
			log = append(log, e.ID)
			if e.ID == "e5" {
				cancel()
			}
		}
	}, func(resume uint64) {
		log = append(log, fmt.Sprintf("lost(%v)", resume >= seqs[2] && resume < seqs[3]))
	})
	if got := fmt.Sprint(log); got != "[e2 lost(true) e4 e5]" {
		t.Fatalf("Tail reported %s, want e2, lost covering e3, e4, e5", got)
	}
}

func TestRedisUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := history.DialRedis(ctx, "redis://127.0.0.1:1/0", history.RedisOptions{Timeout: time.Second}); err == nil {
		t.Fatal("DialRedis to a closed port succeeded")
	}
}

// TestRedisRangeOldestPages reads the stream from its oldest entry in
// pages of two: every held event once, in order, after trimming too.
func TestRedisRangeOldestPages(t *testing.T) {
	store := newRedis(t, redistest.Prefix(t), history.RedisOptions{MaxLen: 7, ExactTrim: true, ReadCount: 2})
	var want []string
	for i := 1; i <= 10; i++ {
		e := event(i)
		if err := store.Append(e); err != nil {
			t.Fatal(err)
		}
		want = append(want, e.ID)
	}
	last, _ := store.Last()
	var got []string
	if err := store.RangeOldest(last, func(e *hub.Event) bool { got = append(got, e.ID); return true }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want[3:]) {
		t.Fatalf("RangeOldest = %v, want %v", got, want[3:])
	}
}
