package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/shared/frame"
)

// FeedContentType is the media type of the edge feed.
const FeedContentType = "application/vnd.edge-sse.frames"

// feed streams every event, private ones included, to an edge hub as
// shared/frame frames: a Hello, the events after the requested lastEventID
// (or a Gap when that id is unknown), then live events and a Heartbeat
// every Config.Heartbeat.
func (s *Server) feed(w http.ResponseWriter, r *http.Request) {
	if !s.feedAuthorized(r) {
		httpError(w, http.StatusUnauthorized, "edge feed needs Authorization: Bearer <feed secret>")
		return
	}
	after := r.URL.Query().Get("lastEventID")
	sub := hub.NewSubscriber(s.cfg.FeedQueueSize, nil)
	replay, err := s.hub.Subscribe(sub, after)
	if err != nil && !errors.Is(err, hub.ErrUnknownID) {
		httpError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	defer s.hub.Unsubscribe(sub)
	s.feeds.Add(1)
	defer s.feeds.Add(-1)

	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", FeedContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	buf := frame.AppendHello(nil, s.hub.LastEventID())
	if errors.Is(err, hub.ErrUnknownID) {
		buf = frame.AppendGap(buf, after)
	}
	for _, e := range replay {
		buf = append(buf, e.Frame...)
	}
	if _, err := w.Write(buf); err != nil {
		return
	}
	if flusher != nil {
		flusher.Flush()
	}

	heartbeat := time.NewTicker(s.cfg.Heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case e := <-sub.Events():
			if _, err := w.Write(e.Frame); err != nil {
				return
			}
			for n := len(sub.Events()); n > 0; n-- {
				w.Write((<-sub.Events()).Frame)
			}
		case <-heartbeat.C:
			buf = frame.AppendHeartbeat(buf[:0], uint64(time.Now().UnixMilli()))
			if _, err := w.Write(buf); err != nil {
				return
			}
		case <-sub.Done():
			return
		case <-r.Context().Done():
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
}

// gauge is an int64 counter that goes up and down.
type gauge struct{ atomic.Int64 }

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write([]byte(msg + "\n"))
}

func writeJSON(w http.ResponseWriter, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
