package server

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/mercure"
	"github.com/edge-sse/edge-sse/shared/sse"
	"github.com/edge-sse/edge-sse/shared/topic"
)

// subscribe implements Mercure §"Subscription": a text/event-stream of the
// updates its selectors match and its token may read.
//
// The stream opens with a retry field (the configured reconnection time),
// an empty comment, and, when the resume id is unknown or has left the
// history, the in-band mercure.MissedEventType event; then come the stored
// events after the resume id that the subscriber may see, then live ones,
// with no gap and no duplicate at the switch (the hub guarantees it). A
// resumed request gets the Mercure-Last-Event-ID response header
// (§"Reconciliation"): the resume id, or "earliest" when it is unknown.
// Keep-alive comments follow every Heartbeat without an event.
//
// The stream ends when the client leaves, when the hub drops the
// subscriber (too slow: it resumes with Last-Event-ID), when its token
// expires (§"Subscribers": no later than exp), or on Drain.
func (s *Server) subscribe(w http.ResponseWriter, r *http.Request) {
	if s.isDraining() {
		w.Header().Set("Retry-After", s.retryAfter())
		writeError(w, fail(http.StatusServiceUnavailable, ErrDraining))
		return
	}
	selectors, err := s.selectorSet(r.URL.Query())
	if err != nil {
		s.writeSelectorError(w, err)
		return
	}
	defer selectors.Release()
	grants, expires, err := s.subscriberGrants(r)
	if err != nil {
		writeAuthError(w, err)
		return
	}
	if n := s.streams.Add(1); s.cfg.MaxSubscribers > 0 && n > int64(s.cfg.MaxSubscribers) {
		s.streams.Add(-1)
		w.Header().Set("Retry-After", s.retryAfter())
		writeError(w, fail(http.StatusTooManyRequests, fmt.Errorf("%w (limit %d)", ErrTooManyStreams, s.cfg.MaxSubscribers)))
		return
	}
	defer s.streams.Add(-1)

	resume := lastEventID(r)
	if len(resume) > s.cfg.MaxFieldBytes {
		// Longer than any id this hub accepts: no client of ours sent it.
		httpError(w, http.StatusBadRequest, fmt.Sprintf("Last-Event-ID is %d bytes, longer than any event id (at most %d); reconnect without it", len(resume), s.cfg.MaxFieldBytes))
		return
	}
	sub := hub.NewSubscriber(s.cfg.QueueSize, deliverable(selectors, grants))
	replay, err := s.hub.Subscribe(sub, resume)
	unknown := errUnknown(err)
	if err != nil && !unknown {
		w.Header().Set("Retry-After", s.retryAfter())
		httpError(w, http.StatusServiceUnavailable, "the hub cannot subscribe you now: "+err.Error())
		return
	}
	st := newStream(w, s.cfg.WriteTimeout)
	defer s.endStream(sub, st)

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	if resume != "" {
		anchor := resume
		if unknown {
			anchor = earliest
		}
		h.Set("Mercure-Last-Event-ID", anchor)
		h.Set("Last-Event-ID", anchor) // the pre-standardization name
	} else if last := sub.LastEventID(); last != "" {
		// The event right before this subscriber's live stream, exactly.
		h.Set("Last-Event-ID", last) // the newest id, for a later last_event_id
	}
	w.WriteHeader(http.StatusOK)

	st.begin()
	var prelude []byte
	if s.cfg.Retry > 0 {
		prelude = sse.AppendRetry(prelude, int(s.cfg.Retry/time.Millisecond))
	}
	prelude = sse.AppendComment(prelude, "")
	if unknown {
		prelude = mercure.AppendMissed(prelude, mercure.ReasonUnknownID)
	}
	st.write(prelude)
	for _, e := range replay {
		st.write(e.SSE)
	}
	if st.end() != nil {
		return
	}
	s.pumpEvents(st, r, sub, expires)
}

// subscriberGrants verifies the subscriber's token, if any, and compiles
// its subscribe grants. Without a token it returns nil grants when
// AllowAnonymous is set, and an error wrapping auth.ErrNoToken otherwise.
// expires is the token's exp, zero when it has none.
func (s *Server) subscriberGrants(r *http.Request) (grants *topic.Set, expires time.Time, err error) {
	cred, err := authenticate(r, s.cfg.Subscribers)
	if errors.Is(err, auth.ErrNoToken) {
		if s.cfg.AllowAnonymous {
			return nil, time.Time{}, nil
		}
		return nil, time.Time{}, fmt.Errorf("%w: %w", ErrAnonymous, err)
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	grants, err = s.grantSet(cred.claims.Subscribe)
	return grants, cred.claims.ExpiresAt, err
}

// pumpEvents writes the subscriber's events until the stream ends; see
// subscribe.
func (s *Server) pumpEvents(st *stream, r *http.Request, sub *hub.Subscriber, expires time.Time) {
	heartbeat := time.NewTimer(s.cfg.Heartbeat)
	defer heartbeat.Stop()
	var expired <-chan time.Time
	if !expires.IsZero() {
		t := time.NewTimer(time.Until(expires))
		defer t.Stop()
		expired = t.C
	}
	comment := sse.AppendComment(nil, "")
	for {
		var err error
		select {
		case e := <-sub.Events():
			err = st.writeQueued(e, sub, sseBytes)
		case <-heartbeat.C:
			st.begin()
			st.write(comment)
			err = st.end()
		case <-expired:
			return
		case <-sub.Done():
			if errors.Is(sub.Err(), hub.ErrClosed) {
				s.goodbye(st, sub)
			}
			return
		case <-s.draining:
			s.goodbye(st, sub)
			return
		case <-r.Context().Done():
			return
		}
		if err != nil {
			return
		}
		heartbeat.Reset(s.cfg.Heartbeat)
	}
}

// goodbye ends a subscription on shutdown: it writes what the queue holds,
// so that nothing already queued for the client is lost, then a retry
// field with a jittered delay; the caller then closes the stream and the
// client reconnects and resumes with Last-Event-ID.
func (s *Server) goodbye(st *stream, sub *hub.Subscriber) {
	st.begin()
	st.flushQueue(sub, sseBytes)
	st.write(sse.AppendRetry(nil, int(s.goodbyeRetry()/time.Millisecond)))
	st.end()
}
