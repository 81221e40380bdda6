package presence

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edge-sse/edge-sse/shared/mercure"
	"github.com/edge-sse/edge-sse/shared/presence"
)

// Instance is one hub instance in the state of a Memory store, as a
// Persister saves and loads it.
type Instance struct {
	Name    string
	Seq     uint64
	Expires time.Time
	// Unsent holds the events of its reports up to Seq not yet published
	// (Store.Sent).
	Unsent []Event
	// Token is set while the instance is claimed (being ended); Ended
	// then holds the events the claimant publishes (Unsent's, then the
	// inactive ones of its subscriptions), and Subs is empty.
	Token string
	Ended []Event
	Subs  map[string][]presence.Subscription // subscriber → active documents
}

// state is the index of a Memory store. Changes are planned first
// (plan), then saved (a Persister), then committed here, so a failed save
// changes nothing.
type state struct {
	inst  map[string]*Instance
	index map[string]presence.Subscription // document id → active document
}

func newState() *state {
	return &state{inst: map[string]*Instance{}, index: map[string]presence.Subscription{}}
}

// change is the planned effect of a report on one instance.
type change struct {
	id      string
	inst    *Instance                          // the instance after the change (a new value)
	overlay map[string][]presence.Subscription // subscriber → new documents; nil: removed
	events  []Event                            // inst.Unsent: to publish
}

// plan computes what applying r does, without changing s.
func (s *state) plan(r *Report, now time.Time, lease time.Duration) (*change, error) {
	old := s.inst[r.Hub]
	switch {
	case old != nil && old.Token != "":
		return nil, fmt.Errorf("%w (its lease lapsed and its subscriptions are being terminated)", ErrResync)
	case old == nil && !r.Full:
		return nil, fmt.Errorf("%w (unknown instance %s)", ErrResync, r.Hub)
	case old != nil && !r.Full && r.Seq != old.Seq && r.Seq != old.Seq+1:
		return nil, fmt.Errorf("%w (seq %d after %d)", ErrResync, r.Seq, old.Seq)
	}
	next := &Instance{Name: r.Name, Seq: r.Seq, Expires: now.Add(lease)}
	if old != nil {
		next.Subs, next.Unsent = old.Subs, old.Unsent
	}
	c := &change{id: r.Hub, inst: next, overlay: map[string][]presence.Subscription{}, events: next.Unsent}
	if old != nil && !r.Full && r.Seq == old.Seq {
		return c, nil // a retry: applied before; what is not yet sent, again
	}
	var docs []presence.Subscription // the report's changes
	current := func(sub string) []presence.Subscription {
		if d, ok := c.overlay[sub]; ok {
			return d
		}
		if old == nil {
			return nil
		}
		return old.Subs[sub]
	}
	if r.Full && old != nil {
		listed := make(map[string]bool, len(r.Ops))
		for _, o := range r.Ops {
			listed[o.Subscriber] = true
		}
		for _, sub := range sortedKeys(old.Subs) {
			if !listed[sub] {
				docs = append(docs, inactive(old.Subs[sub])...)
				c.overlay[sub] = nil
			}
		}
	}
	for _, o := range r.Ops {
		held := current(o.Subscriber)
		if !o.Add {
			docs = append(docs, inactive(held)...)
			c.overlay[o.Subscriber] = nil
			continue
		}
		kept, events := merge(held, o.Docs)
		if len(events) == 0 && len(kept) == len(held) {
			continue // the connection is held as it is
		}
		docs = append(docs, events...)
		c.overlay[o.Subscriber] = kept
	}
	c.events = withIDs(slices.Clip(c.events), docs)
	next.Unsent = c.events
	return c, nil
}

// NewEvents returns docs as events, with the ids of a new series.
func NewEvents(docs []presence.Subscription) []Event { return withIDs(nil, docs) }

// withIDs returns events with docs appended, each with an id of a new
// series.
func withIDs(events []Event, docs []presence.Subscription) []Event {
	if len(docs) == 0 {
		return events
	}
	ids := newIDSeries()
	for k, d := range docs {
		events = append(events, Event{ID: ids.id(k), Doc: d})
	}
	return events
}

// idSeries names the events of one change: event k gets prefix + the
// eight hex digits of base+k, a random id of the hub's (mercure.NewID)
// whose last 32 bits count. The Redis scripts form the same ids from
// prefix and base.
type idSeries struct {
	prefix string
	base   uint32
}

func newIDSeries() idSeries {
	id := mercure.NewID()
	cut := len(id) - 8
	base, _ := strconv.ParseUint(id[cut:], 16, 32)
	return idSeries{prefix: id[:cut], base: uint32(base)}
}

