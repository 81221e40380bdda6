package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/shared/frame"
	"github.com/edge-sse/edge-sse/shared/mercure"
	"github.com/edge-sse/edge-sse/shared/sse"
)

// reservedTypes are the SSE event types a publisher may not use: "mercure"
// is reserved for the hub's subscription events (Mercure §"Publication",
// §"Reserved Hub Namespace"), and mercure.MissedEventType is the in-band
// notice this hub sends itself.
var reservedTypes = []string{"mercure", mercure.MissedEventType}

// earliest is the reserved Last-Event-ID value asking for the whole history
// (Mercure §"Reconciliation"); no update may carry it as its id.
const earliest = "earliest"

// eventFromForm validates the fields of a publish form (Mercure
// §"Publication") and builds the event, encoded once as SSE bytes and as an
// edge feed frame. Every refusal is a requestError: 413 for too many topics
// or a field over MaxFieldBytes, 400 otherwise. Unknown fields are ignored.
//
// The id, type and retry fields end up on the SSE wire, so any control
// character in id or type, CR, LF and NUL included, refuses the update
// rather than being escaped (Mercure §"Server-Sent Events Field
// Injection"); data is split into one data line per line by the encoder.
func (s *Server) eventFromForm(f url.Values) (*hub.Event, error) {
	topics := f["topic"]
	switch {
	case len(topics) == 0:
		return nil, fail(http.StatusBadRequest, ErrMissingTopic)
	case len(topics) > s.cfg.MaxTopics:
		return nil, fail(http.StatusRequestEntityTooLarge, fmt.Errorf("%w: %d topics, at most %d", ErrTooManyTopics, len(topics), s.cfg.MaxTopics))
	}
	for _, t := range topics {
		if err := s.checkLength("topic", t); err != nil {
			return nil, err
		}
		if err := s.selectors.CheckTopic(t); err != nil {
			return nil, fail(http.StatusBadRequest, fmt.Errorf("%w %.80q: %w", ErrInvalidTopic, t, err))
		}
	}
	e := &hub.Event{ID: f.Get("id"), Topics: topics, Type: f.Get("type"), Data: f.Get("data")}
	_, e.Private = f["private"] // presence alone marks the update private, whatever its value

	if err := s.checkLength("id", e.ID); err != nil {
		return nil, err
	}
	if e.ID != "" && (!validValue(e.ID) || strings.HasPrefix(e.ID, "#") || e.ID == earliest) {
		return nil, fail(http.StatusBadRequest, fmt.Errorf("%w, not %.80q", ErrInvalidID, e.ID))
	}
	if e.ID == "" {
		e.ID = mercure.NewID()
	}
	if err := s.checkLength("type", e.Type); err != nil {
		return nil, err
	}
	if !validValue(e.Type) {
		return nil, fail(http.StatusBadRequest, fmt.Errorf("%w, not %.80q", ErrInvalidType, e.Type))
	}
	for _, t := range reservedTypes {
		if e.Type == t {
			return nil, fail(http.StatusBadRequest, fmt.Errorf("%w: %q", ErrReservedType, t))
		}
	}
	if !utf8.ValidString(e.Data) {
		return nil, fail(http.StatusBadRequest, ErrInvalidData)
	}
	if v := f.Get("retry"); v != "" {
		n, err := strconv.ParseUint(v, 10, 31) // ASCII digits only, no sign, below 2^31
		if err != nil {
			return nil, fail(http.StatusBadRequest, fmt.Errorf("%w, not %.80q", ErrInvalidRetry, v))
		}
		e.Retry = n
	}

	b, err := sse.AppendEvent(nil, sse.Event{ID: e.ID, Type: e.Type, Data: e.Data, Retry: int(e.Retry)})
	if err != nil { // unreachable after the checks above; kept as the last guard
		return nil, fail(http.StatusBadRequest, err)
	}
	e.SSE = b
	e.Frame = frame.AppendEvent(nil, &frame.Event{
		ID: e.ID, Type: e.Type, Topics: e.Topics, Private: e.Private, Retry: e.Retry, SSE: b,
	})
	return e, nil
}

// checkLength refuses a field longer than MaxFieldBytes with 413 (Mercure
// §"Publication": limits on the length of individual fields).
func (s *Server) checkLength(field, v string) error {
	if len(v) > s.cfg.MaxFieldBytes {
		return fail(http.StatusRequestEntityTooLarge, fmt.Errorf("%w: %s is %d bytes, at most %d", ErrFieldTooLong, field, len(v), s.cfg.MaxFieldBytes))
	}
	return nil
}

// validValue reports whether s satisfies the character constraints Mercure
// puts on topics, ids and types (§"Terminology", §"Publication"): valid
// UTF-8 without C0 (U+0000-U+001F) or C1 (U+0080-U+009F) control
// characters, U+007F, or format characters (general category Cf).
func validValue(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r <= 0x1f || (r >= 0x7f && r <= 0x9f) || unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	return true
}
