package sse_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/edge-sse/edge-sse/shared/sse"
)

// chunkReader returns one chunk per Read and fails the test if asked for
// more than it has, so a test can tell that the Parser did not read ahead.
type chunkReader struct {
	t      *testing.T
	chunks []string
	reads  int
}

func (r *chunkReader) Read(b []byte) (int, error) {
	if r.reads == len(r.chunks) {
		r.t.Fatalf("Read call %d: the parser read past the input it needed", r.reads+1)
	}
	n := copy(b, r.chunks[r.reads])
	r.reads++
	return n, nil
}

// TestParseDoesNotReadAhead checks that an event is dispatched as soon as its
// blank line arrives, as a live stream needs: the Parser must not wait for
// the next byte, not even after a CR that an LF might follow.
func TestParseDoesNotReadAhead(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   []item
	}{
		{"LF", []string{"data:a\n", "\n"}, []item{msg("a", "")}},
		{"CR", []string{"data:a\r\r"}, []item{msg("a", "")}},
		{"CR then LF in next read", []string{"data:a\r\r", "\ndata:b\n\n"}, []item{msg("a", ""), msg("b", "")}},
		{"retry", []string{"retry:5\n"}, []item{retry(5)}},
		{"BOM", []string{"\xEF", "\xBB", "\xBF", "data:a\n\n"}, []item{msg("a", "")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &chunkReader{t: t, chunks: tc.chunks}
			p := sse.NewParser(r, sse.Config{})
			for i, want := range tc.want {
				if !p.Next() {
					t.Fatalf("Next %d = false, Err %v", i, p.Err())
				}
				got := item{Kind: p.Kind(), Event: p.Event(), Retry: p.Retry()}
				if got != want {
					t.Fatalf("item %d = %v, want %v", i, got, want)
				}
			}
		})
	}
}

// errReader returns data, then err.
type errReader struct {
	data string
	err  error
}

func (r *errReader) Read(b []byte) (int, error) {
	if r.data == "" {
		return 0, r.err
	}
	n := copy(b, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestParseReadError(t *testing.T) {
	errBroken := errors.New("connection reset")
	tests := []struct {
		name string
		r    io.Reader
		want []item
		err  error
	}{
		{"events before the error delivered", &errReader{"data:a\n\ndata:b\n", errBroken}, []item{msg("a", "")}, errBroken},
		{"unexpected EOF is an error", &errReader{"data:a\n\n", io.ErrUnexpectedEOF}, []item{msg("a", "")}, io.ErrUnexpectedEOF},
		{"reader making no progress", &errReader{"data:a\n\n", nil}, []item{msg("a", "")}, io.ErrNoProgress},
		{"reader returning a negative count", badCountReader(-1), nil, nil},
		{"reader returning too large a count", badCountReader(1 << 30), nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := parse(tc.r, sse.Config{})
			if tc.err == nil { // a broken reader: any error will do
				if got.Err == nil || got.Items != nil {
					t.Fatalf("got %v, Err %v; want no items and an error", got.Items, got.Err)
				}
			} else if diff := sameResult(got, result{Items: tc.want, Err: tc.err}); diff != "" {
				t.Fatal(diff)
			}
			if !strings.HasPrefix(got.Err.Error(), "sse: read event stream: ") {
				t.Errorf("Err = %q, want it prefixed with the package and what failed", got.Err)
			}
		})
	}
}

// badCountReader returns an impossible count.
type badCountReader int

func (r badCountReader) Read([]byte) (int, error) { return int(r), nil }

// TestParseAfterEnd checks that Next keeps returning false and that the
// accessors return zero values when Next did not stop at their kind.
func TestParseAfterEnd(t *testing.T) {
	p := sse.NewParser(strings.NewReader("retry:7\ndata:x\n\n"), sse.Config{})
	if p.Kind() != 0 || p.Event() != (sse.Event{}) || p.Retry() != 0 {
		t.Fatalf("before Next: Kind %d, Event %+v, Retry %d; want zero values", p.Kind(), p.Event(), p.Retry())
	}
	if !p.Next() || p.Kind() != sse.KindRetry || p.Event() != (sse.Event{}) || p.Retry() != 7 {
		t.Fatalf("first Next: Kind %d, Event %+v, Retry %d; want the retry field only", p.Kind(), p.Event(), p.Retry())
	}
	if !p.Next() || p.Kind() != sse.KindEvent || p.Retry() != 0 || p.Event() != (sse.Event{Type: "message", Data: "x"}) {
		t.Fatalf("second Next: Kind %d, Event %+v, Retry %d; want the event only", p.Kind(), p.Event(), p.Retry())
	}
	for range 3 {
		if p.Next() {
			t.Fatal("Next = true after the end of the stream")
		}
		if p.Kind() != 0 || p.Event() != (sse.Event{}) || p.Err() != nil {
			t.Fatalf("after the end: Kind %d, Event %+v, Err %v; want zero values", p.Kind(), p.Event(), p.Err())
		}
	}
}

// TestParseLimitErrorSticks checks that a limit error stops the Parser for
// good, with a message naming the limit.
func TestParseLimitErrorSticks(t *testing.T) {
	p := sse.NewParser(strings.NewReader(":"+strings.Repeat("x", 20)+"\ndata:x\n\n"), sse.Config{MaxLineSize: 16})
	for range 2 {
		if p.Next() {
			t.Fatalf("Next = true past a line over the limit")
		}
	}
	if err := p.Err(); !errors.Is(err, sse.ErrLineTooLong) || !strings.Contains(err.Error(), "16 bytes") {
		t.Fatalf("Err = %v, want ErrLineTooLong naming the 16-byte limit", err)
	}
}
