package hubtest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/origin/hub"
)

// StressOptions sizes Stress. Zero values take the defaults on each field.
type StressOptions struct {
	// Publishers publish concurrently (default 8).
	Publishers int
	// Events is the number each publisher publishes (default 250).
	Events int
	// Subscribers join while publishing goes on (default 40).
	Subscribers int
	// Wait bounds the wait for the last event (default 20s).
	Wait time.Duration
}

var stressTopics = []string{"a", "b", "c"}

// joiner is a subscriber that joined mid-stream.
type joiner struct {
	lastID string
	topics map[string]bool // nil: all
	sub    *hub.Subscriber
	replay []*hub.Event
	err    error
}

func (j *joiner) match(e *hub.Event) bool {
	if j.topics == nil {
		return true
	}
	for _, t := range e.Topics {
		if j.topics[t] {
			return true
		}
	}
	return false
}

// Stress publishes from many goroutines through hubs (several hubs share
// one store, like origin processes on one Redis) while subscribers join
// any of them with random last event ids and topic filters. Every
// subscriber must then hold exactly the expected events: those after its
// last event id (or, without a known one, after its Subscriber.LastEventID)
// that it matches, in order, the replay exactly those up to its
// Subscriber.LastEventID, with no gap and no duplicate. A witness
// subscribed before the first publish on hubs[0] gives the order.
func Stress(t *testing.T, hubs []*hub.Hub, o StressOptions) {
	if o.Publishers == 0 {
		o.Publishers = 8
	}
	if o.Events == 0 {
		o.Events = 250
	}
	if o.Subscribers == 0 {
		o.Subscribers = 40
	}
	if o.Wait == 0 {
		o.Wait = 20 * time.Second
	}
	prefix := fmt.Sprintf("s%d-", rand.Uint32())
	total := o.Publishers*o.Events + 1
	witness := hub.NewSubscriber(total+16, nil)
	if _, err := hubs[0].Subscribe(witness, ""); err != nil {
		t.Fatalf("subscribe the witness: %v", err)
	}

	var (
		mu    sync.Mutex
		acked []string
	)
	var pubs sync.WaitGroup
	for p := range o.Publishers {
		pubs.Go(func() {
			for i := range o.Events {
				topics := []string{stressTopics[rand.IntN(3)]}
				if rand.IntN(3) == 0 {
					topics = append(topics, stressTopics[rand.IntN(3)])
				}
				e := NewEvent(fmt.Sprintf("%sp%d-%d", prefix, p, i), "x", topics...)
				if err := hubs[rand.IntN(len(hubs))].Publish(e); err != nil {
					t.Errorf("Publish(%s): %v", e.ID, err)
					return
				}
				mu.Lock()
				acked = append(acked, e.ID)
				mu.Unlock()
			}
		})
	}
	joiners := make([]*joiner, o.Subscribers)
	var joins sync.WaitGroup
	joins.Go(func() {
		for k := range joiners {
			time.Sleep(time.Duration(rand.IntN(1500)) * time.Microsecond)
			j := &joiner{}
			mu.Lock()
			switch r := rand.IntN(10); {
			case r < 6 && len(acked) > 0:
				j.lastID = acked[rand.IntN(len(acked))]
			case r < 8 && len(acked) > 0:
				j.lastID = acked[len(acked)-1] // likely stored but not yet fanned out
			case r < 9:
				j.lastID = fmt.Sprintf("%snever-%d", prefix, k)
			}
			mu.Unlock()
			if rand.IntN(4) != 0 {
				j.topics = map[string]bool{stressTopics[rand.IntN(3)]: true}
			}
			j.sub = hub.NewSubscriber(total+16, j.match)
			j.replay, j.err = hubs[rand.IntN(len(hubs))].Subscribe(j.sub, j.lastID)
			if j.err != nil && !errors.Is(j.err, hub.ErrUnknownID) {
				t.Errorf("Subscribe(%q): %v", j.lastID, j.err)
			}
			joiners[k] = j
		}
	})
	pubs.Wait()
	joins.Wait()
	if t.Failed() {
		return
	}
	end := NewEvent(prefix+"end", "end", stressTopics...)
	if err := hubs[0].Publish(end); err != nil {
		t.Fatalf("publish the end marker: %v", err)
	}

	order := receive(t, witness, nil, end.ID, o.Wait)
	if len(order) != total {
		t.Fatalf("witness received %d events, want %d", len(order), total)
	}
	pos := make(map[string]int, total)
	for i, e := range order {
		if i > 0 && e.Seq <= order[i-1].Seq {
			t.Fatalf("witness: Seq %d after %d", e.Seq, order[i-1].Seq)
		}
		if _, dup := pos[e.ID]; dup {
			t.Fatalf("witness received %s twice", e.ID)
		}
		pos[e.ID] = i
	}
	for _, id := range acked {
		if _, ok := pos[id]; !ok {
			t.Fatalf("acknowledged event %s never delivered", id)
		}
	}
	for k, j := range joiners {
		got := receive(t, j.sub, j.replay, end.ID, o.Wait)
		// The live queue starts after the event Subscriber.LastEventID
		// names; the replay covers the resume point up to it.
		since := -1
		if id := j.sub.LastEventID(); id != "" {
			var ok bool
			if since, ok = pos[id]; !ok {
				t.Fatalf("subscriber %d: LastEventID() = %q, not a published event", k, id)
			}
		}
		from := since + 1 // index in order of the first expected event
		if j.err == nil && j.lastID != "" {
			from = pos[j.lastID] + 1
			if since < from-1 {
				t.Fatalf("subscriber %d: LastEventID() %q before the resume point %q", k, j.sub.LastEventID(), j.lastID)
			}
		}
		var want, wantReplay []string
		for i, e := range order[from:] {
			if j.match(e) {
				want = append(want, e.ID)
				if from+i <= since {
					wantReplay = append(wantReplay, e.ID)
				}
			}
		}
		if err := sameIDs(got, want); err != nil {
			t.Errorf("subscriber %d (last id %q, err %v, topics %v, replay %d): %v",
				k, j.lastID, j.err, j.topics, len(j.replay), err)
		}
		if err := sameIDs(j.replay, wantReplay); err != nil {
			t.Errorf("subscriber %d replay (last id %q, live after %q): %v", k, j.lastID, j.sub.LastEventID(), err)
		}
	}
}

