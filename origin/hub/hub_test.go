package hub_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/origin/hub/hubtest"
)

func topicMatch(topic string) func(*hub.Event) bool {
	return func(e *hub.Event) bool {
		for _, t := range e.Topics {
			if t == topic {
				return true
			}
		}
		return false
	}
}

// next returns the next queued event or fails after a second.
func next(t *testing.T, s *hub.Subscriber) *hub.Event {
	t.Helper()
	select {
	case e := <-s.Events():
		return e
	case <-s.Done():
		t.Fatalf("subscriber dropped: %v", s.Err())
	case <-time.After(time.Second):
		t.Fatal("no event within 1s")
	}
	return nil
}

func ids(events []*hub.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

func publishN(t *testing.T, h *hub.Hub, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		topic := "odd"
		if i%2 == 0 {
			topic = "even"
		}
		if err := h.Publish(hubtest.NewEvent(fmt.Sprintf("e%d", i), "d", topic)); err != nil {
			t.Fatalf("Publish(e%d): %v", i, err)
		}
	}
}

func TestResumeReturnsExactSuffixThenLive(t *testing.T) {
	h := hub.New(hub.NewMemoryHistory(100))
	defer h.Close()
	publishN(t, h, 1, 10)
	hubtest.WaitFanned(t, h, "e10")
	s := hub.NewSubscriber(16, topicMatch("even"))
	replay, err := h.Subscribe(s, "e3")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(ids(replay)), "[e4 e6 e8 e10]"; got != want {
		t.Fatalf("replay %s, want %s", got, want)
	}
	if id := s.LastEventID(); id != "e10" {
		t.Fatalf("Subscriber.LastEventID() = %q, want e10", id)
	}
	publishN(t, h, 11, 12)
	if e := next(t, s); e.ID != "e12" {
		t.Fatalf("live event %s, want e12", e.ID)
	}
	// A subscriber may receive e12 before the hub-wide marker moves (the
	// fan-out updates it after every shard): wait for it, bounded.
	hubtest.WaitFanned(t, h, "e12")
}

// TestResumeRightAfterPublish resumes while the fan-out may still be
// behind the store: the replay and the live queue together hold exactly
// the events after the resume point.
func TestResumeRightAfterPublish(t *testing.T) {
	for range 50 {
		h := hub.New(hub.NewMemoryHistory(100))
		publishN(t, h, 1, 10)
		s := hub.NewSubscriber(16, nil)
		replay, err := h.Subscribe(s, "e3")
		if err != nil {
			t.Fatal(err)
		}
		got := hubtest.Collect(t, s, replay, 7)
		if fmt.Sprint(ids(got)) != "[e4 e5 e6 e7 e8 e9 e10]" || len(s.Events()) != 0 {
			t.Fatalf("replay %v then live %v, want e4..e10 once", ids(replay), ids(got[len(replay):]))
		}
		h.Close()
	}
}

func TestUnknownIDStillSubscribes(t *testing.T) {
	for _, tc := range []struct{ name, id string }{
		{"expired", "e1"},
		{"never published", "never"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := hub.New(hub.NewMemoryHistory(3))
			defer h.Close()
			publishN(t, h, 1, 5) // e1 and e2 have expired
			hubtest.WaitFanned(t, h, "e5")
			s := hub.NewSubscriber(4, nil)
			if replay, err := h.Subscribe(s, tc.id); !errors.Is(err, hub.ErrUnknownID) || replay != nil {
				t.Fatalf("Subscribe(%s) = %v, %v; want nil, ErrUnknownID", tc.id, replay, err)
			}
			publishN(t, h, 6, 6)
			if e := next(t, s); e.ID != "e6" {
				t.Fatalf("live event %s, want e6", e.ID)
			}
			h.Unsubscribe(s)
			h.Unsubscribe(s) // twice is fine
			if n := h.Stats().Subscribers; n != 0 {
				t.Fatalf("%d subscribers after Unsubscribe", n)
			}
		})
	}
}

