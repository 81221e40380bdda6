package server

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/shared/frame"
	"github.com/edge-sse/edge-sse/shared/mercure"
)

// catchUp serves the bounded catch-up mode of the edge feed (see feed):
// Hello, the Event frames after `after` up to and including `until`, then
// the end of the response; or Hello and a Gap frame for whichever id is
// unknown. It reads the History directly, outside every hub lock, and
// collects the range before writing it, so that a slow edge never holds a
// History read lock while the network blocks.
func (s *Server) catchUp(w http.ResponseWriter, after, until string) {
	switch {
	case after == "" || until == "":
		writeError(w, fail(http.StatusBadRequest, fmt.Errorf("%w: got lastEventID=%q until=%q", ErrCatchUp, after, until)))
		return
	case s.cfg.History == nil:
		writeError(w, fail(http.StatusNotImplemented, fmt.Errorf("%w: this origin was started without one", ErrCatchUp)))
		return
	}
	events, gap, err := s.catchUpRange(after, until)
	if err != nil {
		s.cfg.Logger.Error("edge feed catch-up failed", "after", after, "until", until, "err", err)
		w.Header().Set("Retry-After", s.retryAfter())
		httpError(w, http.StatusServiceUnavailable, "the hub cannot read its history now: "+err.Error())
		return
	}
	s.catchUps.Add(1)
	setFeedHeaders(w)
	w.WriteHeader(http.StatusOK)
	st := newStream(w, s.cfg.WriteTimeout)
	st.begin()
	st.write(frame.AppendHello(nil, s.hub.LastEventID()))
	if gap != "" {
		st.write(frame.AppendGap(nil, gap))
	}
	for _, e := range events {
		st.write(e.Frame)
	}
	st.end()
}

// catchUpRange returns the stored events after `after` up to and including
// `until`, or the id to report in a Gap frame when one of them is unknown
// or expired (also when `after` expires while the range is read).
//
// With after = mercure.Earliest the range starts at the oldest stored event.
func (s *Server) catchUpRange(after, until string) (events []*hub.Event, gap string, err error) {
	if after == mercure.Earliest {
		return s.catchUpOldest(until)
	}
	from, err := s.cfg.History.Lookup(after)
	if errors.Is(err, hub.ErrUnknownID) {
		return nil, after, nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("look up lastEventID: %w", err)
	}
	to, err := s.cfg.History.Lookup(until)
	if errors.Is(err, hub.ErrUnknownID) {
		return nil, until, nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("look up until: %w", err)
	}
	if to <= from {
		return nil, "", nil
	}
	err = s.cfg.History.Range(from, to, func(e *hub.Event) bool {
		events = append(events, e)
		return true
	})
	if errors.Is(err, hub.ErrUnknownID) {
		return nil, after, nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read history: %w", err)
	}
	return events, "", nil
}

// catchUpOldest is catchUpRange from Earliest: every stored event up to and
// including until, or a Gap for until when it is unknown, or for Earliest
// when expiry overtook the read.
func (s *Server) catchUpOldest(until string) (events []*hub.Event, gap string, err error) {
	to, err := s.cfg.History.Lookup(until)
	if errors.Is(err, hub.ErrUnknownID) {
		return nil, until, nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("look up until: %w", err)
	}
	err = s.cfg.History.RangeOldest(to, func(e *hub.Event) bool {
		events = append(events, e)
		return true
	})
	if errors.Is(err, hub.ErrUnknownID) {
		return nil, mercure.Earliest, nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read history: %w", err)
	}
	return events, "", nil
}
