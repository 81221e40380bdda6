package topic

import (
	"fmt"
	"strings"
)

// Kind is how a selector's expression is interpreted: a Mercure topic matcher
// type (§"Matcher Types") or the pre-standardization topic selector.
type Kind uint8

// The kinds of selector. The zero Kind is not valid.
const (
	// KindExact is the "exact" matcher type: the expression matches the topic
	// equal to it, byte for byte (§"Exact Matching").
	KindExact Kind = iota + 1
	// KindURLPattern is the "urlpattern" matcher type: the expression is a
	// URL pattern, relative ones resolved against the hub's URL (§"URL
	// Pattern").
	KindURLPattern
	// KindTopic is the pre-standardization "topic" selector: the expression
	// matches the topic equal to it and, if it is a URI Template (RFC 6570),
	// every topic matching the template (§"Changes from Pre-Standardization
	// Deployments").
	KindTopic
)

// String returns the canonical matcher type name ("exact", "urlpattern"), or
// "topic" for KindTopic.
func (k Kind) String() string {
	switch k {
	case KindExact:
		return "exact"
	case KindURLPattern:
		return "urlpattern"
	case KindTopic:
		return "topic"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// ParseKind returns the kind named by the "match_type" member of a topic
// matcher object (§"Topic Matcher List"). Names are case-sensitive; a member
// that is absent means KindExact, which the caller decides.
func ParseKind(matchType string) (Kind, error) {
	switch matchType {
	case "exact":
		return KindExact, nil
	case "urlpattern":
		return KindURLPattern, nil
	}
	return 0, fmt.Errorf("%w, not %q", ErrUnknownKind, matchType)
}

// ParamKind returns the kind of selector a subscribe query parameter carries
// (§"Subscription"): "match" and "match_exact" carry KindExact,
// "match_urlpattern" KindURLPattern and the pre-standardization "topic"
// KindTopic. ok is false for parameters that carry no selector. Any other
// name in the reserved "match" namespace (starting with "match" in any case)
// returns ErrUnknownParam, which the hub must answer with 400.
func ParamKind(name string) (kind Kind, ok bool, err error) {
	switch name {
	case "match", "match_exact":
		return KindExact, true, nil
	case "match_urlpattern":
		return KindURLPattern, true, nil
	case "topic":
		return KindTopic, true, nil
	}
	if len(name) >= len("match") && strings.EqualFold(name[:len("match")], "match") {
		return 0, false, fmt.Errorf("%w, not %q", ErrUnknownParam, name)
	}
	return 0, false, nil
}
