package server

import (
	"errors"
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
// selector, and more than MaxSelectors selectors are refused with 400.
func (s *Server) selectorSet(q url.Values) (*topic.Set, error) {
	set, err := mercure.Selectors(s.selectors, q)
	if err != nil {
		return nil, fail(http.StatusBadRequest, err)
	}
	return set, nil
}

// deliverable returns the subscriber's match function: an update is
// delivered when a subscription selector matches one of its topics and,
// for a private update, when a subscribe grant of the token matches one of
// its topics too (Mercure §"Subscribers"; anonymous subscribers have no
// grants and never receive private updates). The hub applies it to live
// events and to replayed ones alike (§"Authorization on Event Replay").
func deliverable(selectors, grants *topic.Set) func(*hub.Event) bool {
	return func(e *hub.Event) bool {
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
