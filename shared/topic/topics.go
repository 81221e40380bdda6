package topic

import (
	"sync"
	"sync/atomic"

	"github.com/edge-sse/edge-sse/shared/topic/internal/urlpattern"
)

// Topics is an update's topics, its canonical topic and alternate topics
// (§"Publication"), prepared once for matching against the Sets of every
// subscriber: each topic is parsed against the hub's URL once, when a URL
// pattern first needs it, instead of in every URL pattern match. A Topics
// is safe for concurrent use.
type Topics struct {
	c      *Compiler
	topics []string
	state  []topicState // one per topic
	// reg and memo are set by Registry.Share: memo[e.slot] holds, for the
	// entry e of reg, e.serial<<1 | 1 if it matches, e.serial<<1 if not,
	// and anything else until it has been run.
	reg  *Registry
	memo []atomic.Uint64
}

// topicState is a topic parsed against the hub's URL, set by once (see
// input).
type topicState struct {
	input  urlpattern.Input
	parsed bool
	once   sync.Once
}

// input returns topic i parsed against the hub's URL; ok is false if it is
// not a URL. The first call for a topic parses it.
func (t *Topics) input(i int) (in *urlpattern.Input, ok bool) {
	s := &t.state[i]
	s.once.Do(func() { s.input, s.parsed = t.c.parse(t.topics[i]) })
	return &s.input, s.parsed
}

// matchShared reports whether the interned selector e matches one of t's
// topics, running it at most once per t when t was shared by e's Registry.
// Concurrent callers may both run it; they store the same result.
func (t *Topics) matchShared(e *entry) bool {
	if t.reg != e.reg || e.slot >= len(t.memo) {
		return e.matchTopics(t)
	}
	m := &t.memo[e.slot]
	if v := m.Load(); v>>1 == e.serial {
		return v&1 == 1
	}
	ok := e.matchTopics(t)
	v := e.serial << 1
	if ok {
		v |= 1
	}
	m.Store(v)
	return ok
}

// Prepare prepares an update's topics for Set.MatchTopics. It keeps topics;
// the caller must not modify it afterwards.
func (c *Compiler) Prepare(topics ...string) *Topics {
	if len(topics) == 1 { // most updates: one allocation (an edge hub makes one per event)
		p := new(struct {
			t Topics
			s [1]topicState
		})
		p.t = Topics{c: c, topics: topics, state: p.s[:]}
		return &p.t
	}
	return &Topics{c: c, topics: topics, state: make([]topicState, len(topics))}
}
