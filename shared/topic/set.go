package topic

import (
	"fmt"

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
type Set struct {
	c         *Compiler
	selectors []Selector
	all       bool
	exactList []string
	exactMap  map[string]struct{}
	templates []*boundedre.Regexp
	patterns  []*urlpattern.Pattern
}

// NewSet compiles specs into a Set. It fails with ErrTooManySelectors before
// compiling anything if there are more than the configured maximum, and with
// the first selector's error otherwise. An empty Set matches nothing.
func (c *Compiler) NewSet(specs ...Spec) (*Set, error) {
	if len(specs) > c.maxSelectors {
		return nil, fmt.Errorf("%w: %d, at most %d", ErrTooManySelectors, len(specs), c.maxSelectors)
	}
	s := &Set{c: c, selectors: make([]Selector, 0, len(specs))}
	budget := c.maxRegexpSize
	var exact []string
	for i, spec := range specs {
		sel, err := c.compile(spec.Kind, spec.Expr, &budget)
		if err != nil {
			return nil, fmt.Errorf("compile selector %d: %w", i+1, err)
		}
		s.selectors = append(s.selectors, sel)
		switch {
		case sel.all:
			s.all = true
		case sel.pattern != nil:
			s.patterns = append(s.patterns, sel.pattern)
		}
		if sel.exact {
			exact = append(exact, sel.expr)
		}
		if sel.template != nil {
			s.templates = append(s.templates, sel.template)
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
	if len(s.patterns) == 0 {
		return false
	}
	in, ok := s.c.parse(topic)
	return ok && s.matchInput(&in)
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
// allocate.
func (s *Set) MatchTopics(t *Topics) bool {
	if t.c != s.c {
		// Prepared against another hub URL: parse again.
		return s.MatchAny(t.topics)
	}
	for i, topic := range t.topics {
		if s.matchString(topic) || (t.parsed[i] && s.matchInput(&t.inputs[i])) {
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
