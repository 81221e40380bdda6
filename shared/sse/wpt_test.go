package sse_test

import (
	"strings"
	"testing"

	"github.com/edge-sse/edge-sse/shared/sse"
)

// The web-platform-tests eventsource/format-*.any.js and *.window.js tests
// (https://github.com/web-platform-tests/wpt/tree/master/eventsource) as
// byte streams, with the events WHATWG HTML §9.2.6 makes of them.
//
// Most tests fetch resources/message.py, which sends its "message" parameter,
// then "\n\n" unless newline=none, then "\n". last-event-id.py sends
// "id: <idvalue>\nretry: 200\ndata: hello\n\n" to a fresh client and
// "data: <Last-Event-ID>\n\n" to a reconnecting one; last-event-id2.py sends
// a fixed stream per "type". A test that checks what happens after a
// reconnection gets a second case whose Config.LastEventID is what the
// client would send. The mime tests check the Content-Type, which is not the
// parser's business; their cases check that the default body parses.

// wptMessage is the body of resources/message.py for message and newline.
func wptMessage(message string, newlineNone bool) string {
	if newlineNone {
		return message + "\n"
	}
	return message + "\n\n\n"
}

// wptLastEventID is the body of resources/last-event-id.py.
func wptLastEventID(idvalue, lastEventID string) string {
	if lastEventID != "" {
		return "data: " + lastEventID + "\n\n"
	}
	return "id: " + idvalue + "\nretry: 200\ndata: hello\n\n"
}

// wptLong is format-comments' longstring: (new Array(2*1024+1)).join("x").
var wptLong = strings.Repeat("x", 2*1024)

