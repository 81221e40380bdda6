package mercure

import (
	"errors"
	"fmt"
	"net/url"
	"slices"

	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/topic"
)

var (
	// ErrNoSelector reports a subscribe request without any topic selector.
	ErrNoSelector = errors.New("mercure: no topic selector: add a topic, match or match_urlpattern query parameter (topic=* for all)")
	// ErrEmptySelector reports a selector parameter without a value.
	ErrEmptySelector = errors.New("mercure: empty topic selector: give every topic, match or match_urlpattern parameter a value (topic=* for all)")
	// ErrGrantKind reports a token grant of a matcher type the hub cannot use.
	ErrGrantKind = errors.New("mercure: unsupported matcher type in token grant")
)

// Selectors compiles the topic selectors of a subscribe request's query
// (Mercure §"Subscription"): every topic, match, match_exact and
// match_urlpattern parameter, in order. Unknown parameters in the reserved
// "match" namespace are an error, as are invalid expressions and more
// selectors than the compiler allows; the errors wrap the topic package's
// sentinels and say what was wrong.
func Selectors(c *topic.Compiler, q url.Values) (*topic.Set, error) {
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names) // the same error for the same query, every time
	var specs []topic.Spec
	for _, name := range names {
		kind, ok, err := topic.ParamKind(name)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		for _, v := range q[name] {
			if v == "" {
				return nil, fmt.Errorf("%w: %s=", ErrEmptySelector, name)
			}
			specs = append(specs, topic.Spec{Kind: kind, Expr: v})
		}
	}
	if len(specs) == 0 {
		return nil, ErrNoSelector
	}
	set, err := c.NewSet(specs...)
	if err != nil {
		return nil, fmt.Errorf("compile selectors: %w", err)
	}
	return set, nil
}

// Grants compiles the topic matchers a token grants (its Subscribe or
// Publish claims) into a Set; nil or empty matchers give a Set that matches
// nothing.
func Grants(c *topic.Compiler, matchers []auth.Matcher) (*topic.Set, error) {
	specs := make([]topic.Spec, 0, len(matchers))
	for _, m := range matchers {
		var kind topic.Kind
		switch m.Type {
		case auth.MatchExact:
			kind = topic.KindExact
		case auth.MatchURLPattern:
			kind = topic.KindURLPattern
		case auth.MatchSelector:
			kind = topic.KindTopic
		default:
			return nil, fmt.Errorf("%w: %v", ErrGrantKind, m.Type)
		}
		specs = append(specs, topic.Spec{Kind: kind, Expr: m.Match})
	}
	set, err := c.NewSet(specs...)
	if err != nil {
		return nil, fmt.Errorf("compile grants: %w", err)
	}
	return set, nil
}

// CanReceive reports whether a subscriber whose selectors are sub and whose
// token grants are grant (nil for an anonymous subscriber) may receive an
// update with topics ts (Mercure §"Subscribers"): a selector must match one
// of its topics, and a private update also needs a grant matching one.
func CanReceive(sub, grant *topic.Set, ts *topic.Topics, private bool) bool {
	if !sub.MatchTopics(ts) {
		return false
	}
	return !private || (grant != nil && grant.MatchTopics(ts))
}
