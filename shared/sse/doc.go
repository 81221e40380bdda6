// Package sse encodes and parses Server-Sent Events as defined by the WHATWG
// HTML Standard, section 9.2 "Server-sent events"
// (https://html.spec.whatwg.org/multipage/server-sent-events.html).
//
// The encoder (AppendEvent, AppendComment, AppendRetry) appends the
// text/event-stream wire format (§9.2.5) to a caller's buffer without
// allocating, so a hub can encode each event once and share the bytes with
// every subscriber. It refuses CR, LF and NUL in the id and event fields, and
// splits data on every line ending, so that published input can never inject
// fields into the stream.
//
// The Parser implements §9.2.6 "Interpreting an event stream" exactly: UTF-8
// decoding with U+FFFD for invalid bytes, one leading BOM stripped, CR, LF and
// CRLF line endings in any mix and across read boundaries, comments, the data,
// event, id and retry fields, and dispatch on blank lines. Its line and event
// sizes are bounded, so a hostile stream cannot exhaust memory. The tests
// check it against the web-platform-tests eventsource/format-* suite and, by
// fuzzing, against a literal transcription of §9.2.6.
//
// Where the specification leaves room, the package decides as follows.
//
//   - Invalid UTF-8 becomes one U+FFFD per maximal ill-formed subpart, as the
//     WHATWG Encoding Standard's decoder does, not one per byte as ranging
//     over a Go string does.
//   - A retry value must be non-empty to count: "consists of only ASCII
//     digits" is vacuously true of "", but "" names no integer, and browsers
//     ignore it. A value too large for an int is ignored too.
//   - Config.LastEventID starts both the last event ID buffer and the last
//     event ID string, as a reconnecting EventSource keeps its lastEventId
//     (web-platform-tests format-field-id-2), although §9.2.6 describes the
//     buffer as starting empty for each stream.
//   - The encoder is stricter than the parser: it refuses NUL in the event
//     type, which a parser would accept, so that what it writes means the
//     same to every client. Comments cannot fail: their line breaks start new
//     comment lines, and NUL is harmless in a line that clients ignore.
//
// The package depends on io and a few pure packages only (no fmt, os or net),
// and it builds for native targets, js/wasm and wasip1/wasm.
package sse
