package server

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/edge-sse/edge-sse/shared/mercure"
)

// The errors of the hub endpoint and the edge feed. Each says what was wrong
// and what to send instead; the handlers send it as the plain text body of
// the error response, with the status the Mercure sections "Publication",
// "Subscription" and "Error Responses" give for the case.
var (
	// Publish requests.
	ErrContentType   = errors.New("server: publish body is not application/x-www-form-urlencoded: send the update as a form")
	ErrBodyTooLarge  = errors.New("server: publish body exceeds the hub's size limit: send less data per update")
	ErrForm          = errors.New("server: publish body is not a valid application/x-www-form-urlencoded form")
	ErrMissingTopic  = errors.New("server: missing topic: send at least one topic field")
	ErrTooManyTopics = errors.New("server: too many topic fields in one update: send fewer alternate topics")
	ErrFieldTooLong  = errors.New("server: a topic, id or type field exceeds the hub's length limit: send a shorter value")
	ErrInvalidTopic  = errors.New("server: invalid topic")
	ErrInvalidID     = errors.New("server: invalid id: an id must be valid UTF-8 without control characters (CR, LF, NUL, …) or format characters, must not start with \"#\" and must not be \"earliest\"; send another id or none")
	ErrInvalidType   = errors.New("server: invalid type: a type must be valid UTF-8 without control characters (CR, LF, NUL, …) or format characters; send another type")
	ErrReservedType  = errors.New("server: reserved type: the hub generates events of this type itself; send another type")
	ErrInvalidRetry  = errors.New("server: invalid retry: send a reconnection time in milliseconds, ASCII digits only")
	ErrInvalidData   = errors.New("server: invalid data: the data field must be valid UTF-8")
	ErrDuplicateID   = errors.New("server: an update with this id was already published: send a new id or none")
	ErrCrossOrigin   = errors.New("server: cookie-authorized publish refused by the CSRF check: publish from the hub's origin or one in --publish-origins, or send the token in the Authorization header")

	// Subscribe requests.
	ErrNoSelector       = mercure.ErrNoSelector
	ErrEmptySelector    = mercure.ErrEmptySelector
	ErrTooManyStreams   = errors.New("server: the hub holds its maximum number of subscriptions: retry later")
	ErrAnonymous        = mercure.ErrAnonymous
	ErrNoVerifier       = errors.New("server: this hub is configured with no key for this kind of token")
	ErrDraining         = errors.New("server: the hub is shutting down: reconnect in a moment")
	ErrFeedUnauthorized = errors.New("server: edge feed needs Authorization: Bearer <feed secret>")
	ErrCatchUp          = errors.New("server: bounded catch-up needs lastEventID and until, and an origin configured with its History")
)

// requestError is a client error with the HTTP status to answer it with.
type requestError struct {
	status int
	err    error
}

func (e *requestError) Error() string { return e.err.Error() }
func (e *requestError) Unwrap() error { return e.err }

// fail returns err with the status to send.
func fail(status int, err error) error { return &requestError{status: status, err: err} }

// writeError answers err: its requestError status, or 500.
func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var re *requestError
	if errors.As(err, &re) {
		status = re.status
	}
	httpError(w, status, err.Error())
}

// httpError answers a plain text error message (Mercure §"Error
// Responses" leaves the body of non-token errors to the hub).
func httpError(w http.ResponseWriter, code int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write([]byte(msg + "\n"))
}

func writeJSON(w http.ResponseWriter, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
