package mercure

import (
	"crypto/rand"
	"encoding/hex"
)

// NewID returns a random URN UUID (version 4, RFC 9562, from
// crypto/rand), the form of every id this project's hubs make: event ids
// (an IRI, as §"Publication" asks of hub-generated ids, and opaque, as
// §"Authorization on Event Replay" recommends) and subscriber ids
// (§"Subscription Events").
func NewID() string {
	var u [16]byte
	rand.Read(u[:])         // never fails (Go 1.24+): it panics instead
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	b := make([]byte, len("urn:uuid:")+36)
	copy(b, "urn:uuid:")
	h := b[len("urn:uuid:"):]
	hex.Encode(h[0:8], u[0:4])
	h[8] = '-'
	hex.Encode(h[9:13], u[4:6])
	h[13] = '-'
	hex.Encode(h[14:18], u[6:8])
	h[18] = '-'
	hex.Encode(h[19:23], u[8:10])
	h[23] = '-'
	hex.Encode(h[24:], u[10:])
	return string(b)
}
