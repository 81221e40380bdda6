package sse

import "strings"

// Event is one server-sent event: the fields of one block of the
// text/event-stream format (WHATWG HTML §9.2.5) and the attributes of the
// MessageEvent a client dispatches for it (§9.2.6).
type Event struct {
	// ID is the event's id. AppendEvent writes an "id" field when ID is not
	// empty. Parser.Event sets it to the last event ID string at dispatch,
	// which may come from an earlier block, as EventSource's lastEventId does.
	ID string
	// Type is the event type. AppendEvent writes an "event" field when Type
	// is not empty. Parser.Event sets it to "message" when the stream gave no
	// type, so it is never empty there.
	Type string
	// Data is the payload. AppendEvent writes one "data" field per line of
	// Data, treating CR, LF and CRLF as line breaks; Parser.Event joins the
	// data lines with LF.
	Data string
	// Retry is a reconnection time in milliseconds for AppendEvent to write
	// before the event; 0 writes none. The Parser reports retry fields
	// separately (KindRetry), so Parser.Event leaves Retry 0.
	Retry int
}

// Validate reports whether AppendEvent can encode e: ErrInvalidID or
// ErrInvalidType when ID or Type contains CR, LF or NUL (either would let a
// publisher inject fields, WHATWG HTML §9.2.5), ErrInvalidRetry when Retry is
// negative, and nil otherwise. Data may hold anything; it is split into lines.
func (e Event) Validate() error {
	if strings.ContainsAny(e.ID, "\r\n\x00") {
		return ErrInvalidID
	}
	if strings.ContainsAny(e.Type, "\r\n\x00") {
		return ErrInvalidType
	}
	if e.Retry < 0 {
		return ErrInvalidRetry
	}
	return nil
}