func (s idSeries) id(k int) string { return fmt.Sprintf("%s%08x", s.prefix, s.base+uint32(k)) }

// sent returns instance id with no events unsent, nil when there is
// nothing to change: not held, claimed, a report after seq applied, or
// nothing unsent.
func (s *state) sent(id string, seq uint64) *Instance {
	in := s.inst[id]
	if in == nil || in.Token != "" || in.Seq != seq || len(in.Unsent) == 0 {
		return nil
	}
	next := *in
	next.Unsent = nil
	return &next
}

// merge returns a connection's documents after an add op that lists
// want, and the events of the difference: a held selector keeps its
// document (no event), a new one is added (active), a held one not in
// want is removed (inactive).
func merge(held, want []presence.Subscription) (docs, events []presence.Subscription) {
	for _, h := range held {
		if !slices.ContainsFunc(want, func(w presence.Subscription) bool { return w.ID == h.ID }) {
			events = append(events, inactiveOne(h))
		}
	}
	for _, w := range want {
		i := slices.IndexFunc(held, func(h presence.Subscription) bool { return h.ID == w.ID })
		if i >= 0 {
			docs = append(docs, held[i])
			continue
		}
		docs = append(docs, w)
		events = append(events, w)
	}
	return docs, events
}

// commit makes c the state. The instance's connection map is updated in
// place: plan left the previous instance value, its only other holder,
// out of the state.
func (s *state) commit(c *change) {
	next := c.inst
	subs := next.Subs
	if subs == nil {
		subs = make(map[string][]presence.Subscription, len(c.overlay))
	}
	for sub, docs := range c.overlay {
		for _, d := range subs[sub] {
			delete(s.index, d.ID)
		}
		if docs == nil {
			delete(subs, sub)
			continue
		}
		subs[sub] = docs
		for _, d := range docs {
			s.index[d.ID] = d
		}
	}
	next.Subs = subs
	s.inst[c.id] = next
}

// lapsed returns up to max instances whose lease or claim ended at now,
// oldest first.
func (s *state) lapsed(now time.Time, max int) []string {
	var ids []string
	for id, in := range s.inst {
		if !in.Expires.After(now) {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b string) int {
		if c := s.inst[a].Expires.Compare(s.inst[b].Expires); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	if len(ids) > max {
		ids = ids[:max]
	}
	return ids
}

// claimed returns the instance id as claimed at now until now+hold: its
// subscriptions move from subs (and the index) to ended.
func (s *state) claimed(id string, now time.Time, hold time.Duration) *Instance {
	in := s.inst[id]
	next := &Instance{Name: in.Name, Seq: in.Seq, Expires: now.Add(hold), Token: newToken(), Ended: in.Ended}
	if in.Token == "" {
		var docs []presence.Subscription
		for _, sub := range sortedKeys(in.Subs) {
			docs = append(docs, inactive(in.Subs[sub])...)
		}
		next.Ended = withIDs(slices.Clone(in.Unsent), docs)
	}
	return next
}

// commitClaim makes next the claimed state of instance id.
func (s *state) commitClaim(id string, next *Instance) {
	if in := s.inst[id]; in != nil {
		for _, docs := range in.Subs {
			for _, d := range docs {
				delete(s.index, d.ID)
			}
		}
	}
	s.inst[id] = next
}

// list returns the documents of ref, ordered by id.
func (s *state) list(ref presence.Ref, hubPath string) []presence.Subscription {
	return filter(ref, hubPath, func(yield func(presence.Subscription) bool) {
		for _, d := range s.index {
			if !yield(d) {
				return
			}
		}
	}, func(id string) (presence.Subscription, bool) {
		d, ok := s.index[id]
		return d, ok
	})
}

// filter selects the documents of ref from all (or, for ScopeOne, from
// one), ordered by id.
func filter(ref presence.Ref, hubPath string, all func(func(presence.Subscription) bool), one func(id string) (presence.Subscription, bool)) []presence.Subscription {
	if ref.Scope == presence.ScopeOne {
		if d, ok := one(ref.Key.Topic(hubPath)); ok {
			return []presence.Subscription{d}
		}
		return nil
	}
	var out []presence.Subscription
	for d := range all {
		if ref.Scope == presence.ScopeMatch && (d.MatchType != ref.Key.MatchType || d.Match != ref.Key.Match) {
			continue
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b presence.Subscription) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func inactive(docs []presence.Subscription) []presence.Subscription {
	out := make([]presence.Subscription, len(docs))
	for i, d := range docs {
		out[i] = inactiveOne(d)
	}
	return out
}

func inactiveOne(d presence.Subscription) presence.Subscription {
	d.Active = false
	return d
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// newToken returns a random claim token.
func newToken() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
