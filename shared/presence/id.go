package presence

import (
	"crypto/rand"
	"encoding/hex"
	"strings"

	"github.com/edge-sse/edge-sse/shared/mercure"
)

// SubscriberPrefix starts every subscriber id: a URN (an IRI, as
// §"Subscription Events" recommends) naming a random UUID.
const SubscriberPrefix = "urn:uuid:"

// NewSubscriberID returns a fresh subscriber id: SubscriberPrefix and a
// random (version 4) UUID from crypto/rand. The hub holding a connection
// calls it once per connection; the id never comes from the client
// (§"Subscription Events": subscribers must not supply it).
func NewSubscriberID() string { return mercure.NewID() }

// ValidSubscriberID reports whether s has the form NewSubscriberID gives:
// SubscriberPrefix and a UUID in lower-case hex with hyphens. The origin
// refuses reports whose ids have another form, so an id can never carry
// anything but randomness.
func ValidSubscriberID(s string) bool {
	u, ok := strings.CutPrefix(s, SubscriberPrefix)
	if !ok || len(u) != 36 {
		return false
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// NewInstanceID returns a fresh hub instance id: 32 lower-case hex
// characters from crypto/rand. A hub object (an edge hub, or an origin
// process for its direct subscribers) takes one each time it starts, so
// a restarted hub is a new instance whose leases are its own.
func NewInstanceID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ValidInstanceID reports whether s has the form NewInstanceID gives.
func ValidInstanceID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