func TestDuplicateIDRefused(t *testing.T) {
	h := hub.New(hub.NewMemoryHistory(10))
	defer h.Close()
	publishN(t, h, 1, 1)
	if err := h.Publish(hubtest.NewEvent("e1", "again", "t")); !errors.Is(err, hub.ErrDuplicateID) {
		t.Fatalf("Publish(e1) again = %v, want ErrDuplicateID", err)
	}
	if st := h.Stats(); st.Published != 1 || st.History != 1 {
		t.Fatalf("Stats() = %+v, want 1 published, 1 held", st)
	}
}

func TestSlowSubscriberDroppedOthersServed(t *testing.T) {
	h := hub.New(hub.NewMemoryHistory(10))
	defer h.Close()
	slow := hub.NewSubscriber(2, nil)
	fast := hub.NewSubscriber(8, nil)
	h.Subscribe(slow, "")
	h.Subscribe(fast, "")
	publishN(t, h, 1, 3)
	for i := 1; i <= 3; i++ {
		if e := next(t, fast); e.ID != fmt.Sprintf("e%d", i) {
			t.Fatalf("fast got %s", e.ID)
		}
	}
	<-slow.Done()
	hubtest.WaitFanned(t, h, "e3")
	if !errors.Is(slow.Err(), hub.ErrSlow) {
		t.Fatalf("slow.Err() = %v, want ErrSlow", slow.Err())
	}
	if got := len(slow.Events()); got != 2 {
		t.Fatalf("slow kept %d queued events, want the 2 that fit", got)
	}
	if st := h.Stats(); st.SlowDrops != 1 || st.Subscribers != 1 || st.Delivered != 5 {
		t.Fatalf("Stats() = %+v, want 1 slow drop, 1 subscriber, 5 delivered", st)
	}
}

func TestSubscribeTwiceRefused(t *testing.T) {
	h := hub.New(hub.NewMemoryHistory(10))
	defer h.Close()
	s := hub.NewSubscriber(1, nil)
	h.Subscribe(s, "")
	if _, err := h.Subscribe(s, ""); !errors.Is(err, hub.ErrSubscribed) {
		t.Fatalf("second Subscribe = %v, want ErrSubscribed", err)
	}
	if n := h.Stats().Subscribers; n != 1 {
		t.Fatalf("%d subscribers, want 1", n)
	}
}

// TestCloseLosesNothingAcknowledged races publishers with Close: every
// publish that returned nil is in the history and was queued to the
// subscriber before it was dropped with ErrClosed.
func TestCloseLosesNothingAcknowledged(t *testing.T) {
	history := hub.NewMemoryHistory(100000)
	h := hub.New(history)
	s := hub.NewSubscriber(100000, nil)
	h.Subscribe(s, "")
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				e := hubtest.NewEvent(fmt.Sprintf("p%d-%d", p, i), "d", "t")
				if err := h.Publish(e); err != nil {
					if !errors.Is(err, hub.ErrClosed) {
						t.Errorf("Publish: %v", err)
					}
					return
				}
				mu.Lock()
				acked = append(acked, e.ID)
				mu.Unlock()
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	h.Close()
	wg.Wait()
	if !errors.Is(s.Err(), hub.ErrClosed) {
		t.Fatalf("subscriber Err() = %v, want ErrClosed", s.Err())
	}
	got := make(map[string]bool)
	for n := len(s.Events()); n > 0; n-- {
		got[(<-s.Events()).ID] = true
	}
	if len(acked) == 0 {
		t.Fatal("nothing was published before Close")
	}
	for _, id := range acked {
		if _, err := history.Lookup(id); err != nil {
			t.Fatalf("acknowledged %s not stored: %v", id, err)
		}
		if !got[id] {
			t.Fatalf("acknowledged %s not delivered before ErrClosed", id)
		}
	}
	if len(got) != len(acked) {
		t.Fatalf("delivered %d events, %d acknowledged", len(got), len(acked))
	}
	if err := h.Publish(hubtest.NewEvent("late", "d", "t")); !errors.Is(err, hub.ErrClosed) {
		t.Fatalf("Publish after Close = %v, want ErrClosed", err)
	}
	if _, err := h.Subscribe(hub.NewSubscriber(1, nil), ""); !errors.Is(err, hub.ErrClosed) {
		t.Fatalf("Subscribe after Close = %v, want ErrClosed", err)
	}
	h.Close() // twice is fine
}

