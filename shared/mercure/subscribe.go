package mercure

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/topic"
)

// The subscribe contract: what the origin and the edge both do with a
// subscribe request before they register the subscriber, and the headers
// of the stream they then open. Both call Admit and StreamHeaders, so a
// request gets the same answer from either side.

// Earliest is the reserved Last-Event-ID value asking for every update the
// hub still holds (§"Reconciliation"); no published update may carry it as
// its id. It is also the Mercure-Last-Event-ID of a stream with no
// preceding event.
const Earliest = "earliest"

// DefaultMaxLastEventID is the longest Last-Event-ID, in bytes, that
// SubscribePolicy accepts when MaxLastEventID is zero: the origin's default
// bound on the id of a published update, so no id it hands out is longer.
const DefaultMaxLastEventID = 4096

// GrantLimit is the number of topic selectors a grant compiler must allow
// (topic.Config.MaxSelectors): the auth package refuses tokens with more
// matchers, so every token it accepts compiles, at the origin and the edge
// alike.
const GrantLimit = auth.MaxMatchers

var (
	// ErrAnonymous refuses a subscribe request without a token when the
	// hub does not accept anonymous subscribers. It comes with auth.ErrNoToken.
	ErrAnonymous = errors.New("mercure: this hub does not accept anonymous subscribers: send a subscriber token")
	// ErrNoSubscriberKey refuses a token when the hub has no key to verify
	// subscriber tokens with. It comes with auth.ErrUnknownKey.
	ErrNoSubscriberKey = errors.New("mercure: this hub has no key to verify subscriber tokens: subscribe without a token, or configure a subscriber key")
	// ErrLastEventIDTooLong refuses a Last-Event-ID longer than any id the
	// hub hands out.
	ErrLastEventIDTooLong = errors.New("mercure: Last-Event-ID is longer than any event id of this hub: reconnect without it")
	// ErrSeveralAuthorizations refuses a request with several Authorization
	// values; it comes with auth.ErrAuthorizationHeader.
	ErrSeveralAuthorizations = errors.New("mercure: several Authorization values (or one with a comma): send one")
)

// SubscribeRequest is what a subscribe request carries. Each header is
// given as the field's values combined into one, as the Fetch standard's
// Headers.get does it (HeaderValue): a Worker sees nothing else, so the
// origin combines them the same way and both sides answer alike.
type SubscribeRequest struct {
	// Query is the request URL's query.
	Query url.Values
	// LastEventID, Authorization and Cookie are the combined values of
	// those header fields, "" when absent.
	LastEventID, Authorization, Cookie string
	// ResourceMetadata is the URL of the hub's protected resource metadata
	// (MetadataURL) put in WWW-Authenticate challenges, "" for none.
	ResourceMetadata string
}

// HeaderValue combines the values of one header field as Fetch does:
// joined with ", ".
func HeaderValue(values []string) string { return strings.Join(values, ", ") }

// SubscribePolicy is what a hub checks subscribe requests against.
type SubscribePolicy struct {
	// Selectors compiles the subscription's topic selectors; its limits
	// (MaxSelectors, MaxExprLen, …) are the request's.
	Selectors *topic.Compiler
	// Grants compiles a token's subscribe grants; it must allow GrantLimit
	// selectors.
	Grants *topic.Compiler
	// Verifier checks subscriber tokens; nil when the hub has no key, and
	// then every token is refused.
	Verifier *auth.Verifier
	// AllowAnonymous admits requests without a token, for public updates.
	AllowAnonymous bool
	// MaxLastEventID bounds the resume id in bytes (zero:
	// DefaultMaxLastEventID).
	MaxLastEventID int
	// Names are the settings that raise each matching-cost limit, as this
	// side calls them (the origin's flags, the worker's vars): a refusal
	// for cost names the one to raise.
	Names CostNames
}

// CostNames name the settings behind topic.ErrSelectorCost,
// topic.ErrSetCost and topic.ErrHubCost.
type CostNames struct {
	Selector, Subscription, Hub string
}

