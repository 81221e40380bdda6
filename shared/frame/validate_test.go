package frame_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/edge-sse/edge-sse/shared/frame"
)

func TestValidate(t *testing.T) {
	ok := frame.Event{ID: "urn:uuid:1", Type: "update", Topics: []string{"https://example.com/a"}, SSE: []byte("id: urn:uuid:1\ndata: x\n\n")}
	event := func(edit func(e *frame.Event)) []byte {
		e := ok
		e.Topics = append([]string(nil), ok.Topics...)
		edit(&e)
		return frame.AppendEvent(nil, &e)
	}
	tests := []struct {
		name    string
		in      []byte
		wantErr error // nil: valid
		wantMsg string
	}{
		{name: "event/valid", in: event(func(*frame.Event) {})},
		{name: "event/empty type is message", in: event(func(e *frame.Event) { e.Type = "" })},
		{name: "event/private with retry", in: event(func(e *frame.Event) { e.Private, e.Retry = true, 1000 })},
		{name: "event/data with CRLF inside", in: event(func(e *frame.Event) { e.SSE = []byte("data: a\r\ndata: b\r\n\n") })},
		{name: "event/blank line only", in: event(func(e *frame.Event) { e.SSE = []byte("\n\n") })},
		{name: "event/empty id", in: event(func(e *frame.Event) { e.ID = "" }), wantErr: frame.ErrInvalid, wantMsg: "empty id"},
		{name: "event/CR in id", in: event(func(e *frame.Event) { e.ID = "1\rdata: forged" }), wantErr: frame.ErrInvalid, wantMsg: "in id"},
		{name: "event/LF in id", in: event(func(e *frame.Event) { e.ID = "1\ndata: forged" }), wantErr: frame.ErrInvalid, wantMsg: "in id"},
		{name: "event/NUL in id", in: event(func(e *frame.Event) { e.ID = "1\x00" }), wantErr: frame.ErrInvalid, wantMsg: "in id"},
		{name: "event/CR in type", in: event(func(e *frame.Event) { e.Type = "a\r" }), wantErr: frame.ErrInvalid, wantMsg: "in type"},
		{name: "event/LF in type", in: event(func(e *frame.Event) { e.Type = "a\nid: 2" }), wantErr: frame.ErrInvalid, wantMsg: "in type"},
		{name: "event/NUL in type", in: event(func(e *frame.Event) { e.Type = "\x00" }), wantErr: frame.ErrInvalid, wantMsg: "in type"},
		{name: "event/no topic", in: event(func(e *frame.Event) { e.Topics = nil }), wantErr: frame.ErrInvalid, wantMsg: "no topic"},
		{name: "event/empty SSE", in: event(func(e *frame.Event) { e.SSE = nil }), wantErr: frame.ErrInvalid, wantMsg: "blank line"},
		{name: "event/SSE without blank line", in: event(func(e *frame.Event) { e.SSE = []byte("data: x\n") }), wantErr: frame.ErrInvalid, wantMsg: "blank line"},
		{name: "event/SSE without any line end", in: event(func(e *frame.Event) { e.SSE = []byte("data: x") }), wantErr: frame.ErrInvalid, wantMsg: "blank line"},
		// The edge writes SSE to clients as is and the origin's encoder ends
		// every event with LF LF, so Validate accepts only that ending.
		{name: "event/SSE ending CRLF CRLF", in: event(func(e *frame.Event) { e.SSE = []byte("data: x\r\n\r\n") }), wantErr: frame.ErrInvalid, wantMsg: "blank line"},
		{name: "event/SSE ending CR CR", in: event(func(e *frame.Event) { e.SSE = []byte("data: x\r\r") }), wantErr: frame.ErrInvalid, wantMsg: "blank line"},

		{name: "gap/valid", in: frame.AppendGap(nil, "urn:uuid:old")},
		{name: "gap/without id", in: frame.AppendGap(nil, ""), wantErr: frame.ErrInvalid, wantMsg: "validate gap: empty id"},
		{name: "hello/empty id: the origin holds nothing", in: frame.AppendHello(nil, "")},
		{name: "heartbeat/zero clock", in: frame.AppendHeartbeat(nil, 0)},
		{name: "unknown type", in: rawFrame(42, []byte("x"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var f frame.Frame
			if _, err := frame.Decode(tc.in, frame.DefaultMaxSize, &f); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			err := frame.Validate(&f)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("Validate = %v, want %v saying %q", err, tc.wantErr, tc.wantMsg)
			}
		})
	}
}

// TestValidateChecksEveryByte puts each forbidden byte at each position of
// the id and the type, so that no position escapes the check.
func TestValidateChecksEveryByte(t *testing.T) {
	const base = "abcdefgh"
	for _, bad := range []byte{'\r', '\n', 0} {
		for i := range len(base) + 1 {
			v := base[:i] + string(bad) + base[i:]
			for _, field := range []string{"id", "type"} {
				e := frame.Event{ID: "1", Topics: []string{"t"}, SSE: []byte("data: x\n\n")}
				if field == "id" {
					e.ID = v
				} else {
					e.Type = v
				}
				var f frame.Frame
				if _, err := frame.Decode(frame.AppendEvent(nil, &e), frame.DefaultMaxSize, &f); err != nil {
					t.Fatal(err)
				}
				if err := frame.Validate(&f); !errors.Is(err, frame.ErrInvalid) {
					t.Errorf("%s %q: Validate = %v, want ErrInvalid", field, v, err)
				}
			}
		}
	}
}
