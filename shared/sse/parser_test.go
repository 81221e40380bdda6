package sse_test

import (
	"strings"
	"testing"

	"github.com/edge-sse/edge-sse/shared/sse"
)

// parseCase is one stream and what WHATWG HTML §9.2.6 says a client gets
// from it.
type parseCase struct {
	name   string
	in     string
	cfg    sse.Config
	want   []item
	lastID string // LastEventID at the end
	err    error  // nil, or the error Err must match with errors.Is
}

// small limits used by the limit cases.
var small = sse.Config{MaxLineSize: 16, MaxEventSize: 16}

var parseCases = []parseCase{
	// Lines and dispatch.
	{name: "empty stream", in: ""},
	{name: "blank lines only", in: "\n\r\n\r\n\n"},
	{name: "one event LF", in: "data: x\n\n", want: []item{msg("x", "")}},
	{name: "one event CRLF", in: "data: x\r\n\r\n", want: []item{msg("x", "")}},
	{name: "one event CR", in: "data: x\r\r", want: []item{msg("x", "")}},
	{name: "mixed line endings", in: "data:a\rdata:b\ndata:c\r\n\n", want: []item{msg("a\nb\nc", "")}},
	{name: "CRLF counted once", in: "data:a\r\n\r\ndata:b\r\n\r\n", want: []item{msg("a", ""), msg("b", "")}},
	{name: "LF CR is two line endings", in: "data:a\n\rdata:b\n\n", want: []item{msg("a", ""), msg("b", "")}},
	{name: "two events", in: "data:1\n\ndata:2\n\n", want: []item{msg("1", ""), msg("2", "")}},
	{name: "data lines joined with LF", in: "data:1\ndata:2\ndata:3\n\n", want: []item{msg("1\n2\n3", "")}},
	{name: "empty data field dispatches", in: "data:\n\n", want: []item{msg("", "")}},
	{name: "data field without colon", in: "data\n\n", want: []item{msg("", "")}},
	{name: "two empty data lines", in: "data\ndata\n\n", want: []item{msg("\n", "")}},
	{name: "unterminated last event discarded", in: "data:1\n\ndata:2\n", want: []item{msg("1", "")}},
	{name: "unterminated last line discarded", in: "data:1\n\ndata:2", want: []item{msg("1", "")}},
	{name: "block without data dispatches nothing", in: "event:x\n\ndata:y\n\n", want: []item{msg("y", "")}},
	{name: "NUL in data kept", in: "data:\x00a\x00\n\n", want: []item{msg("\x00a\x00", "")}},

	// Field parsing.
	{name: "one leading space removed", in: "data:  x \n\n", want: []item{msg(" x ", "")}},
	{name: "no space", in: "data:x\n\n", want: []item{msg("x", "")}},
	{name: "tab is not a space", in: "data:\tx\n\n", want: []item{msg("\tx", "")}},
	{name: "value keeps later colons", in: "data: a:b: c\n\n", want: []item{msg("a:b: c", "")}},
	{name: "comment ignored", in: ":data:x\n: hi\ndata:y\n\n", want: []item{msg("y", "")}},
	{name: "comment alone dispatches nothing", in: ":ping\n\n", want: nil},
	{name: "unknown fields ignored", in: "foo:bar\njust text\ndata:x\n\n", want: []item{msg("x", "")}},
	{name: "field names are case-sensitive", in: "Data:x\nDATA:y\ndata:z\n\n", want: []item{msg("z", "")}},
	{name: "space before colon makes another field", in: "data :x\n data:y\ndata:z\n\n", want: []item{msg("z", "")}},

	// event.
	{name: "event type", in: "event: add\ndata:x\n\n", want: []item{ev("add", "x", "")}},
	{name: "empty event type is message", in: "event:\ndata:x\n\n", want: []item{msg("x", "")}},
	{name: "event type reset after dispatch", in: "event:a\ndata:1\n\ndata:2\n\n", want: []item{ev("a", "1", ""), msg("2", "")}},
	{name: "last event type wins", in: "event:a\nevent:b\ndata:x\n\n", want: []item{ev("b", "x", "")}},
	{name: "event type message", in: "event:message\ndata:x\n\n", want: []item{msg("x", "")}},

	// id.
	{name: "id", in: "id: 1\ndata:x\n\n", want: []item{msg("x", "1")}, lastID: "1"},
	{name: "id persists", in: "id:1\ndata:a\n\ndata:b\n\n", want: []item{msg("a", "1"), msg("b", "1")}, lastID: "1"},
	{name: "empty id resets", in: "id:1\ndata:a\n\nid:\ndata:b\n\n", want: []item{msg("a", "1"), msg("b", "")}},
	{name: "id without colon resets", in: "id:1\ndata:a\n\nid\ndata:b\n\n", want: []item{msg("a", "1"), msg("b", "")}},
	{name: "id with NUL ignored", in: "id:1\ndata:a\n\nid:2\x00\ndata:b\n\n", want: []item{msg("a", "1"), msg("b", "1")}, lastID: "1"},
	{name: "id keeps extra space", in: "id:  7\ndata:x\n\n", want: []item{msg("x", " 7")}, lastID: " 7"},
	{name: "id in block without data", in: "id:5\n\ndata:x\n\n", want: []item{msg("x", "5")}, lastID: "5"},
	{name: "id only stream", in: "id:5\n\n", lastID: "5"},
	{name: "id of unterminated block not applied", in: "data:x\n\nid:9\ndata:y\n", want: []item{msg("x", "")}},
	{name: "id set after data in block", in: "data:x\nid:3\n\n", want: []item{msg("x", "3")}, lastID: "3"},
	{name: "starting last event ID", in: "data:a\n\nid\n\n", cfg: sse.Config{LastEventID: "41"}, want: []item{msg("a", "41")}},
	{name: "starting last event ID kept", in: "data:a\n\n", cfg: sse.Config{LastEventID: "41"}, want: []item{msg("a", "41")}, lastID: "41"},

	// retry.
	{name: "retry", in: "retry: 3000\n", want: []item{retry(3000)}},
	{name: "retry leading zeros", in: "retry:03000\n", want: []item{retry(3000)}},
	{name: "retry zero", in: "retry:0\n", want: []item{retry(0)}},
	{name: "retry before event", in: "retry:10\ndata:x\n\n", want: []item{retry(10), msg("x", "")}},
	{name: "retry inside event", in: "data:x\nretry:10\ndata:y\n\n", want: []item{retry(10), msg("x\ny", "")}},
	{name: "retry in unterminated block applies", in: "retry:10\ndata:x", want: []item{retry(10)}},
	{name: "retry two spaces ignored", in: "retry:  10\n", want: nil},
	{name: "retry trailing space ignored", in: "retry:10 \n", want: nil},
	{name: "retry letters ignored", in: "retry:1000x\nretry:x\n", want: nil},
	{name: "retry negative ignored", in: "retry:-1\n", want: nil},
	{name: "retry plus ignored", in: "retry:+1\n", want: nil},
	{name: "retry empty ignored", in: "retry:\nretry\n", want: nil},
	{name: "retry non-ASCII digit ignored", in: "retry:１\n", want: nil},
	{name: "retry overflow ignored", in: "retry:99999999999999999999999\n", want: nil},

	// UTF-8 and BOM (WHATWG Encoding "UTF-8 decode").
	{name: "BOM stripped", in: "\uFEFFdata:x\n\n", want: []item{msg("x", "")}},
	{name: "second BOM kept", in: "\uFEFF\uFEFFdata:x\n\ndata:y\n\n", want: []item{msg("y", "")}},
	{name: "BOM after first line kept", in: "data:x\n\n\uFEFFdata:y\n\n", want: []item{msg("x", "")}},
	{name: "BOM in value kept", in: "data:\uFEFFx\n\n", want: []item{msg("\uFEFFx", "")}},
	{name: "partial BOM is not a BOM", in: "\xEF\xBBdata:x\n\ndata:y\n\n", want: []item{msg("y", "")}},
	{name: "BOM alone", in: "\uFEFF"},
	{name: "BOM then blank line", in: "\uFEFF\n\ndata:x\n\n", want: []item{msg("x", "")}},
	{name: "multibyte UTF-8", in: "data:ok… ✓ 😀\n\n", want: []item{msg("ok… ✓ 😀", "")}},
	{name: "invalid byte replaced", in: "data:a\xFFb\n\n", want: []item{msg("a\uFFFDb", "")}},
	{name: "truncated sequence is one U+FFFD", in: "data:\xE2\x80A\n\n", want: []item{msg("\uFFFDA", "")}},
	{name: "truncated at line end", in: "data:\xF0\x9F\x98\n\n", want: []item{msg("\uFFFD", "")}},
	{name: "overlong is one U+FFFD per byte", in: "data:\xC0\xAF\n\n", want: []item{msg("\uFFFD\uFFFD", "")}},
	{name: "surrogate is one U+FFFD per byte", in: "data:\xED\xA0\x80\n\n", want: []item{msg("\uFFFD\uFFFD\uFFFD", "")}},
	{name: "invalid UTF-8 in type and id", in: "event:\xFF\nid:\xE2\x80\ndata:x\n\n", want: []item{ev("\uFFFD", "x", "\uFFFD")}, lastID: "\uFFFD"},
	{name: "invalid field name ignored", in: "dat\xE1:x\ndata:y\n\n", want: []item{msg("y", "")}},

	// Limits.
	{name: "line at limit", in: "data:0123456789a\n\n", cfg: small, want: []item{msg("0123456789a", "")}},
	{name: "line over limit", in: "data:x\n\ndata:0123456789ab\n\n", cfg: small, want: []item{msg("x", "")}, err: sse.ErrLineTooLong},
	{name: "unterminated line over limit", in: "data:x\n\ndata:0123456789abcdef", cfg: small, want: []item{msg("x", "")}, err: sse.ErrLineTooLong},
	{name: "comment over limit", in: ":0123456789abcdef\n", cfg: small, err: sse.ErrLineTooLong},
	{name: "event at limit", in: "data:0123456\ndata:0123456\n\n", cfg: small, want: []item{msg("0123456\n0123456", "")}},
	{name: "event over limit", in: "data:1\n\ndata:01234567\ndata:0123456\n\n", cfg: small, want: []item{msg("1", "")}, err: sse.ErrEventTooLarge},
	{name: "U+FFFD counts against the event limit", in: "data:\xFF\xFF\xFF\xFF\xFF\xFF\n\n", cfg: small, err: sse.ErrEventTooLarge},
	{name: "default limits allow a 60 KiB line", in: "data:" + strings.Repeat("x", 60<<10) + "\n\n", want: []item{msg(strings.Repeat("x", 60<<10), "")}},
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			checkParse(t, []byte(tc.in), tc.cfg, result{Items: tc.want, LastEventID: tc.lastID, Err: tc.err})
		})
	}
}
