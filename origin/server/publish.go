package server

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/shared/frame"
	"github.com/edge-sse/edge-sse/shared/sse"
)

// publish implements Mercure §"Publication": a form-encoded POST whose
// response body is the id of the stored event.
func (s *Server) publish(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("publish body larger than %d bytes", s.cfg.MaxBodyBytes))
			return
		}
		httpError(w, http.StatusBadRequest, "publish body is not a valid application/x-www-form-urlencoded form: "+err.Error())
		return
	}
	e, err := s.eventFromForm(r)
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := s.hub.Publish(e); err != nil {
		if errors.Is(err, hub.ErrDuplicateID) {
			httpError(w, http.StatusConflict, fmt.Sprintf("an event with id %q was already published; send a new id or none", e.ID))
			return
		}
		s.cfg.Logger.Error("publish failed", "err", err)
		httpError(w, http.StatusServiceUnavailable, "the hub could not store the event: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte(e.ID))
}

// eventFromForm builds and encodes an event from the publish form fields
// topic (repeatable), data, id, type, retry and private.
func (s *Server) eventFromForm(r *http.Request) (*hub.Event, error) {
	f := r.PostForm
	topics := f["topic"]
	if len(topics) == 0 {
		return nil, errors.New("missing topic: send at least one topic form field")
	}
	if len(topics) > s.cfg.MaxTopics {
		return nil, fmt.Errorf("%d topics, at most %d allowed per update", len(topics), s.cfg.MaxTopics)
	}
	for _, t := range topics {
		if t == "" {
			return nil, errors.New("empty topic: every topic field needs a value")
		}
	}
	e := &hub.Event{
		ID:     f.Get("id"),
		Topics: topics,
		Type:   f.Get("type"),
		Data:   f.Get("data"),
	}
	if e.ID == "" {
		e.ID = newID()
	}
	if v := f.Get("retry"); v != "" {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("retry %q is not a number of milliseconds", v)
		}
		e.Retry = n
	}
	if v := f.Get("private"); v != "" {
		e.Private = v != "off" && v != "false" && v != "0"
	}
	sseBytes, err := sse.AppendEvent(nil, sse.Event{ID: e.ID, Type: e.Type, Data: e.Data, Retry: int(e.Retry)})
	if err != nil {
		return nil, fmt.Errorf("invalid event: %w", err)
	}
	e.SSE = sseBytes
	e.Frame = frame.AppendEvent(nil, &frame.Event{
		ID: e.ID, Type: e.Type, Topics: e.Topics, Private: e.Private, Retry: e.Retry, SSE: sseBytes,
	})
	return e, nil
}

// newID returns a random URN UUID (version 4), the id form Mercure hubs use.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	var sb strings.Builder
	sb.WriteString("urn:uuid:")
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			sb.WriteByte('-')
		}
		sb.WriteByte(hex[c>>4])
		sb.WriteByte(hex[c&0xf])
	}
	return sb.String()
}
