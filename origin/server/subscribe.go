package server

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/edge-sse/edge-sse/origin/hub"
)

// lastEventID returns the resume point of a subscribe request: the
// Last-Event-ID header, else the lastEventID or last_event_id query
// parameter (Mercure §"Reconnection, State Reconciliation and Event Sourcing").
func lastEventID(r *http.Request) string {
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		return v
	}
	q := r.URL.Query()
	if v := q.Get("lastEventID"); v != "" {
		return v
	}
	return q.Get("last_event_id")
}

// subscribe implements Mercure §"Subscription": a text/event-stream of the
// updates matching the requested topics.
func (s *Server) subscribe(w http.ResponseWriter, r *http.Request) {
	topics := r.URL.Query()["topic"]
	if len(topics) == 0 {
		httpError(w, http.StatusBadRequest, "missing topic: add at least one topic query parameter, or topic=* for all")
		return
	}
	if len(topics) > s.cfg.MaxTopics {
		httpError(w, http.StatusBadRequest, fmt.Sprintf("%d topic selectors, at most %d allowed", len(topics), s.cfg.MaxTopics))
		return
	}
	match := matchTopics(topics)
	sub := hub.NewSubscriber(s.cfg.QueueSize, func(e *hub.Event) bool { return !e.Private && match(e.Topics) })
	replay, err := s.hub.Subscribe(sub, lastEventID(r))
	if err != nil && !errors.Is(err, hub.ErrUnknownID) {
		httpError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	defer s.hub.Unsubscribe(sub)

	flusher, _ := w.(http.Flusher)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	h.Set("Last-Event-ID", s.hub.LastEventID())
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(":\n\n"))
	for _, e := range replay {
		w.Write(e.SSE)
	}
	if flusher != nil {
		flusher.Flush()
	}

	heartbeat := time.NewTicker(s.cfg.Heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case e := <-sub.Events():
			if _, err := w.Write(e.SSE); err != nil {
				return
			}
			// Write what is already queued before flushing once.
			for n := len(sub.Events()); n > 0; n-- {
				w.Write((<-sub.Events()).SSE)
			}
			if flusher != nil {
				flusher.Flush()
			}
		case <-heartbeat.C:
			if _, err := w.Write([]byte(":\n\n")); err != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		case <-sub.Done():
			return
		case <-r.Context().Done():
			return
		}
	}
}

// matchTopics returns a matcher for exact topics and "*".
func matchTopics(selectors []string) func([]string) bool {
	set := make(map[string]bool, len(selectors))
	for _, t := range selectors {
		if t == "*" {
			return func([]string) bool { return true }
		}
		set[t] = true
	}
	return func(topics []string) bool {
		for _, t := range topics {
			if set[t] {
				return true
			}
		}
		return false
	}
}
