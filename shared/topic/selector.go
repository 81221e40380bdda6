package topic

import (
	"errors"
	"fmt"
	"strings"

	"github.com/edge-sse/edge-sse/shared/topic/internal/boundedre"
	"github.com/edge-sse/edge-sse/shared/topic/internal/uritemplate"
	"github.com/edge-sse/edge-sse/shared/topic/internal/urlpattern"
)

// Selector is one compiled topic selector: a Mercure topic matcher
// (§"Matcher Types") or a pre-standardization topic selector. The zero
// Selector matches nothing.
type Selector struct {
	kind Kind
	expr string
	// all is set for "*", which matches every topic whatever the kind.
	all bool
	// exact is set when the topic equal to expr matches.
	exact bool
	// template matches the expansions of a KindTopic URI Template.
	template *boundedre.Regexp
	// pattern and c match KindURLPattern selectors.
	pattern *urlpattern.Pattern
	c       *Compiler
	// cost bounds the work of matching one topic (see Cost).
	cost int64
}

// Compile compiles one selector of the given kind (§"Matcher Types"), for
// use on its own; its regular expressions may use the whole regexp budget of
// a Set. Use NewSet to compile a subscription's or a token's selectors.
func (c *Compiler) Compile(kind Kind, expr string) (Selector, error) {
	budget := c.maxRegexpSize
	return c.compile(kind, expr, &budget)
}

// compile compiles a selector, charging its regular expressions to budget.
func (c *Compiler) compile(kind Kind, expr string, budget *int) (Selector, error) {
	if kind < KindExact || kind > KindTopic {
		return Selector{}, fmt.Errorf("%w, not %v", ErrUnknownKind, kind)
	}
	if len(expr) > c.maxExprLen {
		return Selector{}, fmt.Errorf("%w: %d bytes, at most %d", ErrExprTooLong, len(expr), c.maxExprLen)
	}
	if !validValue(expr) {
		return Selector{}, ErrInvalidChar
	}
	s := Selector{kind: kind, expr: expr}
	if expr == "*" {
		// The wildcard is recognized before the matcher type (§"Matcher
		// Types").
		s.all = true
		return s, nil
	}
	switch kind {
	case KindExact:
		s.exact = true
	case KindTopic:
		s.exact = true
		// Like the reference hub, only a selector with an expression is tried
		// as a template, and one that does not parse is an exact selector.
		if strings.IndexByte(expr, '{') >= 0 {
			if re, ok := uritemplate.Regexp(expr); ok {
				var err error
				if s.template, err = boundedre.Compile(re, budget); err != nil {
					// The expression is valid; only a size limit of ours or of
					// RE2 (repetition counts above 1000) can refuse it.
					return Selector{}, fmt.Errorf("%w: URI template %.64q", ErrTooComplex, expr)
				}
			}
		}
	case KindURLPattern:
		// The hub's URL is the base URL of relative patterns (§"URL
		// Pattern"); absolute ones are compiled without one. Without a
		// configured hub URL (NoBase), relative patterns are refused.
		var p *urlpattern.Pattern
		var err error
		if c.hubURL == "" {
			p, err = urlpattern.New(expr, "", budget)
		} else {
			p, err = urlpattern.NewRelative(expr, c.hubURL, budget)
		}
		if errors.Is(err, urlpattern.ErrNoProtocol) {
			return Selector{}, fmt.Errorf("%w: %.64q", ErrRelativePattern, expr)
		}
		if errors.Is(err, boundedre.ErrTooComplex) {
			return Selector{}, fmt.Errorf("%w: URL pattern %.64q", ErrTooComplex, expr)
		}
		if err != nil {
			return Selector{}, fmt.Errorf("%w %.64q: %w", ErrInvalidURLPattern, expr, err)
		}
		s.pattern, s.c = p, c
	}
	s.cost = s.matchCost(c.maxTopicLen)
	if err := c.check(s); err != nil {
		return Selector{}, err
	}
	return s, nil
}

// check applies the limits that depend on the Compiler to a selector that
// may have been compiled by another: a Registry shares selectors between
// Compilers of the same hub URL.
func (c *Compiler) check(s Selector) error {
	if len(s.expr) > c.maxExprLen {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrExprTooLong, len(s.expr), c.maxExprLen)
	}
	if s.cost > c.maxSelectorCost {
		return fmt.Errorf("%w: %s %.64q costs %d to match against a %d-byte topic, at most %d",
			ErrSelectorCost, s.kindName(), s.expr, s.cost, c.maxTopicLen, c.maxSelectorCost)
	}
	return nil
}

// matchCost bounds the work of matching a topic of at most n bytes, in
// instruction-bytes: the size of the regular expression program times the
// topic's length (RE2 may run every instruction at every byte), the bytes
// compared for an exact selector.
func (s *Selector) matchCost(n int) int64 {
	switch {
	case s.all:
		return 1
	case s.template != nil:
		return s.template.MatchCost(n) + int64(min(len(s.expr), n))
	case s.pattern != nil:
		return s.pattern.MatchCost(n)
	}
	return int64(min(len(s.expr), n))
}

// costly reports whether matching the selector runs a regular expression,
// the selectors a Registry interns and every event matches once.
func (s *Selector) costly() bool {
	return s.template != nil || (s.pattern != nil && s.pattern.HasRegexp())
}

// kindName names the selector's expression in errors.
func (s *Selector) kindName() string {
	switch {
	case s.template != nil:
		return "URI template"
	case s.pattern != nil:
		return "URL pattern"
	}
	return "topic selector"
}

// Kind returns the selector's kind.
func (s Selector) Kind() Kind { return s.kind }

// Expr returns the selector's expression as it was compiled.
func (s Selector) Expr() string { return s.expr }

// Cost returns the work of matching the selector against one topic as long
// as the Compiler's MaxTopicLen, in instruction-bytes: its regular
// expression's program size times the topic length, the literal prefix it
// starts with counted once per byte (about a nanosecond per unit on a
// current core). Exact selectors and "*" cost a comparison.
func (s Selector) Cost() int64 { return s.cost }

// All reports whether the selector is the wildcard "*".
func (s Selector) All() bool { return s.all }

// Match reports whether the selector matches topic. For a URL pattern it
// parses topic; to match an update against many selectors, prepare it once
// with Compiler.Prepare and use Set.MatchTopics.
func (s Selector) Match(topic string) bool {
	switch {
	case s.all:
		return true
	case s.exact && topic == s.expr:
		return true
	case s.template != nil:
		return s.template.MatchString(topic)
	case s.pattern != nil:
		in, ok := s.c.parse(topic)
		return ok && s.pattern.Match(&in)
	}
	return false
}
