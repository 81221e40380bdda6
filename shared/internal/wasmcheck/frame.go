package wasmcheck

import (
	"encoding/binary"
	"math/rand/v2"

	"github.com/edge-sse/edge-sse/shared/frame"
	"github.com/edge-sse/edge-sse/shared/sse"
)

// describeFrame renders every field of a decoded frame on one line.
func describeFrame(f *frame.Frame) string {
	return sprintf("%s(%d) version=%d id=%q private=%t retry=%d type=%q topics=%q sse=%q ms=%d",
		f.Type, uint8(f.Type), f.Version, f.ID, f.Private, f.Retry, f.EventType, f.Topics, f.SSE, f.UnixMilli)
}

// frameCase records the encoding and decoding of random frames of every
// type, decoding of mutated and random bytes, and a Reader over the feed
// the frames make, in random chunks, intact and mutated.
func frameCase(t *transcript, g *gen) {
	var feed []byte
	for range 1 + g.intn(4) {
		var b []byte
		switch g.intn(7) {
		case 0:
			id := g.field()
			b = frame.AppendHello(nil, id)
			t.line("frame.AppendHello %q -> %x", id, b)
		case 1:
			ms := g.uint64()
			b = frame.AppendHeartbeat(nil, ms)
			t.line("frame.AppendHeartbeat %d -> %x", ms, b)
		case 2:
			id := g.field()
			b = frame.AppendGap(nil, id)
			t.line("frame.AppendGap %q -> %x", id, b)
		case 3:
			// A frame type of a newer version, which readers skip.
			body := g.bytes(g.intn(12))
			b = binary.BigEndian.AppendUint32(nil, uint32(1+len(body)))
			b = append(append(b, byte(5+g.intn(251))), body...)
			t.line("frame unknown type -> %x", b)
		default:
			e := g.frameEvent()
			b = frame.AppendEvent(nil, &e)
			t.line("frame.AppendEvent id=%q type=%q topics=%q private=%t retry=%d sse=%q -> %x",
				e.ID, e.Type, e.Topics, e.Private, e.Retry, e.SSE, b)
		}
		decode(t, "encoded", b, frame.DefaultMaxSize)
		feed = append(feed, b...)
	}
	for range 3 {
		maxSize := frame.DefaultMaxSize
		if g.chance(20) {
			maxSize = 1 + g.intn(64)
		}
		decode(t, "mutated", g.mutate(feed), maxSize)
	}
	decode(t, "random", g.bytes(g.intn(40)), frame.DefaultMaxSize)
	read(t, g, "feed", feed)
	read(t, g, "mutated feed", g.mutate(feed))
}

// frameEvent returns an Event to frame: its SSE bytes encoded by package
// sse from random fields mostly, random text sometimes; the codec carries
// either.
func (g *gen) frameEvent() frame.Event {
	e := frame.Event{ID: g.field(), Type: g.field(), Private: g.chance(50), Retry: g.uint64()}
	for range g.intn(4) {
		e.Topics = append(e.Topics, g.topic())
	}
	if g.chance(80) {
		e.SSE, _ = sse.AppendEvent(nil, sse.Event{ID: e.ID, Type: e.Type, Data: g.text(6, tokens)})
	} else {
		e.SSE = []byte(g.text(6, tokens))
	}
	return e
}

// decode records the result of decoding in.
func decode(t *transcript, label string, in []byte, maxSize int) {
	var f frame.Frame
	n, err := frame.Decode(in, maxSize, &f)
	if err != nil {
		t.line("frame.Decode %s in=%x max=%d -> n=%d err=%s", label, in, maxSize, n, errString(err))
		return
	}
	size, perr := frame.Peek(in, maxSize)
	t.line("frame.Decode %s in=%x max=%d -> n=%d peek=%d,%s %s validate=%s",
		label, in, maxSize, n, size, errString(perr), describeFrame(&f), errString(frame.Validate(&f)))
}

// read records the frames a Reader returns from feed delivered in random
// chunks.
func read(t *transcript, g *gen, label string, feed []byte) {
	maxSize := 0
	if g.chance(20) {
		maxSize = 1 + g.intn(256)
	}
	t.line("frame.Reader %s in=%x max=%d", label, feed, maxSize)
	r := frame.NewReader(&chunkReader{b: feed, r: rand.New(rand.NewPCG(g.r.Uint64(), 1))}, maxSize)
	for r.Next() {
		t.line("  %s", describeFrame(r.Frame()))
	}
	t.line("  end err=%s", errString(r.Err()))
}

// mutate returns a copy of b changed in one random way: cut, a bit flipped,
// a byte replaced, bytes inserted, or the first length field changed.
func (g *gen) mutate(b []byte) []byte {
	m := append([]byte(nil), b...)
	if len(m) == 0 {
		return g.bytes(g.intn(8))
	}
	switch g.intn(5) {
	case 0:
		return m[:g.intn(len(m)+1)]
	case 1:
		m[g.intn(len(m))] ^= 1 << g.intn(8)
	case 2:
		m[g.intn(len(m))] = byte(g.r.UintN(256))
	case 3:
		at := g.intn(len(m) + 1)
		return append(m[:at:at], append(g.bytes(1+g.intn(4)), m[at:]...)...)
	default:
		if len(m) >= 4 {
			n := binary.BigEndian.Uint32(m)
			binary.BigEndian.PutUint32(m, n+uint32(g.intn(5))-2)
		}
	}
	return m
}
