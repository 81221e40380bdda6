package server

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/shared/mercure"
	"github.com/edge-sse/edge-sse/shared/presence"
	"github.com/edge-sse/edge-sse/shared/sse"
)

// subscribe implements Mercure §"Subscription": a text/event-stream of the
// updates its selectors match and its token may read.
//
// Admission is the subscribe contract the edge applies too
// (mercure.Admit: selectors, resume id, token); then the hub's capacity
// (429, MaxSubscribers). The stream opens with the headers of
// mercure.StreamHeaders (a resumed request gets Mercure-Last-Event-ID: the
// resume id, or "earliest" when it is unknown or when it was "earliest"),
// a retry field (the configured reconnection time), an empty comment, and,
// when the resume id is unknown or has left the history, the in-band
// mercure.MissedEventType event; then come the stored events after the
// resume id (after "earliest": every stored event) that the subscriber may
// see, then live ones, with no gap and no duplicate at the switch (the hub
// guarantees it). Keep-alive comments follow every Heartbeat without an
// event.
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
	adm, no := mercure.Admit(&s.policy, s.subscribeRequest(r))
	if no != nil {
		s.writeRefusal(w, no)
		return
	}
	// The selectors' share of the hub's matching registry is given back
	// when the stream ends, however it ends.
	defer adm.Release()
	if n := s.streams.Add(1); s.cfg.MaxSubscribers > 0 && n > int64(s.cfg.MaxSubscribers) {
		s.streams.Add(-1)
		w.Header().Set("Retry-After", s.retryAfter())
		writeError(w, fail(http.StatusTooManyRequests, fmt.Errorf("%w (limit %d)", ErrTooManyStreams, s.cfg.MaxSubscribers)))
		return
	}
	defer s.streams.Add(-1)

	sub := hub.NewSubscriber(s.cfg.QueueSize, deliverable(adm))
	replay, err := s.hub.Subscribe(sub, adm.Resume)
	unknown := errUnknown(err)
	if err != nil && !unknown {
		w.Header().Set("Retry-After", s.retryAfter())
		httpError(w, http.StatusServiceUnavailable, "the hub cannot subscribe you now: "+err.Error())
		return
	}
	st := newStream(w, s.cfg.WriteTimeout)
	defer s.endStream(sub, st)
	if s.tracker != nil {
		// One id per connection, from the hub, never from the client
		// (§"Subscription Events"); its subscriptions end with the stream,
		// however it ends.
		id := presence.NewSubscriberID()
		s.tracker.Connect(id, s.directTopics(adm))
		defer s.tracker.Disconnect(id)
	}

	// sub.LastEventID is the event right before this subscriber's live
	// stream, exactly.
	mercure.StreamHeaders(w.Header(), adm.Resume, !unknown, sub.LastEventID())
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
	s.pumpEvents(st, r, sub, adm.Expires)
}

// subscribeRequest is what mercure.Admit reads of r: each header's values
// combined as a Worker sees them, so the edge and the origin answer alike.
func (s *Server) subscribeRequest(r *http.Request) mercure.SubscribeRequest {
	return mercure.SubscribeRequest{
		Query:            r.URL.Query(),
		LastEventID:      mercure.HeaderValue(r.Header.Values("Last-Event-ID")),
		Authorization:    mercure.HeaderValue(r.Header.Values("Authorization")),
		Cookie:           mercure.HeaderValue(r.Header.Values("Cookie")),
		ResourceMetadata: s.metadataURL(r),
	}
}

// writeRefusal answers a subscribe request that mercure.Admit refused.
func (s *Server) writeRefusal(w http.ResponseWriter, no *mercure.Refusal) {
	no.Header(w.Header())
	if no.Retry {
		w.Header().Set("Retry-After", s.retryAfter())
	}
	w.WriteHeader(no.Status)
	w.Write([]byte(no.Body()))
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
