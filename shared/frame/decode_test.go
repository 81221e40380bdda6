package frame_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/edge-sse/edge-sse/shared/frame"
)

// decodeCase is one input to Decode with either the frame it must give (in
// describe's format) or the error it must match with errors.Is.
type decodeCase struct {
	name    string
	in      []byte
	maxSize int // 0 means frame.DefaultMaxSize
	want    string
	wantN   int // bytes taken; 0 means len(in)
	wantErr error
}

func decodeCases() []decodeCase {
	hello := helloBody(frame.Magic, frame.Version, "")
	event := eventBody(0, 0, "1", "", []string{"t"}, "data: x\n\n")
	return []decodeCase{
		// The header.
		{name: "header/empty input", in: nil, wantErr: frame.ErrShortBuffer},
		{name: "header/length only", in: []byte{0, 0, 0, 9}, wantErr: frame.ErrShortBuffer},
		{name: "header/zero length", in: withLength(0, byte(frame.TypeEvent)), wantErr: frame.ErrMalformed},
		{name: "header/zero length with bytes after", in: withLength(0, byte(frame.TypeHeartbeat), 1, 2, 3, 4, 5, 6, 7, 8), wantErr: frame.ErrMalformed},
		{name: "header/too large before the body arrives", in: withLength(1001, byte(frame.TypeEvent)), maxSize: 1000, wantErr: frame.ErrTooLarge},
		{name: "header/too large for the default", in: withLength(frame.DefaultMaxSize+1, byte(frame.TypeEvent)), wantErr: frame.ErrTooLarge},
		{name: "header/length 2^32-1", in: withLength(1<<32-1, byte(frame.TypeGap)), wantErr: frame.ErrTooLarge},
		{name: "header/unknown type too large", in: withLength(11, 99), maxSize: 10, wantErr: frame.ErrTooLarge},
		{
			name: "header/exactly the size limit", in: rawFrame(byte(frame.TypeGap), str("abcdefgh")), maxSize: 10,
			want: `gap(4) version=0 id="abcdefgh" private=false retry=0 type="" topics=[] sse="" ms=0`,
		},
		{name: "header/body cut", in: withLength(10, byte(frame.TypeHeartbeat), 1, 2, 3), wantErr: frame.ErrShortBuffer},
		{
			name: "header/takes only the first frame", in: append(frame.AppendHeartbeat(nil, 7), frame.AppendGap(nil, "g")...), wantN: 4 + 1 + 8,
			want: `heartbeat(3) version=0 id="" private=false retry=0 type="" topics=[] sse="" ms=7`,
		},

		// Hello.
		{
			name: "hello/ok", in: rawFrame(byte(frame.TypeHello), helloBody(frame.Magic, frame.Version, "urn:uuid:9")),
			want: `hello(1) version=1 id="urn:uuid:9" private=false retry=0 type="" topics=[] sse="" ms=0`,
		},
		{name: "hello/empty body", in: rawFrame(byte(frame.TypeHello)), wantErr: frame.ErrMalformed},
		{name: "hello/truncated magic", in: rawFrame(byte(frame.TypeHello), []byte("MS")), wantErr: frame.ErrMalformed},
		{name: "hello/bad magic", in: rawFrame(byte(frame.TypeHello), helloBody("MSSX", frame.Version, "")), wantErr: frame.ErrBadMagic},
		{name: "hello/lower-case magic", in: rawFrame(byte(frame.TypeHello), helloBody("msse", frame.Version, "")), wantErr: frame.ErrBadMagic},
		{name: "hello/an SSE stream instead of a feed", in: []byte("data: hello\n\n"), wantErr: frame.ErrTooLarge},
		{name: "hello/no version", in: rawFrame(byte(frame.TypeHello), []byte(frame.Magic)), wantErr: frame.ErrMalformed},
		{name: "hello/version 0", in: rawFrame(byte(frame.TypeHello), helloBody(frame.Magic, 0, "")), wantErr: frame.ErrVersion},
		{name: "hello/newer version", in: rawFrame(byte(frame.TypeHello), helloBody(frame.Magic, frame.Version+1, "")), wantErr: frame.ErrVersion},
		{name: "hello/no id", in: rawFrame(byte(frame.TypeHello), []byte(frame.Magic), []byte{frame.Version}), wantErr: frame.ErrMalformed},
		{name: "hello/id longer than the body", in: rawFrame(byte(frame.TypeHello), []byte(frame.Magic), []byte{frame.Version, 5}, []byte("ab")), wantErr: frame.ErrMalformed},
		{name: "hello/trailing byte", in: rawFrame(byte(frame.TypeHello), hello, []byte{0}), wantErr: frame.ErrMalformed},

		// Event.
		{
			name: "event/ok", in: rawFrame(byte(frame.TypeEvent), eventBody(frame.FlagPrivate, 2500, "id", "update", []string{"a", "b"}, "data: x\n\n")),
			want: `event(2) version=0 id="id" private=true retry=2500 type="update" topics=["a" "b"] sse="data: x\n\n" ms=0`,
		},
		{
			// Structure only: Validate, not Decode, refuses this content.
			name: "event/empty fields decode", in: rawFrame(byte(frame.TypeEvent), eventBody(0, 0, "", "", nil, "")),
			want: `event(2) version=0 id="" private=false retry=0 type="" topics=[] sse="" ms=0`,
		},
		{
			// Flag bits other than FlagPrivate are ignored, as HTTP/2 ignores
			// unused flags.
			name: "event/unknown flag bits ignored", in: rawFrame(byte(frame.TypeEvent), eventBody(0xFE, 0, "1", "", []string{"t"}, "data: x\n\n")),
			want: `event(2) version=0 id="1" private=false retry=0 type="" topics=["t"] sse="data: x\n\n" ms=0`,
		},
		{
			name: "event/topic count equal to the bytes left", in: rawFrame(byte(frame.TypeEvent), []byte{0, 0, 0, 0, 3, 0, 0, 0}),
			wantErr: frame.ErrMalformed, // three empty topics take the three bytes, and SSE is missing
		},
		{
			name: "event/topic count one below the bytes left", in: rawFrame(byte(frame.TypeEvent), []byte{0, 0, 0, 0, 2, 0, 0, 0}),
			want: `event(2) version=0 id="" private=false retry=0 type="" topics=["" ""] sse="" ms=0`,
		},
		{name: "event/empty body", in: rawFrame(byte(frame.TypeEvent)), wantErr: frame.ErrMalformed},
		{name: "event/flags only", in: rawFrame(byte(frame.TypeEvent), []byte{0}), wantErr: frame.ErrMalformed},
		{name: "event/retry varint unterminated", in: rawFrame(byte(frame.TypeEvent), []byte{0, 0x80}), wantErr: frame.ErrMalformed},
		{name: "event/retry varint overflows 64 bits", in: rawFrame(byte(frame.TypeEvent), []byte{0}, bytes.Repeat([]byte{0xff}, 10), []byte{1}, event[2:]), wantErr: frame.ErrMalformed},
		{name: "event/retry varint overlong", in: rawFrame(byte(frame.TypeEvent), []byte{0, 0x80, 0x00}, event[2:]), wantErr: frame.ErrMalformed},
		{name: "event/id length overlong", in: rawFrame(byte(frame.TypeEvent), []byte{0, 0, 0x81, 0x00, '1'}, event[4:]), wantErr: frame.ErrMalformed},
		{name: "event/topic count overlong", in: rawFrame(byte(frame.TypeEvent), event[:5], []byte{0x81, 0x00}, event[6:]), wantErr: frame.ErrMalformed},
		{name: "event/no id", in: rawFrame(byte(frame.TypeEvent), []byte{0, 0}), wantErr: frame.ErrMalformed},
		{name: "event/id truncated", in: rawFrame(byte(frame.TypeEvent), []byte{0, 0, 9}, []byte("abc")), wantErr: frame.ErrMalformed},
		{name: "event/id length past 2^63", in: rawFrame(byte(frame.TypeEvent), []byte{0, 0}, uv(1<<63+1), []byte("abc")), wantErr: frame.ErrMalformed},
		{name: "event/type truncated", in: rawFrame(byte(frame.TypeEvent), []byte{0, 0}, str("1"), []byte{4, 'u', 'p'}), wantErr: frame.ErrMalformed},
		{name: "event/no topic count", in: rawFrame(byte(frame.TypeEvent), []byte{0, 0}, str("1"), str("")), wantErr: frame.ErrMalformed},
		{name: "event/topic count larger than the body", in: rawFrame(byte(frame.TypeEvent), []byte{0, 0}, str("1"), str(""), uv(100), str("t"), str("x")), wantErr: frame.ErrMalformed},
		{name: "event/topic count 2^64-1", in: rawFrame(byte(frame.TypeEvent), []byte{0, 0}, str("1"), str(""), uv(1<<64-1), str("t")), wantErr: frame.ErrMalformed},
		{name: "event/topic truncated", in: rawFrame(byte(frame.TypeEvent), []byte{0, 0}, str("1"), str(""), uv(2), str("t"), []byte{7, 'h', 't'}), wantErr: frame.ErrMalformed},
		{name: "event/no sse", in: rawFrame(byte(frame.TypeEvent), []byte{0, 0}, str("1"), str(""), uv(1), str("t")), wantErr: frame.ErrMalformed},
		{name: "event/sse truncated", in: rawFrame(byte(frame.TypeEvent), []byte{0, 0}, str("1"), str(""), uv(1), str("t"), []byte{20}, []byte("data: x\n\n")), wantErr: frame.ErrMalformed},
		{name: "event/trailing byte", in: rawFrame(byte(frame.TypeEvent), event, []byte{0}), wantErr: frame.ErrMalformed},
		{name: "event/trailing frame inside the length", in: rawFrame(byte(frame.TypeEvent), event, frame.AppendHeartbeat(nil, 1)), wantErr: frame.ErrMalformed},

		// Heartbeat.
		{
			name: "heartbeat/ok", in: rawFrame(byte(frame.TypeHeartbeat), heartbeatBody(1767225600000)),
			want: `heartbeat(3) version=0 id="" private=false retry=0 type="" topics=[] sse="" ms=1767225600000`,
		},
		{name: "heartbeat/empty body", in: rawFrame(byte(frame.TypeHeartbeat)), wantErr: frame.ErrMalformed},
		{name: "heartbeat/seven bytes", in: rawFrame(byte(frame.TypeHeartbeat), heartbeatBody(1)[:7]), wantErr: frame.ErrMalformed},
		{name: "heartbeat/nine bytes", in: rawFrame(byte(frame.TypeHeartbeat), heartbeatBody(1), []byte{0}), wantErr: frame.ErrMalformed},

		// Gap.
		{
			name: "gap/ok", in: rawFrame(byte(frame.TypeGap), str("urn:uuid:old")),
			want: `gap(4) version=0 id="urn:uuid:old" private=false retry=0 type="" topics=[] sse="" ms=0`,
		},
		{
			name: "gap/empty id decodes", in: rawFrame(byte(frame.TypeGap), str("")),
			want: `gap(4) version=0 id="" private=false retry=0 type="" topics=[] sse="" ms=0`,
		},
		{name: "gap/empty body", in: rawFrame(byte(frame.TypeGap)), wantErr: frame.ErrMalformed},
		{name: "gap/id truncated", in: rawFrame(byte(frame.TypeGap), []byte{3, 'a'}), wantErr: frame.ErrMalformed},
		{name: "gap/id length overlong", in: rawFrame(byte(frame.TypeGap), []byte{0x80, 0x00}), wantErr: frame.ErrMalformed},
		{name: "gap/trailing bytes", in: rawFrame(byte(frame.TypeGap), str("a"), []byte("bc")), wantErr: frame.ErrMalformed},

		// Types of a newer version: only Type is set, the body is not read.
		{
			name: "unknown/type 99", in: rawFrame(99, []byte("anything at all")),
			want: `unknown(99) version=0 id="" private=false retry=0 type="" topics=[] sse="" ms=0`,
		},
		{
			name: "unknown/type 0 with no body", in: rawFrame(0),
			want: `unknown(0) version=0 id="" private=false retry=0 type="" topics=[] sse="" ms=0`,
		},
		{name: "unknown/type 99 cut", in: withLength(10, 99, 'a'), wantErr: frame.ErrShortBuffer},
	}
}