// manualTailer is a shared History whose tail delivers only what the test
// releases, to reach the states a real shared store reaches by timing.
type manualTailer struct {
	*hub.MemoryHistory
	release chan *hub.Event
	gap     chan uint64
}

func newManualTailer() *manualTailer {
	return &manualTailer{MemoryHistory: hub.NewMemoryHistory(100), release: make(chan *hub.Event), gap: make(chan uint64)}
}

func (m *manualTailer) Tail(ctx context.Context, after uint64, deliver func([]*hub.Event), lost func(uint64)) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e := <-m.release:
			deliver([]*hub.Event{e})
		case seq := <-m.gap:
			lost(seq)
		}
	}
}

// TestResumeFromStoredButNotYetDelivered resumes from an id the history
// holds but the hub has not fanned out yet: the replay is empty and the
// live queue skips that event, so the client does not get it twice.
func TestResumeFromStoredButNotYetDelivered(t *testing.T) {
	m := newManualTailer()
	h := hub.New(m)
	defer h.Close()
	e1 := hubtest.NewEvent("e1", "d", "t")
	e2 := hubtest.NewEvent("e2", "d", "t")
	e3 := hubtest.NewEvent("e3", "d", "t")
	for _, e := range []*hub.Event{e1, e2, e3} {
		if err := h.Publish(e); err != nil {
			t.Fatal(err)
		}
	}
	// Publish does not fan out by itself on a shared history.
	if st := h.Stats(); st.Delivered != 0 {
		t.Fatalf("Publish delivered %d events locally on a shared history", st.Delivered)
	}
	order := []*hub.Event{e1, e2, e3}
	slices.SortFunc(order, func(a, b *hub.Event) int { return cmp.Compare(a.Seq, b.Seq) })
	first, second := order[0], order[1]
	s := hub.NewSubscriber(4, nil)
	if replay, err := h.Subscribe(s, first.ID); err != nil || len(replay) != 0 {
		t.Fatalf("Subscribe(%s) = %v, %v; want no replay", first.ID, ids(replay), err)
	}
	if id := s.LastEventID(); id != first.ID {
		t.Fatalf("Subscriber.LastEventID() = %q, want the resume point %s", id, first.ID)
	}
	m.release <- first
	m.release <- second
	if e := next(t, s); e != second {
		t.Fatalf("first live event %s, want %s (%s is the resume point)", e.ID, second.ID, first.ID)
	}
	if len(s.Events()) != 0 {
		t.Fatalf("more events than %s", second.ID)
	}
	m.release <- order[2]
}

func TestLostEventsDropSubscribers(t *testing.T) {
	m := newManualTailer()
	h := hub.New(m)
	defer h.Close()
	s := hub.NewSubscriber(4, nil)
	h.Subscribe(s, "")
	m.gap <- 7
	<-s.Done()
	if !errors.Is(s.Err(), hub.ErrLost) {
		t.Fatalf("Err() = %v, want ErrLost", s.Err())
	}
	// Done closes just before the gauges move: wait for them, bounded.
	deadline := time.Now().Add(5 * time.Second)
	for st := h.Stats(); st.Lost != 1 || st.Subscribers != 0; st = h.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("Stats() = %+v, want 1 lost, 0 subscribers", st)
		}
		time.Sleep(time.Millisecond)
	}
}
