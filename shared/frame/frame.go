// Package frame is the binary codec of the origin→edge feed: the stream of
// frames an origin hub sends to each edge hub over one long-lived HTTP
// response.
//
// # Layout
//
// Every frame starts with a fixed five-byte header; all integers are
// big-endian unless noted:
//
//	offset  size  field
//	0       4     Length: bytes after this field (1 + len(body)), at most the reader's MaxSize
//	4       1     Type
//	5       n     body, n = Length - 1
//
// Inside bodies, "uvarint" is encoding/binary's unsigned varint in its
// shortest form (an overlong encoding is malformed) and "str" is a uvarint
// byte count followed by that many bytes.
//
//	Type 1 Hello     Magic "MSSE" | Version uint8 | str LastEventID
//	                 The first frame of every feed. LastEventID is the newest
//	                 event the origin holds (empty when it holds none).
//	Type 2 Event     Flags uint8 (bit 0: private) | uvarint Retry (ms, 0 = none)
//	                 | str ID | str EventType | uvarint topic count | str Topic…
//	                 | str SSE
//	                 SSE is the event already encoded as text/event-stream
//	                 bytes, ending in a blank line, so an edge writes it to
//	                 every matching client as is.
//	Type 3 Heartbeat uint64 unix milliseconds of the origin's clock
//	Type 4 Gap       str ID
//	                 The origin could not resume after ID (unknown or expired);
//	                 the events that follow are live ones, so an edge must not
//	                 claim to its clients that it holds what came before.
//
// A reader skips frames of a type it does not know, so a newer origin may add
// types without breaking older edges; a change to an existing layout bumps
// Version.
package frame

import (
	"encoding/binary"
	"errors"
)

// Magic opens the body of every Hello frame.
const Magic = "MSSE"

// Version is the layout version this package writes and reads.
const Version = 1

// HeaderSize is the size of the length and type fields that start every frame.
const HeaderSize = 5

// DefaultMaxSize is the default bound on a frame's Length field.
const DefaultMaxSize = 2 << 20

// Type identifies the kind of a frame.
type Type uint8

// The frame types of Version 1.
const (
	TypeHello     Type = 1
	TypeEvent     Type = 2
	TypeHeartbeat Type = 3
	TypeGap       Type = 4
)

// String returns the name of a frame type.
func (t Type) String() string {
	switch t {
	case TypeHello:
		return "hello"
	case TypeEvent:
		return "event"
	case TypeHeartbeat:
		return "heartbeat"
	case TypeGap:
		return "gap"
	}
	return "unknown"
}

// FlagPrivate marks an event that only authorized subscribers may receive.
const FlagPrivate = 1 << 0

var (
	// ErrShortBuffer reports that the input ends before the frame does; the
	// caller should read more bytes and try again. Nothing was consumed.
	ErrShortBuffer = errors.New("frame: short buffer, need more bytes")
	// ErrTooLarge reports a Length field above the reader's bound.
	ErrTooLarge = errors.New("frame: frame larger than the size limit")
	// ErrMalformed reports a body that does not follow its type's layout.
	ErrMalformed = errors.New("frame: malformed body")
	// ErrBadMagic reports a Hello frame that does not start with Magic.
	ErrBadMagic = errors.New("frame: hello frame without the MSSE magic; is this an edge feed?")
	// ErrVersion reports a Hello frame of a layout version this package cannot read.
	ErrVersion = errors.New("frame: unsupported feed version")
	// ErrInvalid reports a well-formed frame whose content breaks a rule
	// checked by Validate.
	ErrInvalid = errors.New("frame: invalid content")
)

// Frame is one decoded frame. Byte-slice fields point into the buffer given
// to Decode and stay valid only until that buffer is reused; copy what you
// keep. Fields that a type does not carry are left zero.
type Frame struct {
	Type Type

	// Version is the Hello frame's layout version.
	Version uint8
	// ID is the event id (Event), the origin's newest id as the feed sees
	// it (Hello: every later event arrives on the feed) or the id the
	// origin could not resume after (Gap).
	ID []byte
	// Private is the Event's private flag.
	Private bool
	// Retry is the Event's reconnection time in milliseconds, 0 for none.
	Retry uint64
	// EventType is the Event's SSE event type, empty for "message".
	EventType []byte
	// Topics are the Event's topics; the first is canonical.
	Topics [][]byte
	// SSE is the Event encoded as text/event-stream bytes.
	SSE []byte
	// UnixMilli is the Heartbeat's origin clock.
	UnixMilli uint64
}

// Event is an event to encode into an Event frame.
type Event struct {
	ID      string
	Type    string
	Topics  []string
	Private bool
	Retry   uint64
	// SSE is the event already encoded as text/event-stream bytes.
	SSE []byte
}

func appendStr(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBytes(dst []byte, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// beginFrame appends a header with a zero length and returns the offset of
// the length field, for endFrame to fill in.
func beginFrame(dst []byte, t Type) ([]byte, int) {
	at := len(dst)
	return append(dst, 0, 0, 0, 0, byte(t)), at
}

func endFrame(dst []byte, at int) []byte {
	binary.BigEndian.PutUint32(dst[at:], uint32(len(dst)-at-4))
	return dst
}

// AppendHello appends a Hello frame announcing lastEventID.
func AppendHello(dst []byte, lastEventID string) []byte {
	dst, at := beginFrame(dst, TypeHello)
	dst = append(dst, Magic...)
	dst = append(dst, Version)
	dst = appendStr(dst, lastEventID)
	return endFrame(dst, at)
}

// AppendEvent appends an Event frame for e. It does not validate e; call
// Validate on the decoded frame, or check the event before publishing.
func AppendEvent(dst []byte, e *Event) []byte {
	dst, at := beginFrame(dst, TypeEvent)
	var flags byte
	if e.Private {
		flags |= FlagPrivate
	}
	dst = append(dst, flags)
	dst = binary.AppendUvarint(dst, e.Retry)
	dst = appendStr(dst, e.ID)
	dst = appendStr(dst, e.Type)
	dst = binary.AppendUvarint(dst, uint64(len(e.Topics)))
	for _, t := range e.Topics {
		dst = appendStr(dst, t)
	}
	dst = appendBytes(dst, e.SSE)
	return endFrame(dst, at)
}

// AppendHeartbeat appends a Heartbeat frame carrying the origin's clock.
func AppendHeartbeat(dst []byte, unixMilli uint64) []byte {
	dst, at := beginFrame(dst, TypeHeartbeat)
	dst = binary.BigEndian.AppendUint64(dst, unixMilli)
	return endFrame(dst, at)
}

// AppendGap appends a Gap frame for an id the origin could not resume after.
func AppendGap(dst []byte, id string) []byte {
	dst, at := beginFrame(dst, TypeGap)
	dst = appendStr(dst, id)
	return endFrame(dst, at)
}
