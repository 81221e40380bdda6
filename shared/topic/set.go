package topic

import (
	"fmt"
	"sync/atomic"

	"github.com/edge-sse/edge-sse/shared/topic/internal/boundedre"
	"github.com/edge-sse/edge-sse/shared/topic/internal/urlpattern"
)

// Spec is the kind and expression of a selector to compile, as a subscribe
// query parameter or a topic matcher object of a token carries it.
type Spec struct {
	Kind Kind
	Expr string
}

// linearExactMax is the number of exact selectors up to which a Set compares
// them one by one instead of hashing.
const linearExactMax = 8

// Set is a compiled list of selectors: a subscription's selectors, or the
// selectors a token grants. It matches a topic when one of its selectors
// does (§"Subscription", §"Subscribers"). A Set is immutable and safe for
// concurrent use.
//
// A Set compiled by a Compiler with a Registry (see Compiler.Shared) holds
// its costly selectors, templates and URL patterns with regular
// expressions, in the Registry, shared with every other Set holding the
// same selector; Release gives them back.
type Set struct {
	c         *Compiler
	selectors []Selector
	all       bool
	exactList []string
	exactMap  map[string]struct{}
	templates []*boundedre.Regexp
	patterns  []*urlpattern.Pattern
	// shared are the costly selectors interned in c.reg.
	shared []*entry
	// cheap is set when selectors other than shared ones are present.
	cheap    bool
	cost     int64
	released atomic.Bool
}

// NewSet compiles specs into a Set. It fails with ErrTooManySelectors before
// compiling anything if there are more than the configured maximum, with
// ErrSetCost if the selectors together cost more than MaxSetCost to match,
// with ErrHubCost if the Compiler's Registry cannot take the new costly
// selectors, and with the first selector's error otherwise. An empty Set
// matches nothing.
func (c *Compiler) NewSet(specs ...Spec) (*Set, error) {
	if len(specs) > c.maxSelectors {
		return nil, fmt.Errorf("%w: %d, at most %d", ErrTooManySelectors, len(specs), c.maxSelectors)
	}
	s := &Set{c: c, selectors: make([]Selector, 0, len(specs))}
	var interned map[Spec]*entry
	if c.reg != nil {
		// Selectors other subscribers hold are neither compiled again nor
		// charged to the regexp budget.
		interned = c.reg.acquire(c.hubURL, specs)
	}
	budget := c.maxRegexpSize
	var exact []string
	var fresh []Selector
	for i, spec := range specs {
		var sel Selector
		if e, ok := interned[spec]; ok {
			sel = e.sel
			if err := c.check(sel); err != nil {
				c.reg.release(interned)
				return nil, fmt.Errorf("compile selector %d: %w", i+1, err)
			}
		} else {
			var err error
			if sel, err = c.compile(spec.Kind, spec.Expr, &budget); err != nil {
				c.reg.release(interned)
				return nil, fmt.Errorf("compile selector %d: %w", i+1, err)
			}
			if c.reg != nil && sel.costly() {
				fresh = append(fresh, sel)
			}
		}
		s.selectors = append(s.selectors, sel)
		s.cost += sel.cost
		switch {
		case sel.all:
			s.all = true
		case c.reg != nil && sel.costly():
			// Matched through the Registry below.
		case sel.pattern != nil:
			s.patterns = append(s.patterns, sel.pattern)
		case sel.template != nil:
			s.templates = append(s.templates, sel.template)
		}
		if sel.exact && !(c.reg != nil && sel.costly()) {
			exact = append(exact, sel.expr)
		}
	}
	s.cheap = s.all || len(exact) > 0 || len(s.templates) > 0 || len(s.patterns) > 0
	if s.cost > c.maxSetCost {
		c.reg.release(interned)
		return nil, fmt.Errorf("%w: %d selectors cost %d to match against a %d-byte topic, at most %d",
			ErrSetCost, len(specs), s.cost, c.maxTopicLen, c.maxSetCost)
	}
	if c.reg != nil {
		var err error
		if s.shared, err = c.reg.intern(c.hubURL, interned, fresh); err != nil {
			return nil, err
		}
	}
	if len(exact) <= linearExactMax {
		s.exactList = exact
	} else {
		s.exactMap = make(map[string]struct{}, len(exact))
		for _, e := range exact {
			s.exactMap[e] = struct{}{}
		}
	}
	return s, nil
}

