package presence_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/origin/history"
	"github.com/edge-sse/edge-sse/origin/internal/redistest"
	opresence "github.com/edge-sse/edge-sse/origin/presence"
	"github.com/edge-sse/edge-sse/origin/presence/boltstore"
	"github.com/edge-sse/edge-sse/shared/presence"
)

const hubPath = "/.well-known/mercure"

// backend opens stores on one shared backend: each call of open is
// another "process" on the same data (for Memory: the same store).
// reopen, when not nil, simulates a restart of the only process.
type backend struct {
	open   func() opresence.Store
	reopen func() opresence.Store
}

func memoryBackend(t testing.TB) backend {
	m := opresence.NewMemory(hubPath)
	return backend{open: func() opresence.Store { return m }}
}

func boltBackend(t testing.TB) backend {
	path := filepath.Join(t.TempDir(), "history.db")
	var h *history.Bolt
	var s opresence.Store
	openOne := func() opresence.Store {
		var err error
		if h, err = history.OpenBolt(path, history.BoltOptions{NoSync: true}); err != nil {
			t.Fatal(err)
		}
		if s, err = boltstore.Open(h.DB(), hubPath); err != nil {
			t.Fatal(err)
		}
		return s
	}
	openOne()
	t.Cleanup(func() { h.Close() })
	return backend{
		open: func() opresence.Store { return s },
		reopen: func() opresence.Store {
			h.Close()
			return openOne()
		},
	}
}

// redisBackend is the Redis store on the real Redis (redistest: the test
// fails, never skips, without it), under a prefix of this test only; each
// open is a new client, as another origin process has.
func redisBackend(t testing.TB) backend {
	prefix := redistest.Prefix(t) + "presence:"
	open := func() opresence.Store { return opresence.NewRedis(redistest.Dial(t), prefix, hubPath) }
	return backend{open: open, reopen: open}
}

var backends = map[string]func(testing.TB) backend{
	"memory": memoryBackend,
	"bolt":   boltBackend,
	"redis":  redisBackend,
}

// forEachBackend runs the test against every store.
func forEachBackend(t *testing.T, test func(t *testing.T, b backend)) {
	for _, name := range []string{"memory", "bolt", "redis"} {
		t.Run(name, func(t *testing.T) { test(t, backends[name](t)) })
	}
}

// conn is a connection of a report: its subscriber id and selectors.
type conn struct {
	sub     string
	matches []string
}

func newConn(matches ...string) conn { return conn{sub: presence.NewSubscriberID(), matches: matches} }

func (c conn) add() presence.Op {
	op := presence.Op{Op: presence.OpAdd, Subscriber: c.sub, Payload: json.RawMessage(`{"user": "u1"}`)}
	for _, m := range c.matches {
		op.Topics = append(op.Topics, presence.Topic{MatchType: "exact", Match: m})
	}
	return op
}

func (c conn) remove() presence.Op { return presence.Op{Op: presence.OpRemove, Subscriber: c.sub} }

func report(hub string, seq uint64, full bool, ops ...presence.Op) *opresence.Report {
	r := &presence.Report{Hub: hub, Seq: seq, Full: full, Ops: ops}
	if err := r.Validate(presence.Limits{}); err != nil {
		panic(err)
	}
	return opresence.Prepare(r, hubPath)
}

// ev renders events as "+match/subscriber" and "-match/subscriber", sorted.
func ev(docs []presence.Subscription) []string {
	out := make([]string, len(docs))
	for i, d := range docs {
		sign := "-"
		if d.Active {
			sign = "+"
		}
		out[i] = sign + d.Match + "/" + d.Subscriber
	}
	slices.Sort(out)
	return out
}

func evs(c conn, active bool, matches ...string) []string {
	var out []string
	for _, m := range matches {
		sign := "-"
		if active {
			sign = "+"
		}
		out = append(out, sign+m+"/"+c.sub)
	}
	return out
}

func want(parts ...[]string) []string {
	out := []string{}
	for _, p := range parts {
		out = append(out, p...)
	}
	slices.Sort(out)
	return out
}

// docs returns the documents of events.
func docs(events []opresence.Event) []presence.Subscription {
	out := make([]presence.Subscription, len(events))
	for i, e := range events {
		out[i] = e.Doc
	}
	return out
}

