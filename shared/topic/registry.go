package topic

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Registry interns the costly selectors (URI templates, and URL patterns
// with regular expressions) of the Sets of one hub, so that each distinct
// selector is compiled once, held once in memory, and matched once per
// event however many subscribers hold it, and it bounds their total match
// cost.
//
// Go's regular expressions match in time linear in the topic, but the
// factor is the size of the program: a 3.6 KB template runs for a tenth of
// a second on a 4 KB topic. Matching is paid for every event, so the cost
// a subscriber may impose on the hub is bounded three times: per selector
// and per Set (Config.MaxSelectorCost, Config.MaxSetCost, checked at
// compile time), and per hub, here: the distinct costly selectors held by
// all Sets together may cost at most the Registry's maximum. An event then
// costs at most that maximum per topic in regular expressions, plus a
// memo lookup per subscriber, whatever the subscribers send.
//
// A Registry is safe for concurrent use.
type Registry struct {
	maxCost int64

	mu      sync.Mutex
	entries map[entryKey]*entry
	cost    int64
	// slots maps a memo slot to the entry using it (nil when free); free
	// lists the free slots. serial numbers entries, never reused, so a
	// memo slot's result is never read for a later entry of the same slot.
	slots  []*entry
	free   []int
	serial uint64
}

// entryKey identifies a compiled selector: the hub URL is the base of
// relative URL patterns.
type entryKey struct {
	hubURL string
	spec   Spec
}

// entry is an interned selector. Only refs changes after creation, under
// the Registry's lock.
type entry struct {
	reg    *Registry
	key    entryKey
	sel    Selector
	refs   int
	slot   int
	serial uint64
}

// NewRegistry returns a Registry whose distinct selectors may cost at most
// maxCost together (see Selector.Cost); zero or less means
// DefaultMaxHubCost.
func NewRegistry(maxCost int64) *Registry {
	return &Registry{maxCost: orDefault(maxCost, DefaultMaxHubCost), entries: make(map[entryKey]*entry)}
}

// Shared returns a Compiler like c whose Sets hold their costly selectors
// in r: NewSet reuses a selector another Set holds, refuses with ErrHubCost
// a Set whose new costly selectors would take r over its maximum, and the
// Set's Release gives them back.
func (c *Compiler) Shared(r *Registry) *Compiler {
	cc := *c
	cc.reg = r
	return &cc
}

// RegistryStats describes what a Registry holds.
type RegistryStats struct {
	// Selectors is the number of distinct costly selectors held, Cost their
	// total match cost and MaxCost its bound.
	Selectors     int
	Cost, MaxCost int64
}

// Stats returns what r holds.
func (r *Registry) Stats() RegistryStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return RegistryStats{Selectors: len(r.entries), Cost: r.cost, MaxCost: r.maxCost}
}

// Share returns t with a memo of the results of r's selectors: a shared
// selector is run against t's topics by the first Set that needs it, and
// the other Sets holding it read its result. Prepare each event's topics
// once and Share them for its fan-out; the memo takes 8 bytes per selector
// r holds, so drop the shared Topics after the fan-out. Selectors interned
// after Share are matched without the memo. While r holds no selector it
// returns t itself: a memo would have nothing to keep, and the copy is an
// allocation per event in every fan-out (the bench's bursts of 1,000
// events to plain topics spent ≈ 4 µs of Go per client write in Share and
// the collections its allocations brought on, perf stacks).
func (r *Registry) Share(t *Topics) *Topics {
	r.mu.Lock()
	n := len(r.slots)
	r.mu.Unlock()
	if n == 0 {
		return t
	}
	shared := *t
	shared.reg = r
	shared.memo = make([]atomic.Uint64, n)
	return &shared
}

// acquire takes a reference to each of specs that r holds for hubURL.
func (r *Registry) acquire(hubURL string, specs []Spec) map[Spec]*entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	var got map[Spec]*entry
	for _, spec := range specs {
		e := r.entries[entryKey{hubURL, spec}]
		if e == nil {
			continue
		}
		if got == nil {
			got = make(map[Spec]*entry)
		}
		if _, dup := got[spec]; !dup {
			e.refs++
			got[spec] = e
		}
	}
	return got
}

// intern adds fresh, selectors compiled by one NewSet that r did not hold
// when it acquired held, and returns every entry the Set holds. Selectors
// that another Set interned meanwhile are reused. If the new ones would
// take r over its maximum, every reference is released and the error
// wraps ErrHubCost.
func (r *Registry) intern(hubURL string, held map[Spec]*entry, fresh []Selector) ([]*entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if held == nil {
		held = make(map[Spec]*entry, len(fresh))
	}
	var added int64
	for _, sel := range fresh {
		spec := Spec{sel.kind, sel.expr}
		if _, dup := held[spec]; dup {
			continue
		}
		key := entryKey{hubURL, spec}
		e := r.entries[key]
		if e == nil {
			if r.cost+sel.cost > r.maxCost {
				need := added + sel.cost
				r.releaseLocked(held)
				return nil, fmt.Errorf("%w: the hub's costly selectors cost %d to match against a topic, this subscription's new ones %d more, at most %d",
					ErrHubCost, r.cost, need, r.maxCost)
			}
			e = r.addLocked(key, sel)
			added += sel.cost
		}
		e.refs++
		held[spec] = e
	}
	entries := make([]*entry, 0, len(held))
	for _, e := range held {
		entries = append(entries, e)
	}
	return entries, nil
}

// addLocked creates the entry of sel, with no reference, and charges it.
func (r *Registry) addLocked(key entryKey, sel Selector) *entry {
	r.serial++
	e := &entry{reg: r, key: key, sel: sel, serial: r.serial}
	if n := len(r.free); n > 0 {
		e.slot = r.free[n-1]
		r.free = r.free[:n-1]
		r.slots[e.slot] = e
	} else {
		e.slot = len(r.slots)
		r.slots = append(r.slots, e)
	}
	r.entries[key] = e
	r.cost += sel.cost
	return e
}

// release drops the references of held; r may be nil.
func (r *Registry) release(held map[Spec]*entry) {
	if r == nil || len(held) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.releaseLocked(held)
}

func (r *Registry) releaseLocked(held map[Spec]*entry) {
	for _, e := range held {
		r.dropLocked(e)
	}
}

// releaseEntries drops one reference to each of entries.
func (r *Registry) releaseEntries(entries []*entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range entries {
		r.dropLocked(e)
	}
}

// dropLocked drops a reference to e and frees it with the last one.
func (r *Registry) dropLocked(e *entry) {
	e.refs--
	if e.refs > 0 {
		return
	}
	delete(r.entries, e.key)
	r.cost -= e.sel.cost
	r.slots[e.slot] = nil
	r.free = append(r.free, e.slot)
}

// matchTopics runs the entry's selector against every topic of t.
func (e *entry) matchTopics(t *Topics) bool {
	for i, topic := range t.topics {
		switch {
		case e.sel.template != nil:
			// A template is also the topic equal to it (KindTopic).
			if topic == e.sel.expr || e.sel.template.MatchString(topic) {
				return true
			}
		default:
			if in, ok := t.input(i); ok && e.sel.pattern.Match(in) {
				return true
			}
		}
	}
	return false
}