// Release gives the Set's costly selectors back to the Registry, which
// frees each once no Set holds it. Call it when the subscription or token
// ends; the Set must not be matched afterwards. It is safe to call more
// than once, and does nothing for a Set compiled without a Registry.
func (s *Set) Release() {
	if s == nil || len(s.shared) == 0 || s.released.Swap(true) {
		return
	}
	s.c.reg.releaseEntries(s.shared)
}

// Cost returns the work of matching the Set against one topic as long as
// the Compiler's MaxTopicLen: the sum of its selectors' Cost.
func (s *Set) Cost() int64 { return s.cost }

// All reports whether the Set contains the wildcard "*".
func (s *Set) All() bool { return s.all }

// Len returns the number of selectors in the Set.
func (s *Set) Len() int { return len(s.selectors) }

// Selectors returns the Set's selectors in the order they were given.
func (s *Set) Selectors() []Selector { return append([]Selector(nil), s.selectors...) }

// Match reports whether a selector of the Set matches topic. It does not
// allocate unless the Set has URL patterns, which need topic parsed.
func (s *Set) Match(topic string) bool {
	if s.matchString(topic) {
		return true
	}
	for _, e := range s.shared {
		if e.sel.template != nil && (topic == e.sel.expr || e.sel.template.MatchString(topic)) {
			return true
		}
	}
	if len(s.patterns) == 0 && !s.sharesPatterns() {
		return false
	}
	in, ok := s.c.parse(topic)
	if !ok {
		return false
	}
	if s.matchInput(&in) {
		return true
	}
	for _, e := range s.shared {
		if e.sel.pattern != nil && e.sel.pattern.Match(&in) {
			return true
		}
	}
	return false
}

// sharesPatterns reports whether a URL pattern is among the shared
// selectors.
func (s *Set) sharesPatterns() bool {
	for _, e := range s.shared {
		if e.sel.pattern != nil {
			return true
		}
	}
	return false
}

// MatchAny reports whether a selector of the Set matches one of topics, an
// update's canonical and alternate topics (§"Publication").
func (s *Set) MatchAny(topics []string) bool {
	for _, t := range topics {
		if s.Match(t) {
			return true
		}
	}
	return false
}

// MatchTopics is MatchAny for topics prepared once per update; it does not
// allocate. A shared selector is matched once per Topics that its Registry
// prepared (Registry.Prepare, Registry.Share), whatever the number of Sets
// holding it: the first Set to need it runs it, the others read the result.
func (s *Set) MatchTopics(t *Topics) bool {
	if t.c.hubURL != s.c.hubURL {
		// Prepared against another hub URL: parse again.
		return s.MatchAny(t.topics)
	}
	for i, topic := range t.topics {
		if !s.cheap {
			break
		}
		if s.matchString(topic) {
			return true
		}
		if len(s.patterns) > 0 {
			if in, ok := t.input(i); ok && s.matchInput(in) {
				return true
			}
		}
	}
	for _, e := range s.shared {
		if t.matchShared(e) {
			return true
		}
	}
	return false
}

// matchString matches the selectors that need only the topic string.
func (s *Set) matchString(topic string) bool {
	if s.all {
		return true
	}
	if s.exactMap != nil {
		if _, ok := s.exactMap[topic]; ok {
			return true
		}
	} else {
		for _, e := range s.exactList {
			if e == topic {
				return true
			}
		}
	}
	for _, re := range s.templates {
		if re.MatchString(topic) {
			return true
		}
	}
	return false
}

// matchInput matches the URL patterns against a parsed topic.
func (s *Set) matchInput(in *urlpattern.Input) bool {
	for _, p := range s.patterns {
		if p.Match(in) {
			return true
		}
	}
	return false
}
