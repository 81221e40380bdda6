package presence

import (
	"bytes"
	"encoding/json"

	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/topic"
)

// EventType is the SSE event type of subscription events, the reserved
// "mercure" (§"Subscription Events"): publishers cannot produce it.
const EventType = "mercure"

// The "type" members of the API's documents.
const (
	DocSubscription  = "subscription"
	DocSubscriptions = "subscriptions"
)

// Subscription is the JSON document of one subscription: the data of its
// subscription events and the body of its API URL (§"Subscription
// Events").
type Subscription struct {
	// ID is the subscription's topic (Key.Topic).
	ID         string `json:"id"`
	Type       string `json:"type"`
	MatchType  string `json:"match_type"`
	Match      string `json:"match"`
	Subscriber string `json:"subscriber"`
	Active     bool   `json:"active"`
	// Payload is the payload of the subscriber token's grant that matches
	// the selector (PayloadFor), omitted when none.
	Payload json.RawMessage `json:"payload,omitempty"`
}

// NewSubscription returns the document of subscription k on the hub with
// path hubPath.
func NewSubscription(hubPath string, k Key, active bool, payload json.RawMessage) Subscription {
	return Subscription{
		ID:         k.Topic(hubPath),
		Type:       DocSubscription,
		MatchType:  k.MatchType,
		Match:      k.Match,
		Subscriber: k.Subscriber,
		Active:     active,
		Payload:    payload,
	}
}

// Key returns the subscription's key.
func (s *Subscription) Key() Key {
	return Key{MatchType: s.MatchType, Match: s.Match, Subscriber: s.Subscriber}
}

// JSON returns the document's compact JSON, the data of its event.
func (s *Subscription) JSON() []byte {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // strings, a bool and validated JSON only
	}
	return b
}

// Collection is the JSON document of a collection URL of the API.
type Collection struct {
	// ID is the collection's path (CollectionPath or MatchPath).
	ID            string         `json:"id"`
	Type          string         `json:"type"`
	Subscriptions []Subscription `json:"subscriptions"`
}

// PayloadFor returns the payload of the subscription to the selector
// (kind, expr) by a subscriber with claims (§"Payloads"): the payload of
// the first subscribe grant, in token order, that matches the selector's
// expression taken as a topic ("*" matches every selector); for a token
// in the legacy form, the claim's single payload. It returns nil when
// claims is nil or no grant with a payload matches. Grants are compiled
// with c (the hub's grant compiler); one that does not compile matches
// nothing.
func PayloadFor(c *topic.Compiler, claims *auth.Claims, expr string) json.RawMessage {
	if claims == nil {
		return nil
	}
	if claims.Form == auth.FormLegacy {
		return nonEmpty(claims.Payload)
	}
	for _, m := range claims.Subscribe {
		if !matcherMatches(c, m, expr) {
			continue
		}
		// The first matching grant decides, with or without a payload.
		return nonEmpty(m.Payload)
	}
	return nil
}

func matcherMatches(c *topic.Compiler, m auth.Matcher, expr string) bool {
	if m.Match == "*" {
		return true
	}
	var kind topic.Kind
	switch m.Type {
	case auth.MatchExact:
		return m.Match == expr
	case auth.MatchURLPattern:
		kind = topic.KindURLPattern
	case auth.MatchSelector:
		kind = topic.KindTopic
	default:
		return false
	}
	if m.Match == expr {
		// The spec's own example: a urlpattern grant matches the
		// subscription made with the same pattern.
		return true
	}
	sel, err := c.Compile(kind, m.Match)
	return err == nil && sel.Match(expr)
}

func nonEmpty(p json.RawMessage) json.RawMessage {
	if len(p) == 0 || bytes.Equal(p, []byte("null")) {
		return nil
	}
	return p
}
