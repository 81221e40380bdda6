// Package history holds the durable hub.History stores of the origin:
//
//   - Bolt, a bbolt file: the origin's default. Events survive restarts,
//     Seqs keep increasing across them, and an id stays refused while its
//     event is held.
//   - Redis, a Redis stream shared by several origin processes, which then
//     act as one hub: an event published to any of them is stored once and
//     delivered by all of them, and a client resumes on any of them.
//
// The in-memory ring is hub.MemoryHistory. Every store keeps each event as a
// record (see record.go): the event's shared/frame Event frame, which
// already carries the id, topics, private flag, type, retry and SSE bytes,
// preceded by the storage time and the data field.
package history

import "errors"

var (
	// ErrClosed reports an operation on a closed store.
	ErrClosed = errors.New("history: closed")
	// ErrCorrupt reports a stored record that does not decode; it was
	// written by something other than this package's encoder.
	ErrCorrupt = errors.New("history: corrupt record")
	// ErrNoID reports an event without an id; the publisher side assigns
	// one before publishing.
	ErrNoID = errors.New("history: event without an id")
	// ErrFormat reports a store written in a layout this version cannot read.
	ErrFormat = errors.New("history: unsupported store format")
)
