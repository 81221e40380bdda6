// Package hubtest holds the tests every hub.History must pass and the
// concurrent resume test every hub configuration must pass, so that the
// memory, bbolt and Redis stores run the same suite against real
// components. It also builds events the way the publish handler does.
package hubtest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/shared/frame"
	"github.com/edge-sse/edge-sse/shared/sse"
)

// NewEvent returns an event with the given id, data and topics, encoded
// once as SSE bytes and as an edge feed frame like the publish handler
// encodes it.
func NewEvent(id, data string, topics ...string) *hub.Event {
	return Encode(&hub.Event{ID: id, Data: data, Topics: topics})
}

// Encode fills e.SSE and e.Frame from e's other fields and returns e.
func Encode(e *hub.Event) *hub.Event {
	b, err := sse.AppendEvent(nil, sse.Event{ID: e.ID, Type: e.Type, Data: e.Data, Retry: int(e.Retry)})
	if err != nil {
		panic(err)
	}
	e.SSE = b
	e.Frame = frame.AppendEvent(nil, &frame.Event{
		ID: e.ID, Type: e.Type, Topics: e.Topics, Private: e.Private, Retry: e.Retry, SSE: b,
	})
	return e
}

// SameEvent reports how got differs from want in any field, or "".
func SameEvent(got, want *hub.Event) string {
	switch {
	case got.Seq != want.Seq:
		return fmt.Sprintf("Seq %d, want %d", got.Seq, want.Seq)
	case got.ID != want.ID, got.Type != want.Type, got.Data != want.Data,
		got.Private != want.Private, got.Retry != want.Retry, !slices.Equal(got.Topics, want.Topics):
		return fmt.Sprintf("fields %s, want %s", eventFields(got), eventFields(want))
	case !bytes.Equal(got.SSE, want.SSE):
		return fmt.Sprintf("SSE %q, want %q", got.SSE, want.SSE)
	case !bytes.Equal(got.Frame, want.Frame):
		return fmt.Sprintf("Frame %x, want %x", got.Frame, want.Frame)
	}
	return ""
}

// collect returns the events Range reports.
func collect(t *testing.T, h hub.History, after, until uint64) []*hub.Event {
	t.Helper()
	var out []*hub.Event
	if err := h.Range(after, until, func(e *hub.Event) bool { out = append(out, e); return true }); err != nil {
		t.Fatalf("Range(%d, %d): %v", after, until, err)
	}
	return out
}

