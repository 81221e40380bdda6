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
// sizes are bounded, so a hostile stream cannot exhaust memory.
//
// The package is pure Go: it depends on io only, and it builds for native
// targets, js/wasm and wasip1/wasm.
package sse