func check(t *testing.T, what string, got []opresence.Event, err error, w []string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if g := ev(docs(got)); !slices.Equal(g, w) && !(len(g) == 0 && len(w) == 0) {
		t.Fatalf("%s: events\n%v\nwant\n%v", what, g, w)
	}
}

// applySent applies r and records its events sent, as the Tracker does
// once it published them.
func applySent(t *testing.T, s opresence.Store, r *opresence.Report, now time.Time) ([]opresence.Event, error) {
	t.Helper()
	events, err := s.Apply(context.Background(), r, now, lease)
	if err == nil {
		if err := s.Sent(context.Background(), r.Hub, r.Seq); err != nil {
			t.Fatal(err)
		}
	}
	return events, err
}

func listed(t *testing.T, s opresence.Store) []string {
	t.Helper()
	docs, err := s.List(context.Background(), presence.Ref{Scope: presence.ScopeAll})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		if !d.Active || d.ID != d.Key().Topic(hubPath) || d.Type != "subscription" {
			t.Fatalf("listed document %+v", d)
		}
	}
	return ev(docs)
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const lease = 10 * time.Second

// TestStoreReports: full and incremental reports, seq rules, retries,
// and the full report's diff without duplicate events.
func TestStoreReports(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.open()
		hub := presence.NewInstanceID()
		a, bb, c := newConn("https://e/a"), newConn("https://e/1", "https://e/2"), newConn("https://e/c")

		_, err := s.Apply(ctx, report(hub, 1, false, a.add()), t0, lease)
		if !errors.Is(err, opresence.ErrResync) {
			t.Fatalf("incremental report of an unknown instance: %v, want ErrResync", err)
		}
		got, err := applySent(t, s, report(hub, 5, true, a.add(), bb.add()), t0)
		check(t, "first full report", got, err, want(evs(a, true, "https://e/a"), evs(bb, true, "https://e/1", "https://e/2")))
		if string(got[0].Doc.Payload) != `{"user":"u1"}` {
			t.Fatalf("payload %s, want compact {\"user\":\"u1\"}", got[0].Doc.Payload)
		}
		got, err = s.Apply(ctx, report(hub, 6, false, c.add()), t0, lease)
		check(t, "seq 6", got, err, evs(c, true, "https://e/c"))
		again, err := s.Apply(ctx, report(hub, 6, false, c.add()), t0, lease)
		check(t, "seq 6 again (a retry) before its events are sent", again, err, evs(c, true, "https://e/c"))
		if again[0].ID != got[0].ID {
			t.Fatalf("the retry gave the event id %s, the report %s", again[0].ID, got[0].ID)
		}
		if err := s.Sent(ctx, hub, 6); err != nil {
			t.Fatal(err)
		}
		got, err = s.Apply(ctx, report(hub, 6, false, c.add()), t0, lease)
		check(t, "seq 6 again (a retry) after its events were sent", got, err, nil)
		for _, seq := range []uint64{5, 8} {
			if _, err := s.Apply(ctx, report(hub, seq, false), t0, lease); !errors.Is(err, opresence.ErrResync) {
				t.Fatalf("seq %d after 6: %v, want ErrResync", seq, err)
			}
		}
		// A short connection: added and removed in one report.
		d := newConn("https://e/d")
		got, err = applySent(t, s, report(hub, 7, false, d.add(), d.remove(), a.remove()), t0)
		if err != nil {
			t.Fatal(err)
		}
		if g := ev(docs(got)); !slices.Equal(g, want(evs(d, true, "https://e/d"), evs(d, false, "https://e/d"), evs(a, false, "https://e/a"))) {
			t.Fatalf("add+remove: %v", g)
		}
		if got[0].Doc.Subscriber == d.sub && !got[0].Doc.Active {
			t.Fatal("the removal of d came before its addition")
		}
		if l := listed(t, s); !slices.Equal(l, want(evs(bb, true, "https://e/1", "https://e/2"), evs(c, true, "https://e/c"))) {
			t.Fatalf("list %v", l)
		}

		// Full report, any seq: bb now has /2 and /3, c left, e is new.
		e := newConn("https://e/e")
		bb2 := conn{sub: bb.sub, matches: []string{"https://e/2", "https://e/3"}}
		got, err = applySent(t, s, report(hub, 3, true, bb2.add(), e.add()), t0)
		check(t, "full diff", got, err, want(evs(bb, false, "https://e/1"), evs(bb, true, "https://e/3"), evs(c, false, "https://e/c"), evs(e, true, "https://e/e")))
		got, err = applySent(t, s, report(hub, 4, true, e.add(), bb2.add()), t0)
		check(t, "the same full report again", got, err, nil)
		got, err = applySent(t, s, report(hub, 5, false, e.add()), t0)
		check(t, "an add of a held connection", got, err, nil)
		if l := listed(t, s); !slices.Equal(l, want(evs(bb, true, "https://e/2", "https://e/3"), evs(e, true, "https://e/e"))) {
			t.Fatalf("list %v", l)
		}
	})
}

