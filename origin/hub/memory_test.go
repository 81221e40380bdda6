package hub_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/origin/hub/hubtest"
)

func TestMemoryHistoryContract(t *testing.T) {
	hubtest.TestHistory(t, func(*testing.T) hub.History { return hub.NewMemoryHistory(1000) })
}

func TestMemoryHistoryBounds(t *testing.T) {
	now := time.Unix(1000, 0)
	m := hub.NewMemoryHistoryWithOptions(hub.MemoryOptions{MaxEvents: 3, MaxAge: time.Minute, Now: func() time.Time { return now }})
	for _, id := range []string{"a", "b", "c", "d"} {
		if err := m.Append(hubtest.NewEvent(id, "", "t")); err != nil {
			t.Fatal(err)
		}
		now = now.Add(25 * time.Second)
	}
	// Now is 100s after a: a was pushed out by count; b (75s old) has
	// expired by age; c (50s) and d (25s) are held.
	for id, want := range map[string]error{"a": hub.ErrUnknownID, "b": hub.ErrUnknownID, "c": nil, "d": nil} {
		if _, err := m.Lookup(id); !errors.Is(err, want) {
			t.Errorf("Lookup(%s) = %v, want %v", id, err, want)
		}
	}
	var oldest []string
	m.RangeOldest(^uint64(0), func(e *hub.Event) bool { oldest = append(oldest, e.ID); return true })
	if fmt.Sprint(oldest) != "[c d]" {
		t.Errorf("RangeOldest = %v, want [c d]: b is expired by age though still in the ring", oldest)
	}
	if err := m.Append(hubtest.NewEvent("a", "", "t")); err != nil {
		t.Fatalf("re-publishing the expired id a: %v", err)
	}
	if n := m.Len(); n != 3 {
		t.Errorf("Len() = %d, want 3 (c, d, a)", n)
	}
	if seq, id := m.Last(); seq != 5 || id != "a" {
		t.Errorf("Last() = %d %q, want 5 a", seq, id)
	}
}

func TestStressMemory(t *testing.T) {
	h := hub.New(hub.NewMemoryHistory(100000))
	defer h.Close()
	hubtest.Stress(t, []*hub.Hub{h}, hubtest.StressOptions{})
}
