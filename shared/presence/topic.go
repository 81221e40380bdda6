package presence

import (
	"errors"
	"fmt"
	"strings"
)

// SubscriptionsSegment is the path segment after the hub's path that
// starts the subscriptions namespace (§"Subscription Events").
const SubscriptionsSegment = "/subscriptions"

// Escape percent-encodes s for one path segment of a subscription topic,
// as RFC 6570 simple expansion does: every byte except ALPHA, DIGIT, "-",
// ".", "_" and "~" becomes %XX (upper-case hex). s is encoded as a whole
// and exactly once: a "%" it contains becomes "%25" (§"Subscription
// Events" forbids double and partial encoding).
func Escape(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hexUpper = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hexUpper[c>>4], hexUpper[c&15])
	}
	return string(b)
}

// ErrBadEscape reports a path segment with a "%" not followed by two hex
// digits.
var ErrBadEscape = errors.New("presence: malformed percent-encoding in a subscriptions path segment")

// Unescape decodes every %XX of one path segment. It is the inverse of
// Escape, and also accepts segments encoded differently (an unencoded ":",
// lower-case hex): the API finds the same subscription whichever way a
// client writes its path; authorization, though, is on the path as sent.
func Unescape(seg string) (string, error) {
	if strings.IndexByte(seg, '%') < 0 {
		return seg, nil
	}
	b := make([]byte, 0, len(seg))
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		if i+2 >= len(seg) {
			return "", ErrBadEscape
		}
		hi, ok1 := unhex(seg[i+1])
		lo, ok2 := unhex(seg[i+2])
		if !ok1 || !ok2 {
			return "", ErrBadEscape
		}
		b = append(b, hi<<4|lo)
		i += 2
	}
	return string(b), nil
}

func unreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Key names one subscription: one selector of one connection.
type Key struct {
	// MatchType is the selector's kind, topic.Kind.String(): "exact",
	// "urlpattern", or "topic" for a pre-standardization selector.
	MatchType string
	// Match is the selector's expression as the subscriber gave it.
	Match string
	// Subscriber is the connection's id (NewSubscriberID).
	Subscriber string
}

// Topic returns the relative topic of the subscription k on the hub whose
// URL has path hubPath ("/.well-known/mercure" by default):
// hubPath/subscriptions/{match_type}/{match}/{subscriber}, each variable
// escaped once (Escape). It is also the document's id and the path of the
// API URL of that one subscription.
func (k Key) Topic(hubPath string) string {
	return MatchPath(hubPath, k.MatchType, k.Match) + "/" + Escape(k.Subscriber)
}

// CollectionPath returns the path of the collection of every subscription
// of the hub whose URL has path hubPath.
func CollectionPath(hubPath string) string {
	return strings.TrimSuffix(hubPath, "/") + SubscriptionsSegment
}

// MatchPath returns the path of the collection of the subscriptions of
// one selector (match type and expression).
func MatchPath(hubPath, matchType, match string) string {
	return CollectionPath(hubPath) + "/" + Escape(matchType) + "/" + Escape(match)
}

// Scope says which API resource a path names.
type Scope int

// The three resources of the subscription API (§"Subscription API").
const (
	// ScopeAll is hubPath/subscriptions: every subscription.
	ScopeAll Scope = iota + 1
	// ScopeMatch is hubPath/subscriptions/{match_type}/{match}: the
	// subscriptions of one selector.
	ScopeMatch
	// ScopeOne is hubPath/subscriptions/{match_type}/{match}/{subscriber}:
	// one subscription.
	ScopeOne
)

// Ref is a parsed subscription API path.
type Ref struct {
	Scope Scope
	// Key holds the decoded variables the path has: MatchType and Match
	// for ScopeMatch and ScopeOne, Subscriber for ScopeOne.
	Key Key
}

// ErrNotSubscriptions reports a path outside the subscriptions namespace
// or of another shape than the API's three.
var ErrNotSubscriptions = errors.New("presence: not a subscription API path")

// ParsePath parses escapedPath, a request URL's path as sent (percent
// escapes intact, no query), against the hub path hubPath. It returns
// ErrNotSubscriptions (wrapped) for a path that is none of the three API
// shapes, and ErrBadEscape for a malformed escape.
func ParsePath(hubPath, escapedPath string) (Ref, error) {
	rest, ok := strings.CutPrefix(escapedPath, CollectionPath(hubPath))
	if !ok {
		return Ref{}, ErrNotSubscriptions
	}
	if rest == "" {
		return Ref{Scope: ScopeAll}, nil
	}
	segs := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	if rest[0] != '/' || (len(segs) != 2 && len(segs) != 3) {
		return Ref{}, fmt.Errorf("%w: %q has %d segments after %s, want 2 ({match_type}/{match}) or 3 (…/{subscriber})",
			ErrNotSubscriptions, escapedPath, len(segs), CollectionPath(hubPath))
	}
	var vals [3]string
	for i, s := range segs {
		if s == "" {
			return Ref{}, fmt.Errorf("%w: empty segment in %q", ErrNotSubscriptions, escapedPath)
		}
		v, err := Unescape(s)
		if err != nil {
			return Ref{}, err
		}
		vals[i] = v
	}
	ref := Ref{Scope: ScopeMatch, Key: Key{MatchType: vals[0], Match: vals[1]}}
	if len(segs) == 3 {
		ref.Scope, ref.Key.Subscriber = ScopeOne, vals[2]
	}
	return ref, nil
}