// TestStoreList: the three scopes of the API.
func TestStoreList(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.open()
		x, y := newConn("https://e/a", "https://e/b"), newConn("https://e/a")
		if _, err := s.Apply(ctx, report(presence.NewInstanceID(), 1, true, x.add()), t0, lease); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Apply(ctx, report(presence.NewInstanceID(), 1, true, y.add()), t0, lease); err != nil {
			t.Fatal(err)
		}
		all, _ := s.List(ctx, presence.Ref{Scope: presence.ScopeAll})
		if len(all) != 3 || !slices.IsSortedFunc(all, func(a, b presence.Subscription) int { return strings.Compare(a.ID, b.ID) }) {
			t.Fatalf("all: %v", ev(all))
		}
		m, _ := s.List(ctx, presence.Ref{Scope: presence.ScopeMatch, Key: presence.Key{MatchType: "exact", Match: "https://e/a"}})
		if g := ev(m); !slices.Equal(g, want(evs(x, true, "https://e/a"), evs(y, true, "https://e/a"))) {
			t.Fatalf("match: %v", g)
		}
		m, _ = s.List(ctx, presence.Ref{Scope: presence.ScopeMatch, Key: presence.Key{MatchType: "urlpattern", Match: "https://e/a"}})
		if len(m) != 0 {
			t.Fatalf("another match type: %v", ev(m))
		}
		one, _ := s.List(ctx, presence.Ref{Scope: presence.ScopeOne, Key: presence.Key{MatchType: "exact", Match: "https://e/b", Subscriber: x.sub}})
		if g := ev(one); !slices.Equal(g, evs(x, true, "https://e/b")) || string(one[0].Payload) != `{"user":"u1"}` {
			t.Fatalf("one: %v %+v", g, one)
		}
		one, _ = s.List(ctx, presence.Ref{Scope: presence.ScopeOne, Key: presence.Key{MatchType: "exact", Match: "https://e/b", Subscriber: y.sub}})
		if len(one) != 0 {
			t.Fatalf("unknown one: %v", ev(one))
		}
	})
}

