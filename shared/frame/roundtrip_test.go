package frame_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"github.com/edge-sse/edge-sse/shared/frame"
)

// randBytes returns random bytes of a random length, every byte value
// possible, mostly short, sometimes long enough for multi-byte lengths, and,
// when big is set, rarely larger than the Reader's 32 KiB buffer.
func randBytes(r *rand.Rand, big bool) []byte {
	var n int
	switch p := r.IntN(100); {
	case p < 10:
		n = 0
	case p < 80:
		n = r.IntN(20)
	case p < 97 || !big:
		n = r.IntN(400)
	default:
		n = 32<<10 + r.IntN(40<<10)
	}
	b := make([]byte, n)
	for i := range b {
		if r.IntN(4) == 0 {
			b[i] = byte(r.UintN(256))
		} else {
			b[i] = "abc:/ \r\n\x00é"[r.IntN(11)]
		}
	}
	return b
}

// randUint64 returns 0, small numbers, numbers around varint byte
// boundaries, and any uint64.
func randUint64(r *rand.Rand) uint64 {
	switch r.IntN(5) {
	case 0:
		return 0
	case 1:
		return r.Uint64N(1000)
	case 2:
		return 1<<(7*r.UintN(10)) - r.Uint64N(2)
	case 3:
		return 1<<64 - 1
	}
	return r.Uint64()
}

// randEvent returns an Event with random content, valid or not: the codec
// must carry whatever it is given.
func randEvent(r *rand.Rand, big bool) *frame.Event {
	e := &frame.Event{
		ID:      string(randBytes(r, false)),
		Type:    string(randBytes(r, false)),
		Private: r.IntN(2) == 0,
		Retry:   randUint64(r),
		SSE:     randBytes(r, big),
	}
	for range r.IntN(6) {
		e.Topics = append(e.Topics, string(randBytes(r, false)))
	}
	return e
}

// randFeed returns a feed of n random frames of every type, including types
// a Reader must skip, and the frames the Reader must return, described.
func randFeed(r *rand.Rand, n int, big bool) (feed []byte, want []string) {
	feed = frame.AppendHello(feed, string(randBytes(r, false)))
	var f frame.Frame
	if _, err := frame.Decode(feed, frame.DefaultMaxSize, &f); err != nil {
		panic(err)
	}
	want = append(want, describe(&f))
	for range n {
		switch r.IntN(8) {
		case 0:
			ms := randUint64(r)
			feed = frame.AppendHeartbeat(feed, ms)
			want = append(want, describe(&frame.Frame{Type: frame.TypeHeartbeat, UnixMilli: ms}))
		case 1:
			id := randBytes(r, false)
			feed = frame.AppendGap(feed, string(id))
			want = append(want, describe(&frame.Frame{Type: frame.TypeGap, ID: id}))
		case 2:
			feed = append(feed, rawFrame(byte(5+r.IntN(251)), randBytes(r, false))...) // skipped
		default:
			e := randEvent(r, big)
			feed = frame.AppendEvent(feed, e)
			want = append(want, describeEvent(e))
		}
	}
	return feed, want
}

// readAll reads every frame off src with a Reader.
func readAll(src io.Reader, maxSize int) ([]string, error) {
	fr := frame.NewReader(src, maxSize)
	var got []string
	for fr.Next() {
		got = append(got, describe(fr.Frame()))
	}
	return got, fr.Err()
}

func equalFrames(t *testing.T, label string, got, want []string) {
	t.Helper()
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			t.Fatalf("%s: frame %d missing, want %.200s", label, i, want[i])
		case i >= len(want):
			t.Fatalf("%s: extra frame %d: %.200s", label, i, got[i])
		case got[i] != want[i]:
			t.Fatalf("%s: frame %d:\ngot  %.300s\nwant %.300s", label, i, got[i], want[i])
		}
	}
}

// TestEventRoundTrip encodes random events and decodes each back.
func TestEventRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 0, 1<<10)
	var f frame.Frame
	for i := range 2000 {
		e := randEvent(r, i%50 == 0)
		buf = frame.AppendEvent(buf[:0], e)
		n, err := frame.Decode(buf, frame.DefaultMaxSize, &f)
		if err != nil || n != len(buf) {
			t.Fatalf("event %d: Decode = %d, %v; want %d, nil", i, n, err, len(buf))
		}
		if got, want := describe(&f), describeEvent(e); got != want {
			t.Fatalf("event %d:\ngot  %.300s\nwant %.300s", i, got, want)
		}
	}
}

// TestReaderRandomFeeds reads random feeds whole, one byte at a time, and in
// random chunks: every way gives the frames that were encoded.
func TestReaderRandomFeeds(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 20 {
		feed, want := randFeed(r, 50, true)
		got, err := readAll(bytes.NewReader(feed), 0)
		if err != nil {
			t.Fatalf("feed %d whole: %v", i, err)
		}
		equalFrames(t, "whole", got, want)

		got, err = readAll(iotest.DataErrReader(iotest.OneByteReader(bytes.NewReader(feed))), 0)
		if err != nil {
			t.Fatalf("feed %d one byte: %v", i, err)
		}
		equalFrames(t, "one byte", got, want)

		got, err = readAll(&chunkReader{b: feed, r: r}, 0)
		if err != nil {
			t.Fatalf("feed %d chunks: %v", i, err)
		}
		equalFrames(t, "random chunks", got, want)
	}
}

// chunkReader returns its bytes in chunks of random sizes.
type chunkReader struct {
	b []byte
	r *rand.Rand
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 1+c.r.IntN(100))], c.b)
	c.b = c.b[n:]
	return n, nil
}

