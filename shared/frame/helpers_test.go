package frame_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/edge-sse/edge-sse/shared/frame"
)

// uv returns x as a uvarint, the layout's variable-length integer.
func uv(x uint64) []byte { return binary.AppendUvarint(nil, x) }

// str returns s as the layout's "str": a uvarint length, then the bytes.
func str(s string) []byte { return append(uv(uint64(len(s))), s...) }

// rawFrame builds a frame by hand, without the package's encoders, so that
// the tests check the layout written in the package comment and not the
// encoders against the decoder.
func rawFrame(t byte, body ...[]byte) []byte {
	b := bytes.Join(body, nil)
	out := binary.BigEndian.AppendUint32(nil, uint32(1+len(b)))
	out = append(out, t)
	return append(out, b...)
}

// withLength returns a header claiming length bytes after the length field,
// followed by body, however long body really is.
func withLength(length uint32, t byte, body ...byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, length)
	out = append(out, t)
	return append(out, body...)
}

// helloBody is the body of a Hello frame of version v.
func helloBody(magic string, v byte, id string) []byte {
	return bytes.Join([][]byte{[]byte(magic), {v}, str(id)}, nil)
}

// eventBody is the body of an Event frame, laid out by hand.
func eventBody(flags byte, retry uint64, id, typ string, topics []string, sse string) []byte {
	b := []byte{flags}
	b = append(b, uv(retry)...)
	b = append(b, str(id)...)
	b = append(b, str(typ)...)
	b = append(b, uv(uint64(len(topics)))...)
	for _, t := range topics {
		b = append(b, str(t)...)
	}
	return append(b, str(sse)...)
}

func heartbeatBody(ms uint64) []byte { return binary.BigEndian.AppendUint64(nil, ms) }

// describe renders every field of a decoded frame, so that tests compare
// frames as one string and print a readable difference.
func describe(f *frame.Frame) string {
	return fmt.Sprintf("%s(%d) version=%d id=%q private=%t retry=%d type=%q topics=%q sse=%q ms=%d",
		f.Type, uint8(f.Type), f.Version, f.ID, f.Private, f.Retry, f.EventType, f.Topics, f.SSE, f.UnixMilli)
}

// describeEvent renders the frame that decoding AppendEvent(e) must give,
// in describe's format, from e itself.
func describeEvent(e *frame.Event) string {
	topics := make([][]byte, len(e.Topics))
	for i, t := range e.Topics {
		topics[i] = []byte(t)
	}
	return describe(&frame.Frame{
		Type: frame.TypeEvent, ID: []byte(e.ID), Private: e.Private, Retry: e.Retry,
		EventType: []byte(e.Type), Topics: topics, SSE: e.SSE,
	})
}

// reencode encodes a decoded frame of a known type again with the package's
// encoders. ok is false for unknown types, which carry nothing to encode.
func reencode(f *frame.Frame) (b []byte, ok bool) {
	switch f.Type {
	case frame.TypeHello:
		return frame.AppendHello(nil, string(f.ID)), true
	case frame.TypeEvent:
		e := frame.Event{ID: string(f.ID), Type: string(f.EventType), Private: f.Private, Retry: f.Retry, SSE: f.SSE}
		for _, t := range f.Topics {
			e.Topics = append(e.Topics, string(t))
		}
		return frame.AppendEvent(nil, &e), true
	case frame.TypeHeartbeat:
		return frame.AppendHeartbeat(nil, f.UnixMilli), true
	case frame.TypeGap:
		return frame.AppendGap(nil, string(f.ID)), true
	}
	return nil, false
}

// namedFrame is one valid encoded frame.
type namedFrame struct {
	name string
	b    []byte
}

// validFrames returns a valid frame of every type, including types this
// version does not know, with varints of one, two and three bytes.
func validFrames() []namedFrame {
	long := strings.Repeat("data: 0123456789abcdef\n", 800) + "\n" // > 16383 bytes: a three-byte length
	many := make([]string, 200)                                    // a two-byte topic count
	for i := range many {
		many[i] = fmt.Sprintf("https://example.com/t/%d", i)
	}
	return []namedFrame{
		{"hello/empty id", frame.AppendHello(nil, "")},
		{"hello/id", frame.AppendHello(nil, "urn:uuid:5e94c686-2c0b-4f9a-8c8e-1e1b2c3d4e5f")},
		{"event/minimal", frame.AppendEvent(nil, &frame.Event{ID: "1", Topics: []string{"t"}, SSE: []byte("id: 1\ndata:\n\n")})},
		{"event/full", frame.AppendEvent(nil, &frame.Event{
			ID: "urn:uuid:1", Type: "update", Topics: []string{"https://example.com/books/1", "https://example.com/users/42/books/1"},
			Private: true, Retry: 3000, SSE: []byte("id: urn:uuid:1\nevent: update\nretry: 3000\ndata: {\"a\":1}\n\n"),
		})},
		{"event/max retry", frame.AppendEvent(nil, &frame.Event{ID: "r", Topics: []string{"t"}, Retry: 1<<64 - 1, SSE: []byte("data: x\n\n")})},
		{"event/unicode", frame.AppendEvent(nil, &frame.Event{ID: "é€😀", Type: "ünïcode", Topics: []string{"https://example.com/ü"}, SSE: []byte("data: é€😀\n\n")})},
		{"event/long sse", frame.AppendEvent(nil, &frame.Event{ID: "long", Topics: []string{"t"}, SSE: []byte(long)})},
		{"event/200 topics", frame.AppendEvent(nil, &frame.Event{ID: "many", Topics: many, SSE: []byte("data: x\n\n")})},
		{"heartbeat/zero", frame.AppendHeartbeat(nil, 0)},
		{"heartbeat/max", frame.AppendHeartbeat(nil, 1<<64-1)},
		{"heartbeat/now", frame.AppendHeartbeat(nil, 1767225600000)},
		{"gap/id", frame.AppendGap(nil, "urn:uuid:expired")},
		{"unknown/type 99", rawFrame(99, []byte("from a newer origin"))},
		{"unknown/type 0 empty", rawFrame(0)},
		{"unknown/type 255", rawFrame(255, []byte{0, 0, 0, 0})},
	}
}