var wptCases = []parseCase{
	// format-bom.any.js: one BOM is stripped; the second event's line starts
	// with U+FEFF, so its field is "\uFEFFdata" and is ignored.
	{name: "format-bom", in: wptMessage("\uFEFFdata:1\n\n\uFEFFdata:2\n\ndata:3", false),
		want: []item{msg("1", ""), msg("3", "")}},
	// format-bom-2.any.js: of two leading BOMs only the first is stripped.
	{name: "format-bom-2", in: wptMessage("\uFEFF\uFEFFdata:1\n\ndata:2\n\ndata:3", false),
		want: []item{msg("2", ""), msg("3", "")}},
	// format-comments.any.js: comments with NUL and 2 KiB comments amid data
	// lines, CR, LF and CRLF.
	{name: "format-comments", in: wptMessage("data:1\r:\x00\n:\r\ndata:2\n:"+wptLong+"\rdata:3\n:data:fail\r:"+wptLong+"\ndata:4\n", true),
		want: []item{msg("1\n2\n3\n4", "")}},
	// format-data-before-final-empty-line.any.js: the second block has no
	// blank line, so it is discarded and its id never applies; after the
	// reconnection (with no Last-Event-ID) the same body gives the same events.
	{name: "format-data-before-final-empty-line", in: wptMessage("retry:1000\ndata:test1\n\nid:test\ndata:test2", true),
		want: []item{retry(1000), msg("test1", "")}},
	// format-field-data.any.js.
	{name: "format-field-data", in: wptMessage("data:\n\ndata\ndata\n\ndata:test", false),
		want: []item{msg("", ""), msg("\n", ""), msg("test", "")}},
	// format-field-event-empty.any.js: "event: " is an empty type.
	{name: "format-field-event-empty", in: wptMessage("event: \ndata:data", false),
		want: []item{msg("data", "")}},
	// format-field-event.any.js.
	{name: "format-field-event", in: wptMessage("event:test\ndata:x\n\ndata:x", false),
		want: []item{ev("test", "x", ""), msg("x", "")}},
	// format-field-id.any.js and format-field-id-2.any.js: the id "…" is
	// sent back as Last-Event-ID and persists into events without an id.
	{name: "format-field-id", in: wptLastEventID("…", ""),
		want: []item{retry(200), msg("hello", "…")}, lastID: "…"},
	{name: "format-field-id (reconnected)", in: wptLastEventID("…", "…"), cfg: sse.Config{LastEventID: "…"},
		want: []item{msg("…", "…")}, lastID: "…"},
	// format-field-id-3.window.js with last-event-id2.py types 1, 2 and 3.
	{name: "format-field-id-3 persists", in: "id: 1\ndata: 1\n\ndata: 2\n\nid: 2\ndata:3\n\ndata:4\n\n",
		want: []item{msg("1", "1"), msg("2", "1"), msg("3", "2"), msg("4", "2")}, lastID: "2"},
	{name: "format-field-id-3 resets", in: "id: 1\ndata: 1\n\nid:\ndata:2\n\ndata:3\n\n",
		want: []item{msg("1", "1"), msg("2", ""), msg("3", "")}},
	{name: "format-field-id-3 resets without colon", in: "id: 1\ndata: 1\n\nid\ndata:2\n\ndata:3\n\n",
		want: []item{msg("1", "1"), msg("2", ""), msg("3", "")}},
	// format-field-id-null.window.js: an id containing NUL is ignored, so
	// lastEventId stays "" and the reconnection sends none.
	{name: "format-field-id-null %00%00", in: wptLastEventID("\x00\x00", ""), want: []item{retry(200), msg("hello", "")}},
	{name: "format-field-id-null x%00", in: wptLastEventID("x\x00", ""), want: []item{retry(200), msg("hello", "")}},
	{name: "format-field-id-null %00x", in: wptLastEventID("\x00x", ""), want: []item{retry(200), msg("hello", "")}},
	{name: "format-field-id-null x%00x", in: wptLastEventID("x\x00x", ""), want: []item{retry(200), msg("hello", "")}},
	{name: "format-field-id-null %20%00", in: wptLastEventID(" \x00", ""), want: []item{retry(200), msg("hello", "")}},
	// format-field-parsing.any.js: NUL in data, two spaces, case, NUL in
	// field names, "da-ta", "data_5", an empty data line, a leading space.
	{name: "format-field-parsing", in: wptMessage("data:\x00\ndata:  2\rData:1\ndata\x00:2\ndata:1\r\x00data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n", true),
		want: []item{msg("\x00\n 2\n1\n3\n\n4", "")}},
	// format-field-retry-bogus.any.js: "1000x" is ignored, so 3000 stands.
	{name: "format-field-retry-bogus", in: wptMessage("retry:3000\nretry:1000x\ndata:x", false),
		want: []item{retry(3000), msg("x", "")}},
	// format-field-retry-empty.any.js: "retry" with no value is ignored.
	{name: "format-field-retry-empty", in: wptMessage("retry\ndata:test", false),
		want: []item{msg("test", "")}},
	// format-field-retry.any.js: "03000" is decimal 3000, not octal.
	{name: "format-field-retry", in: wptMessage("retry:03000\ndata:x", false),
		want: []item{retry(3000), msg("x", "")}},
	// format-field-unknown.any.js.
	{name: "format-field-unknown", in: wptMessage("data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test", false),
		want: []item{msg("test\n\ntest", "")}},
	// format-leading-space.any.js: a tab is kept; "data: " is empty; one CR
	// line ending.
	{name: "format-leading-space", in: wptMessage("data:\ttest\rdata: \ndata:test", false),
		want: []item{msg("\ttest\n\ntest", "")}},
	// format-mime-bogus.any.js, format-mime-trailing-semicolon.any.js and
	// format-mime-valid-bogus.any.js: the default body "data: data".
	{name: "format-mime-* default body", in: wptMessage("data: data", false),
		want: []item{msg("data", "")}},
	// format-newlines.any.js: CRLF, LF, then a blank line "\r" whose LF is
	// the one message.py appends, so only one event is dispatched.
	{name: "format-newlines", in: wptMessage("data:test\r\ndata\ndata:test\r\n\r", true),
		want: []item{msg("test\n\ntest", "")}},
	// format-null-character.any.js.
	{name: "format-null-character", in: wptMessage("data:\x00\n\n", false),
		want: []item{msg("\x00", "")}},
	// format-utf-8.any.js: the stream is UTF-8 whatever charset the
	// Content-Type names.
	{name: "format-utf-8", in: wptMessage("data:ok\xE2\x80\xA6", false),
		want: []item{msg("ok…", "")}},
}

func TestWPTFormat(t *testing.T) {
	for _, tc := range wptCases {
		t.Run(tc.name, func(t *testing.T) {
			checkParse(t, []byte(tc.in), tc.cfg, result{Items: tc.want, LastEventID: tc.lastID, Err: tc.err})
		})
	}
}
