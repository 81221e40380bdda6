package auth

import (
	"encoding/json"
	"time"
)

// DetailType is the RFC 9396 authorization detail type of Mercure grants
// (Mercure section "Authorization Details").
const DetailType = "https://mercure.rocks/authorization-detail"

// The actions of a Mercure authorization detail (Mercure section "Mercure
// Actions Registry").
const (
	ActionPublish   = "publish"
	ActionSubscribe = "subscribe"
)

// Limits on the grants of one token, which the Mercure section
// "Authorization Details" asks hubs to bound; a token over them is refused
// with [ErrInvalidClaim].
const (
	// MaxMatchers bounds the topic matchers of one token, publish and
	// subscribe together.
	MaxMatchers = 1000
	// MaxMatchLength bounds the length in bytes of one matcher.
	MaxMatchLength = 4096
)

// MatchType names how a [Matcher] is evaluated (Mercure section "Matcher
// Types").
type MatchType string

// The matcher types a token may carry.
const (
	// MatchExact compares the topic byte for byte (Mercure "Exact
	// Matching"); the default match_type of authorization details.
	MatchExact MatchType = "exact"
	// MatchURLPattern evaluates a WHATWG URL Pattern against the topic,
	// relative to the hub's URL (Mercure "URL Pattern").
	MatchURLPattern MatchType = "urlpattern"
	// MatchSelector is a bare string of the legacy mercure claim: a
	// pre-standardization topic selector, which is the topic itself or an
	// RFC 6570 URI Template matching it. It is never valid as a match_type.
	MatchSelector MatchType = "selector"
)

// Matcher is one topic matcher granted by a token (Mercure section "Topic
// Matcher List"). The Match value "*" matches every topic, whatever Type.
type Matcher struct {
	Match string
	// Type is how Match is evaluated. Verify always sets it; when signing,
	// the zero value means MatchExact in authorization_details and
	// MatchSelector in the legacy mercure claim.
	Type MatchType
	// Payload is the JSON object of the subscribe authorization detail this
	// matcher came from (Mercure section "Payloads"), or nil. The payload of
	// a subscription is that of the first subscribe matcher matching the
	// subscription's own matcher, in order.
	Payload json.RawMessage
}

// Form says which claim a token's grants were read from.
type Form int

// The claim forms. The zero value, FormNone, is a token without Mercure
// grants; such a token may still subscribe to public updates.
const (
	FormNone    Form = iota
	FormDetails      // the authorization_details claim of the current spec
	FormLegacy       // the pre-standardization mercure claim
)

// Claims is what a verified access token says (Mercure sections
// "Authorization" and "Token Validation").
type Claims struct {
	// Form is the claim the grants were read from.
	Form Form
	// Publish lists the matchers of topics the token may publish to
	// (Mercure "Publishers").
	Publish []Matcher
	// Subscribe lists the matchers of topics whose private updates the
	// token may receive (Mercure "Subscribers"), in token order.
	Subscribe []Matcher
	// Payload is the legacy mercure claim's payload, which applies to every
	// subscription of the token; nil in the current form, where payloads
	// are per matcher.
	Payload json.RawMessage

	Issuer   string
	Subject  string
	Audience []string
	// ExpiresAt is the exp claim, zero if the token has none. A hub closes a
	// subscriber's stream no later than this time (Mercure "Subscribers").
	ExpiresAt time.Time
	// NotBefore is the nbf claim, zero if the token has none.
	NotBefore time.Time
}

// CanPublish returns nil when c grants the publish action on at least one
// matcher, [ErrNoMercureClaim] when the token carried no Mercure grant at
// all, and [ErrPublishForbidden] otherwise (Mercure "Publishers"). Whether
// the grants match every topic of an update is for the topic matcher to
// decide; a hub that finds a topic not granted wraps ErrPublishForbidden.
func (c *Claims) CanPublish() error {
	switch {
	case len(c.Publish) > 0:
		return nil
	case c.Form == FormNone:
		return ErrNoMercureClaim
	default:
		return ErrPublishForbidden
	}
}
