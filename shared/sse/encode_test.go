package sse_test

import (
	"errors"
	"testing"

	"github.com/edge-sse/edge-sse/shared/sse"
)

// encodeCase is one event and its text/event-stream encoding.
type encodeCase struct {
	name string
	in   sse.Event
	want string
	err  error // nil, or the error AppendEvent must return
}

var encodeCases = []encodeCase{
	{name: "data only", in: sse.Event{Data: "hello"}, want: "data: hello\n\n"},
	{name: "empty data still dispatches", in: sse.Event{}, want: "data:\n\n"},
	{name: "all fields", in: sse.Event{ID: "urn:uuid:1", Type: "update", Data: `{"a":1}`, Retry: 2500},
		want: "id: urn:uuid:1\nevent: update\nretry: 2500\ndata: {\"a\":1}\n\n"},
	{name: "id only", in: sse.Event{ID: "7", Data: "x"}, want: "id: 7\ndata: x\n\n"},
	{name: "type only", in: sse.Event{Type: "ping", Data: "x"}, want: "event: ping\ndata: x\n\n"},
	{name: "LF splits data", in: sse.Event{Data: "a\nb"}, want: "data: a\ndata: b\n\n"},
	{name: "CRLF splits data", in: sse.Event{Data: "a\r\nb"}, want: "data: a\ndata: b\n\n"},
	{name: "CR splits data", in: sse.Event{Data: "a\rb"}, want: "data: a\ndata: b\n\n"},
	{name: "mixed line endings", in: sse.Event{Data: "a\r\rb\n\r\nc"}, want: "data: a\ndata:\ndata: b\ndata:\ndata: c\n\n"},
	{name: "trailing line break", in: sse.Event{Data: "a\n"}, want: "data: a\ndata:\n\n"},
	{name: "leading line break", in: sse.Event{Data: "\r\na"}, want: "data:\ndata: a\n\n"},
	{name: "only a line break", in: sse.Event{Data: "\n"}, want: "data:\ndata:\n\n"},
	{name: "leading space kept", in: sse.Event{ID: " 1", Type: " t", Data: " x"}, want: "id:  1\nevent:  t\ndata:  x\n\n"},
	{name: "field-like data stays data", in: sse.Event{Data: "x\nid: 666\nevent: evil\n\ndata: y"},
		want: "data: x\ndata: id: 666\ndata: event: evil\ndata:\ndata: data: y\n\n"},
	{name: "NUL in data allowed", in: sse.Event{Data: "\x00"}, want: "data: \x00\n\n"},
	{name: "colon in id and type", in: sse.Event{ID: "a:b", Type: "c:d", Data: "x"}, want: "id: a:b\nevent: c:d\ndata: x\n\n"},
	{name: "retry 0 writes none", in: sse.Event{Retry: 0, Data: "x"}, want: "data: x\n\n"},
	{name: "LF in id", in: sse.Event{ID: "1\ndata: x"}, err: sse.ErrInvalidID},
	{name: "CR in id", in: sse.Event{ID: "1\r"}, err: sse.ErrInvalidID},
	{name: "NUL in id", in: sse.Event{ID: "1\x00"}, err: sse.ErrInvalidID},
	{name: "LF in type", in: sse.Event{Type: "a\nb"}, err: sse.ErrInvalidType},
	{name: "CR in type", in: sse.Event{Type: "\r"}, err: sse.ErrInvalidType},
	{name: "NUL in type", in: sse.Event{Type: "\x00"}, err: sse.ErrInvalidType},
	{name: "negative retry", in: sse.Event{Retry: -1}, err: sse.ErrInvalidRetry},
}

func TestAppendEvent(t *testing.T) {
	const prefix = "prefix\n"
	for _, tc := range encodeCases {
		t.Run(tc.name, func(t *testing.T) {
			dst := make([]byte, len(prefix), 64)
			copy(dst, prefix)
			got, err := sse.AppendEvent(dst, tc.in)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err == nil && tc.in.Validate() != nil {
				t.Errorf("Validate = %v, but AppendEvent succeeded", tc.in.Validate())
			}
			if !errors.Is(tc.in.Validate(), tc.err) {
				t.Errorf("Validate = %v, want %v", tc.in.Validate(), tc.err)
			}
			want := prefix + tc.want
			if string(got) != want {
				t.Errorf("AppendEvent = %q, want %q", got, want)
			}
		})
	}
}

func TestAppendComment(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ":\n"},
		{"text", "ping", ":ping\n"},
		{"leading space kept", " ping", ": ping\n"},
		{"NUL allowed", "a\x00b", ":a\x00b\n"},
		{"line breaks split", "a\nb\r\nc\rd", ":a\n:b\n:c\n:d\n"},
		{"field-like text stays comment", "x\ndata: evil", ":x\n:data: evil\n"},
		{"trailing line break", "a\n", ":a\n:\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sse.AppendComment([]byte("p"), tc.in); string(got) != "p"+tc.want {
				t.Errorf("AppendComment(%q) = %q, want %q", tc.in, got, "p"+tc.want)
			}
			// A comment must never dispatch or change anything.
			stream := sse.AppendComment(nil, tc.in)
			stream = append(stream, "\n"...)
			if got := parse(bytesReader(stream), sse.Config{}); got.Items != nil || got.Err != nil {
				t.Errorf("parsing the comment gave %v, %v; want nothing", got.Items, got.Err)
			}
		})
	}
}

func TestAppendRetry(t *testing.T) {
	tests := []struct {
		name string
		in   int
		want string
	}{
		{"zero", 0, "retry: 0\n"},
		{"positive", 3000, "retry: 3000\n"},
		{"negative writes nothing", -5, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sse.AppendRetry([]byte("p"), tc.in); string(got) != "p"+tc.want {
				t.Errorf("AppendRetry(%d) = %q, want %q", tc.in, got, "p"+tc.want)
			}
		})
	}
}