// Subscription is an admitted subscribe request.
type Subscription struct {
	// Selectors are the topic selectors of the request.
	Selectors *topic.Set
	// Grants are the token's subscribe grants; nil for an anonymous
	// subscriber, who receives no private update.
	Grants *topic.Set
	// Claims is the verified token, nil for an anonymous subscriber.
	Claims *auth.Claims
	// Expires is the token's exp, zero when it has none: the stream must
	// end then (§"Subscribers").
	Expires time.Time
	// Resume is the id to resume after: "" for none, Earliest for every
	// update the hub holds, else an event id.
	Resume string
}

// CanReceive reports whether the subscription may receive an update with
// topics ts (see the function CanReceive).
func (s *Subscription) CanReceive(ts *topic.Topics, private bool) bool {
	return CanReceive(s.Selectors, s.Grants, ts, private)
}

// MatchKey names what CanReceive decides on: the kind and expression of
// each selector and each grant, in order. Two subscriptions of one hub
// with the same key receive the same updates, so a hub may match an
// update once per key (the edge hub does, for its fan-out).
func (s *Subscription) MatchKey() string {
	var b strings.Builder
	writeSet := func(set *topic.Set) {
		if set == nil {
			b.WriteString("-")
			return
		}
		for _, sel := range set.Selectors() {
			fmt.Fprintf(&b, "%d:%d:%s,", sel.Kind(), len(sel.Expr()), sel.Expr())
		}
	}
	writeSet(s.Selectors)
	b.WriteString("|")
	writeSet(s.Grants)
	return b.String()
}

// CanReceiveTopics is CanReceive for topics not prepared with a compiler.
func (s *Subscription) CanReceiveTopics(topics []string, private bool) bool {
	if !s.Selectors.MatchAny(topics) {
		return false
	}
	return !private || (s.Grants != nil && s.Grants.MatchAny(topics))
}

// Refusal is a subscribe request the hub turns down, with the answer to
// send.
type Refusal struct {
	// Status is the HTTP status code.
	Status int
	// Challenge is the WWW-Authenticate value, "" for none.
	Challenge string
	// Err says what was wrong; it wraps the topic, auth or mercure error.
	Err error
	// Retry is set when the same request may succeed later (the hub's
	// matching budget is full): answer with Retry-After.
	Retry bool
}

func (r *Refusal) Error() string { return r.Err.Error() }
func (r *Refusal) Unwrap() error { return r.Err }

// Header sets the refusal's response headers on h: a plain text body that
// no cache keeps, and the challenge.
func (r *Refusal) Header(h http.Header) {
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	if r.Challenge != "" {
		h.Set("WWW-Authenticate", r.Challenge)
	}
}

// Body returns the refusal's response body: the error, on one line.
func (r *Refusal) Body() string { return r.Err.Error() + "\n" }

// Admit checks a subscribe request (Mercure §"Subscription",
// §"Reconciliation", §"Authorization") in this order, and refuses it at
// the first failure:
//
//  1. its topic selectors compile (400; see Selectors);
//  2. its resume id, the Last-Event-ID header, else the last_event_id query
//     parameter, else the pre-standardization lastEventID, is at most
//     MaxLastEventID bytes (400);
//  3. its token, from the Authorization header or else a cookie, is present
//     unless AllowAnonymous, is one Bearer token, verifies, and its grants
//     compile (the status and challenge of auth.Challenge: 400, 401 or 403).
//
// It does not check the hub's capacity, which each side counts itself.
func Admit(p *SubscribePolicy, r SubscribeRequest) (*Subscription, *Refusal) {
	sel, err := Selectors(p.Selectors, r.Query)
	if err != nil {
		return nil, p.selectorRefusal(err)
	}
	resume := ResumeID(r.LastEventID, r.Query)
	max := p.MaxLastEventID
	if max <= 0 {
		max = DefaultMaxLastEventID
	}
	if len(resume) > max {
		sel.Release()
		return nil, &Refusal{Status: http.StatusBadRequest, Err: fmt.Errorf("%w (%d bytes, at most %d)", ErrLastEventIDTooLong, len(resume), max)}
	}
	s := &Subscription{Selectors: sel, Resume: resume}
	if err := p.authorize(s, r); err != nil {
		sel.Release()
		status, challenge := auth.Challenge(err, r.ResourceMetadata)
		return nil, &Refusal{Status: status, Challenge: challenge, Err: err}
	}
	return s, nil
}