// TestStoreLeases: a lapsed lease is claimed once, its subscriptions
// leave the index at the claim, reports are refused until the claimant
// forgets the instance, and an unforgotten claim is taken over.
func TestStoreLeases(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s1, s2 := b.open(), b.open()
		live, dead := presence.NewInstanceID(), presence.NewInstanceID()
		a, c := newConn("https://e/a"), newConn("https://e/c")
		if _, err := applySent(t, s1, report(dead, 1, true, a.add()), t0); err != nil {
			t.Fatal(err)
		}
		if _, err := applySent(t, s1, report(live, 1, true, c.add()), t0); err != nil {
			t.Fatal(err)
		}
		if cl, err := s1.Claim(ctx, t0.Add(lease-time.Millisecond), lease, 10); err != nil || len(cl) != 0 {
			t.Fatalf("claim before the lease ends: %v, %v", cl, err)
		}
		// live renews with an empty report; dead does not.
		if _, err := applySent(t, s1, report(live, 2, false), t0.Add(lease/2)); err != nil {
			t.Fatal(err)
		}
		at := t0.Add(lease)
		var wg sync.WaitGroup
		var claims [2][]opresence.Claim
		for i, s := range []opresence.Store{s1, s2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				if claims[i], err = s.Claim(ctx, at, lease, 10); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		all := append(claims[0], claims[1]...)
		if len(all) != 1 || all[0].Instance != dead {
			t.Fatalf("claims %+v, want dead once", all)
		}
		cl := all[0]
		check(t, "ended", cl.Ended, nil, evs(a, false, "https://e/a"))
		if l := listed(t, s1); !slices.Equal(l, evs(c, true, "https://e/c")) {
			t.Fatalf("list after the claim %v", l)
		}
		for _, full := range []bool{false, true} {
			if _, err := s2.Apply(ctx, report(dead, 2, full, a.add()), at, lease); !errors.Is(err, opresence.ErrResync) {
				t.Fatalf("report (full %v) of a claimed instance: %v, want ErrResync", full, err)
			}
		}
		if _, err := applySent(t, s1, report(live, 3, false), at.Add(time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		// Not forgotten within the hold: another claim takes it over, with
		// the same documents; the old token forgets nothing.
		cl2, err := s2.Claim(ctx, at.Add(lease), lease, 10)
		if err != nil || len(cl2) != 1 || cl2[0].Instance != dead || cl2[0].Token == cl.Token {
			t.Fatalf("takeover claim %+v, %v", cl2, err)
		}
		check(t, "ended again", cl2[0].Ended, nil, evs(a, false, "https://e/a"))
		if err := s1.Forget(ctx, cl); err != nil {
			t.Fatal(err)
		}
		if _, err := s1.Apply(ctx, report(dead, 3, true, a.add()), at, lease); !errors.Is(err, opresence.ErrResync) {
			t.Fatalf("a stale token forgot the instance: %v", err)
		}
		if err := s2.Forget(ctx, cl2[0]); err != nil {
			t.Fatal(err)
		}
		// Forgotten: the instance comes back with a full report only.
		if _, err := s1.Apply(ctx, report(dead, 2, false, a.add()), at, lease); !errors.Is(err, opresence.ErrResync) {
			t.Fatalf("incremental report of a forgotten instance: %v", err)
		}
		got, err := applySent(t, s1, report(dead, 9, true, a.add()), at)
		check(t, "full report after termination", got, err, evs(a, true, "https://e/a"))
		// live's lease runs until at+1ms+lease, dead's new one until at+lease.
		if cl3, err := s1.Claim(ctx, at.Add(lease), lease, 10); err != nil || len(cl3) != 1 || cl3[0].Instance != dead {
			t.Fatalf("claim of dead again %+v, %v", cl3, err)
		}
		if cl3, err := s1.Claim(ctx, at.Add(time.Millisecond+lease), lease, 10); err != nil || len(cl3) != 1 || cl3[0].Instance != live {
			t.Fatalf("claim of live %+v, %v", cl3, err)
		}
	})
}

// TestStoreRestart: a store reopened on the same data (an origin
// restart) holds the instances with their seq: the next report follows
// on, and a full report of the same set announces nothing again.
func TestStoreRestart(t *testing.T) {
	for _, name := range []string{"bolt", "redis"} {
		t.Run(name, func(t *testing.T) {
			b := backends[name](t)
			ctx := context.Background()
			s := b.open()
			hub := presence.NewInstanceID()
			a, c := newConn("https://e/a"), newConn("https://e/c")
			if _, err := applySent(t, s, report(hub, 1, true, a.add(), c.add()), t0); err != nil {
				t.Fatal(err)
			}
			if _, err := applySent(t, s, report(hub, 2, false, c.remove()), t0); err != nil {
				t.Fatal(err)
			}
			s = b.reopen()
			if l := listed(t, s); !slices.Equal(l, evs(a, true, "https://e/a")) {
				t.Fatalf("list after restart %v", l)
			}
			got, err := applySent(t, s, report(hub, 3, false), t0)
			check(t, "seq 3 after restart", got, err, nil)
			got, err = applySent(t, s, report(hub, 4, true, a.add()), t0)
			check(t, "same full set after restart", got, err, nil)
			cl, err := s.Claim(ctx, t0.Add(lease), lease, 10)
			if err != nil || len(cl) != 1 {
				t.Fatalf("claim %+v %v", cl, err)
			}
			s = b.reopen()
			cl2, err := s.Claim(ctx, t0.Add(2*lease), lease, 10)
			if err != nil || len(cl2) != 1 {
				t.Fatalf("claim after restart %+v %v", cl2, err)
			}
			check(t, "ended after restart", cl2[0].Ended, nil, evs(a, false, "https://e/a"))
		})
	}
}

// TestStoreUnsent: the events of a report stay in the store, with their
// ids, until Sent for that report (or a later one): a retry, a later
// report, a restart and a claim give them again, before their own.
func TestStoreUnsent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.open()
		hub := presence.NewInstanceID()
		a, c, d := newConn("https://e/a"), newConn("https://e/c"), newConn("https://e/d")
		ids := func(events []opresence.Event) []string {
			out := make([]string, len(events))
			for i, e := range events {
				out[i] = e.ID
			}
			return out
		}
		first, err := s.Apply(ctx, report(hub, 1, true, a.add()), t0, lease)
		check(t, "seq 1", first, err, evs(a, true, "https://e/a"))
		second, err := s.Apply(ctx, report(hub, 2, false, c.add()), t0, lease)
		check(t, "seq 2 before seq 1 was sent", second, err, want(evs(a, true, "https://e/a"), evs(c, true, "https://e/c")))
		if second[0].ID != first[0].ID || second[0].Doc.Subscriber != a.sub {
			t.Fatalf("seq 2 gave %v first, want seq 1's %v", ids(second), ids(first))
		}
		if err := s.Sent(ctx, hub, 1); err != nil { // stale: seq 2 was applied since
			t.Fatal(err)
		}
		again, err := s.Apply(ctx, report(hub, 2, false, c.add()), t0, lease)
		check(t, "seq 2's retry after a stale Sent", again, err, want(evs(a, true, "https://e/a"), evs(c, true, "https://e/c")))
		if !slices.Equal(ids(again), ids(second)) {
			t.Fatalf("retry ids %v, want %v", ids(again), ids(second))
		}
		seen := map[string]bool{}
		for _, id := range ids(second) {
			if !strings.HasPrefix(id, "urn:uuid:") || len(id) != len("urn:uuid:")+36 || seen[id] {
				t.Fatalf("event id %q (of %v): want distinct urn:uuid ids", id, ids(second))
			}
			seen[id] = true
		}
		if err := s.Sent(ctx, hub, 2); err != nil {
			t.Fatal(err)
		}
		got, err := s.Apply(ctx, report(hub, 2, false, c.add()), t0, lease)
		check(t, "seq 2's retry after Sent", got, err, nil)

		// Unsent events survive a restart, and a claim publishes them
		// before the ends.
		third, err := s.Apply(ctx, report(hub, 3, false, d.add(), a.remove()), t0, lease)
		check(t, "seq 3", third, err, want(evs(d, true, "https://e/d"), evs(a, false, "https://e/a")))
		if b.reopen != nil {
			s = b.reopen()
			got, err := s.Apply(ctx, report(hub, 3, false, d.add(), a.remove()), t0, lease)
			check(t, "seq 3's retry after a restart", got, err, want(evs(d, true, "https://e/d"), evs(a, false, "https://e/a")))
			if !slices.Equal(ids(got), ids(third)) {
				t.Fatalf("ids after a restart %v, want %v", ids(got), ids(third))
			}
		}
		cl, err := s.Claim(ctx, t0.Add(lease), lease, 10)
		if err != nil || len(cl) != 1 {
			t.Fatalf("claim %+v %v", cl, err)
		}
		check(t, "ended", cl[0].Ended, nil, want(evs(d, true, "https://e/d"), evs(a, false, "https://e/a"), evs(c, false, "https://e/c"), evs(d, false, "https://e/d")))
		if !slices.Equal(ids(cl[0].Ended[:2]), ids(third)) {
			t.Fatalf("a claim's first events %v, want seq 3's unsent %v", ids(cl[0].Ended), ids(third))
		}
		if err := s.Sent(ctx, hub, 3); err != nil { // claimed: nothing to do
			t.Fatal(err)
		}
		// Taken over: the same events with the same ids.
		cl2, err := s.Claim(ctx, t0.Add(2*lease), lease, 10)
		if err != nil || len(cl2) != 1 || !slices.Equal(ids(cl2[0].Ended), ids(cl[0].Ended)) {
			t.Fatalf("takeover %+v %v, want the ids %v", cl2, err, ids(cl[0].Ended))
		}
		if err := s.Forget(ctx, cl2[0]); err != nil {
			t.Fatal(err)
		}
		got, err = applySent(t, s, report(hub, 1, true, a.add()), t0.Add(2*lease))
		check(t, "full report after the end", got, err, evs(a, true, "https://e/a"))
	})
}
