package history_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/origin/history"
	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/origin/hub/hubtest"
	bolt "go.etcd.io/bbolt"
)

func openBolt(t *testing.T, path string, opts history.BoltOptions) *history.Bolt {
	t.Helper()
	b, err := history.OpenBolt(path, opts)
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	return b
}

func TestBoltContract(t *testing.T) {
	hubtest.TestHistory(t, func(t *testing.T) hub.History {
		return openBolt(t, filepath.Join(t.TempDir(), "h.db"), history.BoltOptions{})
	})
}

// event returns the i-th test event; odd and even ones differ in every
// field, so a round trip that mixes fields up shows.
func event(i int) *hub.Event {
	if i%2 == 0 {
		return hubtest.Encode(&hub.Event{ID: fmt.Sprintf("e%d", i), Data: fmt.Sprintf("even\n%d", i), Topics: []string{"even", "all"}, Type: "update", Retry: 1000})
	}
	return hubtest.Encode(&hub.Event{ID: fmt.Sprintf("e%d", i), Data: fmt.Sprint(i), Topics: []string{"odd"}, Private: true})
}

// TestBoltRestart publishes, closes the hub and the file, reopens them, and
// resumes from an id published before the restart: the replay holds
// exactly the missed events, Seqs keep rising, and old ids stay refused.
func TestBoltRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	store := openBolt(t, path, history.BoltOptions{})
	h := hub.New(store)
	sent := map[string]*hub.Event{}
	for i := 1; i <= 10; i++ {
		e := event(i)
		if err := h.Publish(e); err != nil {
			t.Fatal(err)
		}
		sent[e.ID] = e
	}
	h.Close()
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	store = openBolt(t, path, history.BoltOptions{})
	defer store.Close()
	h = hub.New(store)
	defer h.Close()
	if id := h.LastEventID(); id != "e10" {
		t.Fatalf("LastEventID() after restart = %q, want e10", id)
	}
	for i := 11; i <= 15; i++ {
		e := event(i)
		if err := h.Publish(e); err != nil {
			t.Fatal(err)
		}
		sent[e.ID] = e
	}
	if s := sent["e11"].Seq; s != sent["e10"].Seq+1 {
		t.Fatalf("first Seq after restart %d, want %d", s, sent["e10"].Seq+1)
	}
	hubtest.WaitFanned(t, h, "e15")
	s := hub.NewSubscriber(16, nil)
	replay, err := h.Subscribe(s, "e7")
	if err != nil {
		t.Fatal(err)
	}
	if len(replay) != 8 {
		t.Fatalf("replay after e7: %v, want e8..e15", ids(replay))
	}
	for i, e := range replay {
		want := sent[fmt.Sprintf("e%d", i+8)]
		if d := hubtest.SameEvent(e, want); d != "" {
			t.Errorf("replayed %s: %s", want.ID, d)
		}
	}
	if err := h.Publish(event(3)); !errors.Is(err, hub.ErrDuplicateID) {
		t.Fatalf("re-publishing e3 after the restart = %v, want ErrDuplicateID", err)
	}
	even := hub.NewSubscriber(16, func(e *hub.Event) bool { return e.Topics[0] == "even" })
	if replay, _ := h.Subscribe(even, "e9"); fmt.Sprint(ids(replay)) != "[e10 e12 e14]" {
		t.Fatalf("filtered replay after e9: %v, want [e10 e12 e14]", ids(replay))
	}
}