// authorize fills s's token fields, or returns an error of the auth
// package (wrapped) for auth.Challenge.
func (p *SubscribePolicy) authorize(s *Subscription, r SubscribeRequest) error {
	if strings.Contains(r.Authorization, ",") {
		// No Bearer token holds a comma: these are combined values.
		return fmt.Errorf("%w: %w", auth.ErrAuthorizationHeader, ErrSeveralAuthorizations)
	}
	token, err := auth.TokenFromRequest(r.Authorization, r.Cookie)
	switch {
	case errors.Is(err, auth.ErrNoToken) && p.AllowAnonymous:
		return nil
	case errors.Is(err, auth.ErrNoToken):
		return fmt.Errorf("%w: %w", ErrAnonymous, err)
	case err != nil:
		return err
	case p.Verifier == nil:
		return fmt.Errorf("%w: %w", auth.ErrUnknownKey, ErrNoSubscriberKey)
	}
	claims, err := p.Verifier.Verify(token)
	if err != nil {
		return err
	}
	grants, err := Grants(p.Grants, claims.Subscribe)
	if err != nil {
		// No partial acceptance (§"Authorization Details").
		return fmt.Errorf("%w: %w", auth.ErrInvalidClaim, err)
	}
	s.Grants, s.Claims, s.Expires = grants, claims, claims.ExpiresAt
	return nil
}

// selectorRefusal answers a selector compile error: 400, or 503 to retry
// later when the hub's matching budget is full (the hub's state, not the
// request's fault: the same request succeeds once costly selectors are
// released). A cost refusal names the setting that raises the limit.
func (p *SubscribePolicy) selectorRefusal(err error) *Refusal {
	no := &Refusal{Status: http.StatusBadRequest, Err: err}
	var name string
	switch {
	case errors.Is(err, topic.ErrSelectorCost):
		name = p.Names.Selector
	case errors.Is(err, topic.ErrSetCost):
		name = p.Names.Subscription
	case errors.Is(err, topic.ErrHubCost):
		name = p.Names.Hub
		no.Status, no.Retry = http.StatusServiceUnavailable, true
	}
	if name != "" {
		no.Err = fmt.Errorf("%w (raise %s)", err, name)
	}
	return no
}

// Release gives back what the subscription's selectors hold in the hub's
// matching registry; call it once the subscription ends or is refused
// after admission. It may be called more than once.
func (s *Subscription) Release() {
	s.Selectors.Release()
	if s.Grants != nil {
		s.Grants.Release()
	}
}

// ResumeID returns the resume id of a subscribe request (§"Reconciliation"):
// the Last-Event-ID header, which takes precedence, else the last_event_id
// query parameter, else the pre-standardization lastEventID one.
func ResumeID(header string, q url.Values) string {
	if header != "" {
		return header
	}
	if v := q.Get("last_event_id"); v != "" {
		return v
	}
	return q.Get("lastEventID")
}

// ExposeHeaders is the Access-Control-Expose-Headers value of a hub's
// subscribe responses: polyfills and fetch-based clients in another origin
// may read the resume anchor (§"Reconciliation"), the discovery link, the
// challenge, and how long a 503 or 429 asks them to wait.
const ExposeHeaders = "Mercure-Last-Event-ID, Last-Event-ID, Link, WWW-Authenticate, Retry-After"

// StreamHeaders sets the headers of an admitted subscription's event
// stream on h (CORS is the caller's). resume is Subscription.Resume and
// found reports whether the hub resumes right after that id (it holds it);
// newest is the id of the newest event before the stream's first live one,
// "" if none.
//
// A request with a resume id gets Mercure-Last-Event-ID, and Last-Event-ID
// for pre-standardization clients (§"Reconciliation"): the id of the event
// before the first one sent, that is resume when found, else Earliest (the
// id was unknown or expired, or resume is Earliest). A request without one
// gets Last-Event-ID: newest, which it can pass back as last_event_id.
func StreamHeaders(h http.Header, resume string, found bool, newest string) {
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	switch {
	case resume != "":
		anchor := resume
		if !found || resume == Earliest {
			anchor = Earliest
		}
		h.Set("Mercure-Last-Event-ID", anchor)
		h.Set("Last-Event-ID", anchor)
	case newest != "":
		h.Set("Last-Event-ID", newest)
	}
}
