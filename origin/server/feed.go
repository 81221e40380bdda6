package server

import (
	"crypto/subtle"
	"net/http"
	"time"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/shared/frame"
)

// feed serves FeedPath, the stream an edge hub follows instead of holding
// one connection per browser. It needs "Authorization: Bearer <feed
// secret>" (compared in constant time; 401 when missing or wrong, and
// always when no secret is configured) and carries every event, private
// ones included: the edge hub applies each client's selectors and grants.
// The body is a sequence of shared/frame frames, of media type
// FeedContentType. Two modes:
//
// Live, GET FeedPath?lastEventID=X: a Hello frame with the origin's newest
// id as this feed sees it (every later event comes live on the feed), then
// the Event frames stored after X (after mercure.Earliest: every
// stored event, from the oldest; when X is not empty and unknown or
// expired, a Gap frame for X instead), then live Event frames (at most one
// write of them per Config.FeedCoalesce), with a Heartbeat frame after
// every Config.Heartbeat without one. The response
// ends when the edge leaves, when it falls a whole FeedQueueSize behind
// (it reconnects with the newest id it holds), or on Drain.
//
// Bounded catch-up, GET FeedPath?lastEventID=X&until=Y: for an edge hub
// that must serve a client resuming from an id older than its own replay
// ring. A Hello frame, then the Event frames stored after X up to and
// including Y, then the response ends: no live events, no heartbeats.
// X = mercure.Earliest starts the range at the oldest stored event. When
// X or Y is unknown or expired the Hello is followed by a Gap frame for
// that id, and the response ends; when Y is older than X no event follows
// the Hello. Catch-up reads Config.History and answers 501 without one; X
// and Y are both required (400).
func (s *Server) feed(w http.ResponseWriter, r *http.Request) {
	if !s.feedAuthorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="edge-feed"`)
		writeError(w, fail(http.StatusUnauthorized, ErrFeedUnauthorized))
		return
	}
	if s.isDraining() {
		w.Header().Set("Retry-After", s.retryAfter())
		writeError(w, fail(http.StatusServiceUnavailable, ErrDraining))
		return
	}
	q := r.URL.Query()
	if q.Has("until") {
		s.catchUp(w, q.Get("lastEventID"), q.Get("until"))
		return
	}
	after := q.Get("lastEventID")
	sub := hub.NewSubscriber(s.cfg.FeedQueueSize, nil)
	replay, err := s.hub.Subscribe(sub, after)
	unknown := errUnknown(err)
	if err != nil && !unknown {
		w.Header().Set("Retry-After", s.retryAfter())
		httpError(w, http.StatusServiceUnavailable, "the hub cannot open a feed now: "+err.Error())
		return
	}
	st := newStream(w, s.cfg.WriteTimeout)
	defer s.endStream(sub, st)
	s.feeds.Add(1)
	s.feedsOpened.Add(1)
	defer s.feeds.Add(-1)

	setFeedHeaders(w)
	w.WriteHeader(http.StatusOK)
	st.begin()
	// The Hello names the feed's own position, the id after which its
	// live events start (replay included up to it), not the hub's newest:
	// the fan-out goroutine stores that after offering a batch to every
	// shard, so it may lag or lead what this feed's shard was offered, and
	// an edge hub anchors its ring and its catch-ups at the Hello
	// (TestFeedHelloIsTheFeedsPosition).
	st.write(frame.AppendHello(nil, sub.LastEventID()))
	if unknown {
		st.write(frame.AppendGap(nil, after))
	}
	for _, e := range replay {
		st.write(e.Frame)
	}
	if st.end() != nil {
		return
	}
	s.pumpFrames(st, r, sub)
}

// pumpFrames writes the feed's live frames until the feed ends.
func (s *Server) pumpFrames(st *stream, r *http.Request, sub *hub.Subscriber) {
	heartbeat := time.NewTimer(s.cfg.Heartbeat)
	defer heartbeat.Stop()
	var buf []byte
	var lastWrite time.Time
	for {
		var err error
		select {
		case e := <-sub.Events():
			if !s.coalesceFeed(lastWrite, r) {
				return
			}
			err = st.writeQueued(e, sub, frameBytes)
			lastWrite = time.Now()
		case <-heartbeat.C:
			buf = frame.AppendHeartbeat(buf[:0], uint64(time.Now().UnixMilli()))
			st.begin()
			st.write(buf)
			err = st.end()
		case <-sub.Done():
			st.begin()
			st.flushQueue(sub, frameBytes) // events queued before a drop are still valid
			st.end()
			return
		case <-s.draining:
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

// coalesceFeed waits, when the feed's last write of events was less than
// FeedCoalesce ago, until that much has passed, so that the events
// published meanwhile go out in the same write. It reports false when the
// feed must end meanwhile (the edge left, or a drain).
func (s *Server) coalesceFeed(last time.Time, r *http.Request) bool {
	wait := time.Until(last.Add(s.cfg.FeedCoalesce))
	if s.cfg.FeedCoalesce <= 0 || wait <= 0 {
		return true
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.draining:
		return false
	case <-r.Context().Done():
		return false
	}
}

// feedAuthorized compares the bearer token with the feed secret in
// constant time.
func (s *Server) feedAuthorized(r *http.Request) bool {
	if s.cfg.FeedSecret == "" {
		return false
	}
	got := r.Header.Get("Authorization")
	want := "Bearer " + s.cfg.FeedSecret
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func setFeedHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", FeedContentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
}