func ids(events []*hub.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

func TestBoltBoundedByCount(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	store := openBolt(t, path, history.BoltOptions{MaxEvents: 5})
	for i := 1; i <= 8; i++ {
		if err := store.Append(event(i)); err != nil {
			t.Fatal(err)
		}
	}
	check := func(when string) {
		t.Helper()
		if n := store.Len(); n != 5 {
			t.Errorf("%s: Len() = %d, want 5", when, n)
		}
		for i := 1; i <= 8; i++ {
			_, err := store.Lookup(fmt.Sprintf("e%d", i))
			if want := i > 3; (err == nil) != want {
				t.Errorf("%s: Lookup(e%d) = %v, held %v", when, i, err, want)
			}
		}
	}
	check("before restart")
	store.Close()
	store = openBolt(t, path, history.BoltOptions{MaxEvents: 5})
	defer store.Close()
	check("after restart")
	if err := store.Append(event(1)); err != nil {
		t.Fatalf("re-publishing the pruned id e1: %v", err)
	}
	if seq, id := store.Last(); seq != 9 || id != "e1" {
		t.Fatalf("Last() = %d %q, want 9 e1", seq, id)
	}
}

// TestBoltEarliest resumes from "earliest" on a store bounded by count
// and by age: the replay is every held event, nothing pruned or expired.
func TestBoltEarliest(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	opts := history.BoltOptions{MaxEvents: 5, MaxAge: time.Minute, PruneInterval: time.Hour, Now: func() time.Time { return now }}
	store := openBolt(t, filepath.Join(t.TempDir(), "h.db"), opts)
	defer store.Close()
	h := hub.New(store)
	defer h.Close()
	for i := 1; i <= 8; i++ {
		if err := h.Publish(event(i)); err != nil {
			t.Fatal(err)
		}
	}
	hubtest.WaitFanned(t, h, "e8")
	replay, err := h.Subscribe(hub.NewSubscriber(16, nil), hub.Earliest)
	if err != nil || fmt.Sprint(ids(replay)) != "[e4 e5 e6 e7 e8]" {
		t.Fatalf("resume from earliest = %v, %v; want the 5 held events e4..e8", ids(replay), err)
	}
	now = now.Add(2 * time.Minute) // every event expired; the pruner has not run
	replay, err = h.Subscribe(hub.NewSubscriber(16, nil), hub.Earliest)
	if err != nil || len(replay) != 0 {
		t.Fatalf("resume from earliest with everything expired = %v, %v; want nothing", ids(replay), err)
	}
}

func TestBoltBoundedByAge(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	opts := history.BoltOptions{MaxAge: time.Minute, PruneInterval: 10 * time.Millisecond, Now: clock}
	store := openBolt(t, filepath.Join(t.TempDir(), "h.db"), opts)
	defer store.Close()
	for i := 1; i <= 4; i++ {
		if err := store.Append(event(i)); err != nil {
			t.Fatal(err)
		}
		advance(30 * time.Second)
	}
	// Now e1 is 120s old, e2 90s, e3 60s (the bound), e4 30s.
	for id, want := range map[string]error{"e1": hub.ErrUnknownID, "e2": hub.ErrUnknownID, "e3": nil, "e4": nil} {
		if _, err := store.Lookup(id); !errors.Is(err, want) {
			t.Errorf("Lookup(%s) = %v, want %v", id, err, want)
		}
	}
	waitLen := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(2 * time.Second); store.Len() != n; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("Len() = %d, want %d after pruning", store.Len(), n)
			}
		}
	}
	waitLen(2) // the pruner removes e1 and e2 with nothing published
	advance(time.Hour)
	waitLen(0)
	if seq, id := store.Last(); seq != 4 || id != "" {
		t.Fatalf("Last() with everything expired = %d %q, want 4 and no id", seq, id)
	}
	e := event(5)
	if err := store.Append(e); err != nil || e.Seq != 5 {
		t.Fatalf("Append after expiry: Seq %d, %v; want 5", e.Seq, err)
	}
}

func TestBoltStress(t *testing.T) {
	store := openBolt(t, filepath.Join(t.TempDir(), "h.db"), history.BoltOptions{MaxEvents: 100000})
	defer store.Close()
	h := hub.New(store)
	defer h.Close()
	hubtest.Stress(t, []*hub.Hub{h}, hubtest.StressOptions{})
}

func TestBoltRefusesSecondOpenAndOtherFormats(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	store := openBolt(t, path, history.BoltOptions{})
	if _, err := history.OpenBolt(path, history.BoltOptions{OpenTimeout: 50 * time.Millisecond}); err == nil {
		t.Fatal("a second OpenBolt of an open file succeeded")
	}
	store.Close()
	if err := store.Append(event(1)); !errors.Is(err, history.ErrClosed) {
		t.Fatalf("Append after Close = %v, want ErrClosed", err)
	}

	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("edge-sse/meta")).Put([]byte("version"), []byte{99})
	})
	db.Close()
	if _, err := history.OpenBolt(path, history.BoltOptions{}); !errors.Is(err, history.ErrFormat) {
		t.Fatalf("OpenBolt of format 99 = %v, want ErrFormat", err)
	}
}
