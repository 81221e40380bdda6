package sse

import (
	"errors"
	"strconv"
)

// Errors returned by the encoder (AppendEvent, Event.Validate) and by the
// Parser. Test for them with errors.Is; the Parser wraps the limit errors with
// the limit that was exceeded.
var (
	// ErrInvalidID reports an event id containing CR, LF or NUL, which would
	// break the id line or be ignored by clients (WHATWG HTML §9.2.6).
	ErrInvalidID = errors.New("sse: invalid id: an id must not contain CR, LF or NUL; send an id without line breaks or NUL")
	// ErrInvalidType reports an event type containing CR, LF or NUL, which
	// would break the event line.
	ErrInvalidType = errors.New("sse: invalid event type: a type must not contain CR, LF or NUL; send a type without line breaks or NUL")
	// ErrInvalidRetry reports a negative reconnection time.
	ErrInvalidRetry = errors.New("sse: invalid retry: the reconnection time must be a number of milliseconds >= 0 (0 writes no retry field)")
	// ErrLineTooLong reports a line longer than Config.MaxLineSize.
	ErrLineTooLong = errors.New("sse: line too long: send shorter lines or raise Config.MaxLineSize")
	// ErrEventTooLarge reports a data buffer larger than Config.MaxEventSize.
	ErrEventTooLarge = errors.New("sse: event too large: send less data per event or raise Config.MaxEventSize")

	// errBadRead reports an io.Reader returning an impossible count.
	errBadRead = errors.New("sse: reader returned an invalid count")
)

// wrappedError puts context in front of a wrapped error, as fmt.Errorf with
// %w would, without importing fmt (and through it os) into the package.
type wrappedError struct {
	msg string
	err error
}

func (e *wrappedError) Error() string { return e.msg }
func (e *wrappedError) Unwrap() error { return e.err }

// limitError returns err, a limit sentinel, with the limit it stands for.
func limitError(err error, limit int) error {
	return &wrappedError{msg: err.Error() + " (limit " + strconv.Itoa(limit) + " bytes)", err: err}
}

// readError wraps an error of the stream's io.Reader.
func readError(err error) error {
	return &wrappedError{msg: "sse: read event stream: " + err.Error(), err: err}
}
