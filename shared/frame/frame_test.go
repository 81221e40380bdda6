package frame_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/edge-sse/edge-sse/shared/frame"
)

func sampleFeed() []byte {
	var b []byte
	b = frame.AppendHello(b, "urn:uuid:last")
	b = frame.AppendEvent(b, &frame.Event{
		ID: "e1", Type: "update", Topics: []string{"https://example.com/a", "b"},
		Private: true, Retry: 3000, SSE: []byte("id: e1\nevent: update\ndata: x\n\n"),
	})
	b = frame.AppendHeartbeat(b, 1234)
	b = frame.AppendGap(b, "old")
	return b
}

func TestReaderRoundTrip(t *testing.T) {
	feed := sampleFeed()
	readers := map[string]func() io.Reader{
		"whole":    func() io.Reader { return bytes.NewReader(feed) },
		"one byte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(feed)) },
	}
	for name, mk := range readers {
		t.Run(name, func(t *testing.T) {
			r := frame.NewReader(mk(), 0)
			var got []string
			for r.Next() {
				f := r.Frame()
				if err := frame.Validate(f); err != nil {
					t.Fatalf("validate %s: %v", f.Type, err)
				}
				switch f.Type {
				case frame.TypeHello:
					got = append(got, "hello "+string(f.ID))
				case frame.TypeEvent:
					got = append(got, "event "+string(f.ID)+" "+string(f.EventType)+" "+string(f.Topics[0])+"|"+string(f.Topics[1])+" "+string(f.SSE))
					if !f.Private || f.Retry != 3000 {
						t.Errorf("private=%v retry=%d", f.Private, f.Retry)
					}
				case frame.TypeHeartbeat:
					if f.UnixMilli != 1234 {
						t.Errorf("heartbeat %d", f.UnixMilli)
					}
					got = append(got, "heartbeat")
				case frame.TypeGap:
					got = append(got, "gap "+string(f.ID))
				}
			}
			if err := r.Err(); err != nil {
				t.Fatal(err)
			}
			want := []string{"hello urn:uuid:last", "event e1 update https://example.com/a|b id: e1\nevent: update\ndata: x\n\n", "heartbeat", "gap old"}
			if len(got) != len(want) {
				t.Fatalf("got %q, want %q", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("frame %d: got %q, want %q", i, got[i], want[i])
				}
			}
		})
	}
}

func TestDecodeShortAtEveryCut(t *testing.T) {
	feed := sampleFeed()
	first, err := frame.Peek(feed, frame.DefaultMaxSize)
	if err != nil {
		t.Fatal(err)
	}
	var f frame.Frame
	for cut := 0; cut < first; cut++ {
		n, err := frame.Decode(feed[:cut], frame.DefaultMaxSize, &f)
		if n != 0 || !errors.Is(err, frame.ErrShortBuffer) {
			t.Fatalf("cut %d: n=%d err=%v, want 0 and ErrShortBuffer", cut, n, err)
		}
	}
}

func TestReaderTruncatedStream(t *testing.T) {
	feed := sampleFeed()
	r := frame.NewReader(bytes.NewReader(feed[:len(feed)-2]), 0)
	for r.Next() {
	}
	if !errors.Is(r.Err(), io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want io.ErrUnexpectedEOF", r.Err())
	}
}

func TestReaderSkipsUnknownType(t *testing.T) {
	var b []byte
	b = frame.AppendHello(b, "")
	b = append(b, 0, 0, 0, 3, 99, 'x', 'y') // type 99 from a newer origin
	b = frame.AppendGap(b, "g")
	r := frame.NewReader(bytes.NewReader(b), 0)
	var types []frame.Type
	for r.Next() {
		types = append(types, r.Frame().Type)
	}
	if r.Err() != nil || len(types) != 2 || types[1] != frame.TypeGap {
		t.Fatalf("types %v err %v", types, r.Err())
	}
}

func TestReaderTooLarge(t *testing.T) {
	b := frame.AppendEvent(nil, &frame.Event{ID: "x", Topics: []string{"t"}, SSE: bytes.Repeat([]byte("a"), 2000)})
	r := frame.NewReader(bytes.NewReader(b), 1000)
	if r.Next() || !errors.Is(r.Err(), frame.ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", r.Err())
	}
}

func TestReaderBuffered(t *testing.T) {
	feed := sampleFeed()
	r := frame.NewReader(bytes.NewReader(feed), 0)
	if r.Buffered() {
		t.Fatal("Buffered before any read")
	}
	n := 0
	for r.Next() {
		n++
		if want := n < 4; r.Buffered() != want {
			t.Fatalf("after frame %d Buffered = %v, want %v", n, !want, want)
		}
	}
}

func TestReaderFill(t *testing.T) {
	feed := sampleFeed()
	// The stream in three reads: the first frame and half the second, the
	// rest of the second, then the others.
	first, err := frame.Peek(feed, frame.DefaultMaxSize)
	if err != nil {
		t.Fatal(err)
	}
	second, err := frame.Peek(feed[first:], frame.DefaultMaxSize)
	if err != nil {
		t.Fatal(err)
	}
	cut := first + second/2
	src := &chunks{parts: [][]byte{feed[:cut], feed[cut : first+second], feed[first+second:]}}
	r := frame.NewReader(src, 0)
	r.Fill()
	if src.reads != 1 || !r.Buffered() {
		t.Fatalf("after one Fill: %d reads, Buffered %v; want 1 read and a whole frame", src.reads, r.Buffered())
	}
	r.Fill() // a whole frame is there: no read
	if src.reads != 1 {
		t.Fatalf("Fill read with a whole frame buffered (%d reads)", src.reads)
	}
	if !r.Next() || r.Buffered() {
		t.Fatalf("Next after Fill: ok %v, Buffered %v; want the first frame and half of the second", r.Err() == nil, r.Buffered())
	}
	r.Fill() // the rest of the second frame
	if src.reads != 2 || !r.Buffered() {
		t.Fatalf("after the second Fill: %d reads, Buffered %v; want 2 reads and a whole frame", src.reads, r.Buffered())
	}
	n := 1
	for r.Next() {
		n++
	}
	if r.Err() != nil || n != 4 {
		t.Fatalf("read %d frames, err %v; want 4 and a clean end", n, r.Err())
	}
	r.Fill() // at the end: no read, no panic
	if r.Next() {
		t.Fatal("Next after the end")
	}
}

// chunks is a reader that hands out parts one Read each, then io.EOF.
type chunks struct {
	parts [][]byte
	reads int
}

func (c *chunks) Read(p []byte) (int, error) {
	c.reads++
	if len(c.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.parts[0])
	c.parts[0] = c.parts[0][n:]
	if len(c.parts[0]) == 0 {
		c.parts = c.parts[1:]
	}
	return n, nil
}