// receive returns replay followed by what s receives until the event with
// id last, failing the test when s is dropped or time runs out.
func receive(t *testing.T, s *hub.Subscriber, replay []*hub.Event, last string, wait time.Duration) []*hub.Event {
	t.Helper()
	got := append([]*hub.Event(nil), replay...)
	if len(got) > 0 && got[len(got)-1].ID == last {
		return got
	}
	timeout := time.After(wait)
	for {
		select {
		case e := <-s.Events():
			got = append(got, e)
			if e.ID == last {
				return got
			}
		case <-s.Done():
			t.Fatalf("subscriber dropped after %d events: %v", len(got), s.Err())
		case <-timeout:
			t.Fatalf("no %s after %v; received %d events", last, wait, len(got))
		}
	}
}

func sameIDs(got []*hub.Event, want []string) error {
	for i := 0; i < len(got) || i < len(want); i++ {
		switch {
		case i >= len(got):
			return fmt.Errorf("missing %d events from %s on", len(want)-i, want[i])
		case i >= len(want):
			return fmt.Errorf("%d unexpected events from %s on", len(got)-i, got[i].ID)
		case got[i].ID != want[i]:
			return fmt.Errorf("event %d is %s, want %s (%d received, %d expected)", i, got[i].ID, want[i], len(got), len(want))
		}
	}
	return nil
}

// Collect returns replay followed by the events s receives until there are
// n in all, failing the test when s is dropped or 5s pass. Publish returns
// before the fan-out, so a resume finds the newest events in the replay or
// in the live queue; Collect takes both.
func Collect(t testing.TB, s *hub.Subscriber, replay []*hub.Event, n int) []*hub.Event {
	t.Helper()
	got := append([]*hub.Event(nil), replay...)
	timeout := time.After(5 * time.Second)
	for len(got) < n {
		select {
		case e := <-s.Events():
			got = append(got, e)
		case <-s.Done():
			t.Fatalf("subscriber dropped after %d of %d events: %v", len(got), n, s.Err())
		case <-timeout:
			t.Fatalf("%d of %d events after 5s", len(got), n)
		}
	}
	return got
}

// WaitFanned waits until h has fanned out the event with the given id.
func WaitFanned(t testing.TB, h *hub.Hub, id string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); h.LastEventID() != id; time.Sleep(100 * time.Microsecond) {
		if time.Now().After(deadline) {
			t.Fatalf("LastEventID() = %q after 5s, want %q", h.LastEventID(), id)
		}
	}
}