// splitFeed is a multi-frame feed with every type, small enough to split at
// every position.
func splitFeed(t *testing.T) (feed []byte, want []string, ends map[int]int) {
	t.Helper()
	r := rand.New(rand.NewPCG(5, 6))
	feed, want = randFeed(r, 12, false)
	feed = append(feed, sampleFeed()...)
	want = append(want, mustReadAll(t, sampleFeed())...)
	// ends maps each frame boundary to the number of known frames before it.
	ends = map[int]int{0: 0}
	known := 0
	for at := 0; at < len(feed); {
		n, err := frame.Peek(feed[at:], frame.DefaultMaxSize)
		if err != nil {
			t.Fatal(err)
		}
		if typ := frame.Type(feed[at+4]); typ >= frame.TypeHello && typ <= frame.TypeGap {
			known++
		}
		at += n
		ends[at] = known
	}
	return feed, want, ends
}

func mustReadAll(t *testing.T, feed []byte) []string {
	t.Helper()
	got, err := readAll(bytes.NewReader(feed), 0)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestReaderSplitAtEveryPosition delivers a feed in two reads split at every
// position, as nats-server's split tests do: the frames never change.
func TestReaderSplitAtEveryPosition(t *testing.T) {
	feed, want, _ := splitFeed(t)
	for i := range len(feed) + 1 {
		got, err := readAll(io.MultiReader(bytes.NewReader(feed[:i]), bytes.NewReader(feed[i:])), 0)
		if err != nil {
			t.Fatalf("split at %d: %v", i, err)
		}
		equalFrames(t, "split", got, want)
	}
}

// TestReaderOneByteAtATime feeds the Reader one byte per read, ending with
// and without the last byte carrying io.EOF.
func TestReaderOneByteAtATime(t *testing.T) {
	feed, want, _ := splitFeed(t)
	for name, src := range map[string]io.Reader{
		"EOF after":     iotest.OneByteReader(bytes.NewReader(feed)),
		"EOF with data": iotest.DataErrReader(iotest.OneByteReader(bytes.NewReader(feed))),
	} {
		got, err := readAll(src, 0)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		equalFrames(t, name, got, want)
	}
}

// TestReaderCutAtEveryPosition ends the stream at every position: the Reader
// returns every whole frame before the cut, then io.ErrUnexpectedEOF if the
// cut splits a frame and a clean end if not; a read error instead of the
// end is returned as is, whole frames first.
func TestReaderCutAtEveryPosition(t *testing.T) {
	feed, want, ends := splitFeed(t)
	errBroken := errors.New("connection reset")
	known := 0
	for i := range len(feed) + 1 {
		if k, ok := ends[i]; ok {
			known = k
		}
		_, boundary := ends[i]

		got, err := readAll(bytes.NewReader(feed[:i]), 0)
		equalFrames(t, "cut", got, want[:known])
		if boundary && err != nil {
			t.Fatalf("cut at boundary %d: Err = %v, want nil", i, err)
		}
		if !boundary && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("cut at %d inside a frame: Err = %v, want io.ErrUnexpectedEOF", i, err)
		}

		got, err = readAll(io.MultiReader(bytes.NewReader(feed[:i]), iotest.ErrReader(errBroken)), 0)
		equalFrames(t, "read error", got, want[:known])
		if !errors.Is(err, errBroken) {
			t.Fatalf("read error at %d: Err = %v, want %v", i, err, errBroken)
		}
	}
}

// TestReaderStopsAtMalformedFrame checks that a malformed frame ends the
// feed with its error after the frames before it, and that the Reader stays
// stopped.
func TestReaderStopsAtMalformedFrame(t *testing.T) {
	for _, tc := range decodeCases() {
		if tc.wantErr == nil || errors.Is(tc.wantErr, frame.ErrShortBuffer) || tc.maxSize != 0 {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			feed := append(frame.AppendHeartbeat(nil, 1), tc.in...)
			feed = append(feed, frame.AppendGap(nil, "after")...)
			fr := frame.NewReader(iotest.OneByteReader(bytes.NewReader(feed)), 0)
			if !fr.Next() || fr.Frame().Type != frame.TypeHeartbeat {
				t.Fatalf("first frame: %v", fr.Err())
			}
			if fr.Next() {
				t.Fatalf("Next after a malformed frame returned %s", describe(fr.Frame()))
			}
			if !errors.Is(fr.Err(), tc.wantErr) {
				t.Fatalf("Err = %v, want %v", fr.Err(), tc.wantErr)
			}
			if fr.Next() || fr.Buffered() || !errors.Is(fr.Err(), tc.wantErr) {
				t.Fatalf("the Reader did not stay stopped: Err = %v", fr.Err())
			}
		})
	}
}

// TestReaderLargeFrames reads frames larger than the Reader's buffer, at and
// above its size limit.
func TestReaderLargeFrames(t *testing.T) {
	big := bytes.Repeat([]byte("data: 0123456789\n"), 20000) // 340,000 bytes
	e := &frame.Event{ID: "big", Topics: []string{"t"}, SSE: append(big, '\n')}
	b := frame.AppendEvent(nil, e)
	b = frame.AppendEvent(b, e)
	size, _ := frame.Peek(b, frame.DefaultMaxSize)

	got, err := readAll(iotest.HalfReader(bytes.NewReader(b)), size-4)
	if err != nil || len(got) != 2 || got[1] != describeEvent(e) {
		t.Fatalf("at the limit: %d frames, Err = %v", len(got), err)
	}
	got, err = readAll(bytes.NewReader(b), size-5)
	if len(got) != 0 || !errors.Is(err, frame.ErrTooLarge) {
		t.Fatalf("above the limit: %d frames, Err = %v; want ErrTooLarge", len(got), err)
	}
}