func TestDecode(t *testing.T) {
	for _, tc := range decodeCases() {
		t.Run(tc.name, func(t *testing.T) {
			maxSize := tc.maxSize
			if maxSize == 0 {
				maxSize = frame.DefaultMaxSize
			}
			// A Frame left dirty by a previous decode must not leak fields.
			f := frame.Frame{Version: 9, ID: []byte("stale"), Private: true, Retry: 9, EventType: []byte("stale"),
				Topics: [][]byte{[]byte("stale1"), []byte("stale2"), []byte("stale3")}, SSE: []byte("stale"), UnixMilli: 9}
			n, err := frame.Decode(tc.in, maxSize, &f)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || n != 0 {
					t.Fatalf("Decode = %d, %v; want 0, %v", n, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			wantN := tc.wantN
			if wantN == 0 {
				wantN = len(tc.in)
			}
			if n != wantN {
				t.Errorf("n = %d, want %d", n, wantN)
			}
			if got := describe(&f); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestDecodeErrorMessages checks that errors say what was wrong, with the
// numbers a reader of a log needs.
func TestDecodeErrorMessages(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		max  int
		want string
	}{
		{"too large", withLength(2000, byte(frame.TypeEvent)), 1000, "length 2000 above 1000"},
		{"zero length", withLength(0, byte(frame.TypeEvent)), 1000, "zero length"},
		{"version", rawFrame(byte(frame.TypeHello), helloBody(frame.Magic, 7, "")), 1000, "version 7, want 1"},
		{"topic count", rawFrame(byte(frame.TypeEvent), []byte{0, 0}, str("1"), str(""), uv(100), str("t")), 1000, "100 topics in 2 bytes"},
		{"trailing", rawFrame(byte(frame.TypeGap), str("a"), []byte("bc")), 1000, "decode gap: 2 trailing bytes"},
		{"body", rawFrame(byte(frame.TypeHeartbeat), []byte{1}), 1000, "decode heartbeat: frame: malformed body"},
	}
	for _, tc := range tests {
		var f frame.Frame
		_, err := frame.Decode(tc.in, tc.max, &f)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

// TestDecodeShortAtEveryCutOfEveryType cuts every valid frame at every
// position: each cut must ask for more bytes and consume nothing, and Peek
// must know the whole size as soon as the header is in.
func TestDecodeShortAtEveryCutOfEveryType(t *testing.T) {
	for _, vf := range validFrames() {
		t.Run(vf.name, func(t *testing.T) {
			var f frame.Frame
			n, err := frame.Decode(vf.b, frame.DefaultMaxSize, &f)
			if err != nil || n != len(vf.b) {
				t.Fatalf("whole frame: Decode = %d, %v; want %d, nil", n, err, len(vf.b))
			}
			whole := describe(&f)
			for cut := range len(vf.b) {
				n, err := frame.Decode(vf.b[:cut], frame.DefaultMaxSize, &f)
				if n != 0 || !errors.Is(err, frame.ErrShortBuffer) {
					t.Fatalf("cut %d of %d: Decode = %d, %v; want 0, ErrShortBuffer", cut, len(vf.b), n, err)
				}
				size, err := frame.Peek(vf.b[:cut], frame.DefaultMaxSize)
				switch {
				case cut < frame.HeaderSize && (size != 0 || !errors.Is(err, frame.ErrShortBuffer)):
					t.Fatalf("cut %d: Peek = %d, %v; want 0, ErrShortBuffer", cut, size, err)
				case cut >= frame.HeaderSize && (size != len(vf.b) || err != nil):
					t.Fatalf("cut %d: Peek = %d, %v; want %d, nil", cut, size, err, len(vf.b))
				}
			}
			// A failed decode leaves nothing behind that the next one sees.
			if n, err := frame.Decode(vf.b, frame.DefaultMaxSize, &f); err != nil || n != len(vf.b) || describe(&f) != whole {
				t.Fatalf("after the cuts: Decode = %d, %v, %s; want %d, nil, %s", n, err, describe(&f), len(vf.b), whole)
			}
		})
	}
}

func TestPeek(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		max     int
		want    int
		wantErr error
	}{
		{"short", []byte{0, 0, 0, 1}, 100, 0, frame.ErrShortBuffer},
		{"header only", withLength(50, 2), 100, 54, nil},
		{"at the limit", withLength(100, 2), 100, 104, nil},
		{"above the limit", withLength(101, 2), 100, 0, frame.ErrTooLarge},
		{"zero", withLength(0, 2), 100, 0, frame.ErrMalformed},
		{"length 1: type only", withLength(1, 2), 100, 5, nil},
	}
	for _, tc := range tests {
		got, err := frame.Peek(tc.in, tc.max)
		if got != tc.want || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
			t.Errorf("%s: Peek = %d, %v; want %d, %v", tc.name, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestTypeString(t *testing.T) {
	for typ, want := range map[frame.Type]string{
		frame.TypeHello: "hello", frame.TypeEvent: "event", frame.TypeHeartbeat: "heartbeat", frame.TypeGap: "gap", 0: "unknown", 5: "unknown", 255: "unknown",
	} {
		if got := typ.String(); got != want {
			t.Errorf("Type(%d).String() = %q, want %q", uint8(typ), got, want)
		}
	}
}
