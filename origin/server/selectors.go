package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/shared/mercure"
	"github.com/edge-sse/edge-sse/shared/topic"
)

// selectorSet compiles the topic selectors of a subscribe query with the
// code the edge uses too (shared/mercure.Selectors: "match" and
// "match_exact" (exact), "match_urlpattern" (URL Pattern) and the
// pre-standardization "topic" (the topic itself or a URI Template; "*" for
// all topics in every kind)). A name in the reserved "match" namespace that
// names no supported matcher type, no selector at all, an empty or invalid
// selector, more than MaxSelectors selectors, and selectors that cost more
// than MaxSelectorCost each or MaxSubscriptionCost together to match are
// refused with 400; selectors the hub's matching budget (MaxHubCost) cannot
// take now, with 503. The caller releases the Set when the subscription
// ends.
func (s *Server) selectorSet(q url.Values) (*topic.Set, error) {
	set, err := mercure.Selectors(s.selectors, q)
	if errors.Is(err, topic.ErrHubCost) {
		return nil, fail(http.StatusServiceUnavailable, err)
	}
	if err != nil {
		return nil, fail(http.StatusBadRequest, err)
	}
	return set, nil
}

// writeSelectorError answers a selector or grant compile error, naming the
// flag that raises a cost limit. A full hub budget is the hub's state, not
// the request's fault: it is answered 503 with Retry-After, as other
// capacity limits are, since the same request succeeds once costly
// selectors are released.
func (s *Server) writeSelectorError(w http.ResponseWriter, err error) {
	var flag string
	switch {
	case errors.Is(err, topic.ErrSelectorCost):
		flag = "--max-selector-cost"
	case errors.Is(err, topic.ErrSetCost):
		flag = "--max-subscription-cost"
	case errors.Is(err, topic.ErrHubCost):
		flag = "--max-hub-cost"
		w.Header().Set("Retry-After", s.retryAfter())
	}
	if flag != "" {
		err = fmt.Errorf("%w (the hub's %s)", err, flag)
	}
	writeError(w, err)
}

// deliverable returns the subscriber's match function: an update is
// delivered when a subscription selector matches one of its topics and,
// for a private update, when a subscribe grant of the token matches one of
// its topics too (Mercure §"Subscribers"; anonymous subscribers have no
// grants and never receive private updates). The hub applies it to live
// events and to replayed ones alike (§"Authorization on Event Replay").
// During the hub's fan-out it matches the event's shared prepared topics,
// so that a costly selector held by many subscribers runs once per event.
func deliverable(selectors, grants *topic.Set) func(*hub.Event) bool {
	return func(e *hub.Event) bool {
		if t := e.Prepared(); t != nil {
			return mercure.CanReceive(selectors, grants, t, e.Private)
		}
		if !selectors.MatchAny(e.Topics) {
			return false
		}
		return !e.Private || (grants != nil && grants.MatchAny(e.Topics))
	}
}

// lastEventID returns the resume point of a subscribe request (Mercure
// §"Reconciliation"): the Last-Event-ID header, which takes precedence,
// else the last_event_id query parameter, else the pre-standardization
// lastEventID query parameter.
func lastEventID(r *http.Request) string {
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		return v
	}
	q := r.URL.Query()
	if v := q.Get("last_event_id"); v != "" {
		return v
	}
	return q.Get("lastEventID")
}

// errUnknown reports whether err from Hub.Subscribe means the resume id is
// unknown or expired; the subscriber is then registered without replay.
func errUnknown(err error) bool { return errors.Is(err, hub.ErrUnknownID) }
