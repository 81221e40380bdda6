package server

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/edge-sse/edge-sse/origin/hub"
)

// stream writes one long-lived response: a subscription or an edge feed.
// Each batch of writes gets a fresh write deadline, so a client that stops
// reading is disconnected after WriteTimeout instead of pinning its
// goroutine, and ends with one flush.
type stream struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	err     error // the first write error; later writes are skipped
}

func newStream(w http.ResponseWriter, timeout time.Duration) *stream {
	return &stream{w: w, rc: http.NewResponseController(w), timeout: timeout}
}

// begin starts a batch of writes.
func (st *stream) begin() {
	// Not every ResponseWriter supports deadlines (httptest.ResponseRecorder
	// does not); without one a stalled client is still dropped by the hub
	// once its queue fills, and its write fails when the peer goes away.
	_ = st.rc.SetWriteDeadline(time.Now().Add(st.timeout))
}

// write appends b to the batch.
func (st *stream) write(b []byte) {
	if st.err == nil {
		_, st.err = st.w.Write(b)
	}
}

// end flushes the batch and reports the first error of the batch.
func (st *stream) end() error {
	if st.err == nil {
		st.err = st.rc.Flush()
	}
	return st.err
}

// writeQueued writes first and every event already waiting in sub's queue
// as one batch, encoded by enc (the SSE bytes or the frame).
func (st *stream) writeQueued(first *hub.Event, sub *hub.Subscriber, enc func(*hub.Event) []byte) error {
	st.begin()
	st.write(enc(first))
	for n := len(sub.Events()); n > 0 && st.err == nil; n-- {
		st.write(enc(<-sub.Events()))
	}
	return st.end()
}

// flushQueue writes what sub's queue holds, without waiting for more.
func (st *stream) flushQueue(sub *hub.Subscriber, enc func(*hub.Event) []byte) {
	for n := len(sub.Events()); n > 0 && st.err == nil; n-- {
		st.write(enc(<-sub.Events()))
	}
}

// endStream unsubscribes sub when its stream ends and counts what was
// lost: the events still queued, and a stalled client (a write that hit
// WriteTimeout) unless the hub had already dropped it as slow.
func (s *Server) endStream(sub *hub.Subscriber, st *stream) {
	s.hub.Unsubscribe(sub)
	s.dropped.Add(uint64(len(sub.Events())))
	var ne net.Error
	if errors.As(st.err, &ne) && ne.Timeout() && !errors.Is(sub.Err(), hub.ErrSlow) {
		s.stalled.Add(1)
	}
}

func sseBytes(e *hub.Event) []byte   { return e.SSE }
func frameBytes(e *hub.Event) []byte { return e.Frame }

// goodbyeRetry returns the reconnection time told to a subscriber on Drain:
// uniformly random between a quarter of the configured retry and all of it,
// so that the clients of a draining origin do not reconnect all at once.
func (s *Server) goodbyeRetry() time.Duration {
	base := s.cfg.Retry
	if base <= 0 {
		base = DefaultRetry
	}
	lo := base / 4
	return lo + rand.N(base-lo+1)
}

// retryAfter is the Retry-After value, in whole seconds, of a refused
// subscription or feed.
func (s *Server) retryAfter() string {
	return strconv.Itoa(int(max(s.cfg.Retry, time.Second) / time.Second))
}