// TestHistory runs the History contract against stores made by open, which
// returns an empty store holding at least 1000 events; the test closes it.
func TestHistory(t *testing.T, open func(t *testing.T) hub.History) {
	probe := open(t)
	_, shared := probe.(hub.Tailer)
	probe.Close()
	t.Run("round trip and range", func(t *testing.T) {
		h := open(t)
		defer h.Close()
		events := []*hub.Event{
			NewEvent("a", "plain", "https://example.com/books/1"),
			Encode(&hub.Event{ID: "b", Data: "two\nlines\r\nand CR\rend", Topics: []string{"t1", "t2", "t3"}, Type: "update", Retry: 2500, Private: true}),
			NewEvent("urn:uuid:3f0c", "", "t"),
			Encode(&hub.Event{ID: "d", Data: "ünïcode ✓", Topics: []string{"x"}, Type: "t"}),
			NewEvent("e", "last", "y"),
		}
		for i, e := range events {
			if err := h.Append(e); err != nil {
				t.Fatalf("Append(%s): %v", e.ID, err)
			}
			if i > 0 && e.Seq <= events[i-1].Seq {
				t.Fatalf("Seq %d after %d, want increasing", e.Seq, events[i-1].Seq)
			}
			if i > 0 && !shared && e.Seq != events[i-1].Seq+1 {
				t.Fatalf("local store: Seq %d after %d, want consecutive", e.Seq, events[i-1].Seq)
			}
			seq, err := h.Lookup(e.ID)
			if err != nil || seq != e.Seq {
				t.Fatalf("Lookup(%s) = %d, %v; want %d", e.ID, seq, err, e.Seq)
			}
		}
		if seq, id := h.Last(); seq != events[4].Seq || id != "e" {
			t.Fatalf("Last() = %d %q, want %d e", seq, id, events[4].Seq)
		}
		got := collect(t, h, events[0].Seq, events[4].Seq)
		if len(got) != 4 {
			t.Fatalf("Range after a: %d events, want 4", len(got))
		}
		for i, e := range got {
			if d := SameEvent(e, events[i+1]); d != "" {
				t.Errorf("event %d after the round trip: %s", i+1, d)
			}
		}
		if got := collect(t, h, events[1].Seq, events[2].Seq); len(got) != 1 || got[0].ID != "urn:uuid:3f0c" {
			t.Errorf("Range(b, c) = %v, want exactly c", got)
		}
		n := 0
		h.Range(events[0].Seq, events[4].Seq, func(*hub.Event) bool { n++; return n < 2 })
		if n != 2 {
			t.Errorf("Range called fn %d times after it returned false, want 2", n)
		}
		if l := h.Len(); l != 5 {
			t.Errorf("Len() = %d, want 5", l)
		}
	})
	t.Run("range from the oldest", func(t *testing.T) {
		h := open(t)
		defer h.Close()
		var ids []string
		if err := h.RangeOldest(^uint64(0), func(e *hub.Event) bool { ids = append(ids, e.ID); return true }); err != nil || len(ids) != 0 {
			t.Fatalf("RangeOldest on an empty store = %v, %v; want nothing", ids, err)
		}
		events := make([]*hub.Event, 6)
		for i := range events {
			events[i] = NewEvent(fmt.Sprintf("old-%d", i), "x", "t")
			if err := h.Append(events[i]); err != nil {
				t.Fatal(err)
			}
		}
		var got []*hub.Event
		if err := h.RangeOldest(events[3].Seq, func(e *hub.Event) bool { got = append(got, e); return true }); err != nil {
			t.Fatalf("RangeOldest: %v", err)
		}
		if len(got) != 4 {
			t.Fatalf("RangeOldest(until the 4th) = %d events, want 4", len(got))
		}
		for i, e := range got {
			if d := SameEvent(e, events[i]); d != "" {
				t.Errorf("event %d: %s", i, d)
			}
		}
		n := 0
		h.RangeOldest(events[5].Seq, func(*hub.Event) bool { n++; return n < 2 })
		if n != 2 {
			t.Errorf("RangeOldest called fn %d times after it returned false, want 2", n)
		}
	})
	t.Run("duplicate and unknown ids", func(t *testing.T) {
		h := open(t)
		defer h.Close()
		if err := h.Append(NewEvent("same", "1", "t")); err != nil {
			t.Fatal(err)
		}
		dup := NewEvent("same", "2", "t")
		if err := h.Append(dup); !errors.Is(err, hub.ErrDuplicateID) {
			t.Fatalf("second Append(same) = %v, want ErrDuplicateID", err)
		}
		if dup.Seq != 0 {
			t.Errorf("refused event got Seq %d, want 0", dup.Seq)
		}
		if _, err := h.Lookup("never-published"); !errors.Is(err, hub.ErrUnknownID) {
			t.Errorf("Lookup(never-published) = %v, want ErrUnknownID", err)
		}
		if l := h.Len(); l != 1 {
			t.Errorf("Len() = %d, want 1", l)
		}
	})
	t.Run("concurrent appends", func(t *testing.T) {
		h := open(t)
		defer h.Close()
		const workers, each = 8, 40
		var wg sync.WaitGroup
		seqs := make([][]uint64, workers)
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					e := NewEvent(fmt.Sprintf("w%d-%d", w, i), "x", "t")
					if err := h.Append(e); err != nil {
						t.Errorf("Append: %v", err)
						return
					}
					seqs[w] = append(seqs[w], e.Seq)
				}
			})
		}
		wg.Wait()
		all := slices.Concat(seqs...)
		slices.Sort(all)
		if len(slices.Compact(slices.Clone(all))) != workers*each {
			t.Fatalf("%d distinct Seqs, want %d", len(slices.Compact(all)), workers*each)
		}
		if !shared && all[len(all)-1]-all[0] != workers*each-1 {
			t.Fatalf("local store: Seqs %d..%d are not consecutive", all[0], all[len(all)-1])
		}
		got := collect(t, h, all[0], all[len(all)-1])
		if len(got) != workers*each-1 {
			t.Fatalf("Range over all: %d events, want %d", len(got), workers*each-1)
		}
		for i, e := range got {
			if e.Seq != all[i+1] {
				t.Fatalf("Range event %d has Seq %d, want %d", i, e.Seq, all[i+1])
			}
		}
	})
}

// eventFields prints the fields SameEvent compares (an Event holds an
// atomic pointer, so it is not printed by value).
func eventFields(e *hub.Event) string {
	return fmt.Sprintf("{ID:%q Type:%q Data:%q Private:%v Retry:%d Topics:%q}", e.ID, e.Type, e.Data, e.Private, e.Retry, e.Topics)
}
