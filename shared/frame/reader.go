package frame

import (
	"errors"
	"io"
)

// Reader pulls frames off a byte stream, such as the body of an edge feed.
// It skips frames of unknown types and keeps at most one frame plus one read
// chunk in memory.
type Reader struct {
	r       io.Reader
	maxSize int
	buf     []byte
	start   int // first unconsumed byte of buf
	end     int // end of valid data in buf
	f       Frame
	readErr error // the error of the last Read, acted on once buffered frames are used up
	err     error
}

// NewReader returns a Reader over r that refuses frames whose Length exceeds
// maxSize (DefaultMaxSize when maxSize <= 0).
func NewReader(r io.Reader, maxSize int) *Reader {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	return &Reader{r: r, maxSize: maxSize, buf: make([]byte, 32<<10)}
}

// Next advances to the next frame of a known type. It returns false at the
// end of the stream or on an error; Err tells which.
func (r *Reader) Next() bool {
	for r.err == nil {
		n, err := Decode(r.buf[r.start:r.end], r.maxSize, &r.f)
		switch {
		case err == nil:
			r.start += n
			if r.f.Type >= TypeHello && r.f.Type <= TypeGap {
				return true
			}
			continue // a newer origin's frame type: skip it
		case errors.Is(err, ErrShortBuffer):
			if r.readErr != nil {
				r.err = r.readErr
				if r.readErr == io.EOF && r.end > r.start {
					r.err = io.ErrUnexpectedEOF
				}
				continue
			}
			r.fill()
		default:
			r.err = err
		}
	}
	return false
}

// fill reads more bytes, first making room for a whole frame if the one at
// the start of the buffer is larger than the buffer.
func (r *Reader) fill() {
	need := len(r.buf)
	if size, err := Peek(r.buf[r.start:r.end], r.maxSize); err == nil && size > need {
		need = size
	}
	if r.start > 0 && (r.end == len(r.buf) || need > len(r.buf)-r.start) {
		r.end = copy(r.buf, r.buf[r.start:r.end])
		r.start = 0
	}
	if need > len(r.buf) {
		grown := make([]byte, need)
		r.end = copy(grown, r.buf[r.start:r.end])
		r.start = 0
		r.buf = grown
	}
	n, err := r.r.Read(r.buf[r.end:])
	r.end += n
	r.readErr = err
}

// Fill reads from the underlying reader once, unless a whole frame is
// buffered already or an earlier read failed (its error is kept for Next,
// as when Next reads). A caller that knows a read would not wait (more of
// the stream has arrived) uses it to take in what arrived without ever
// blocking on a frame cut in two: after Fill, Buffered says whether Next
// would return at once.
func (r *Reader) Fill() {
	if r.err != nil || r.readErr != nil || r.Buffered() {
		return
	}
	r.fill()
}

// Buffered reports whether a whole frame is already buffered, so that the
// next call to Next returns without reading. Callers use it to batch the
// frames of one read.
func (r *Reader) Buffered() bool {
	if r.err != nil {
		return false
	}
	size, err := Peek(r.buf[r.start:r.end], r.maxSize)
	return err == nil && size <= r.end-r.start
}

// Frame returns the current frame. Its byte slices are valid until the next
// call to Next.
func (r *Reader) Frame() *Frame { return &r.f }

// Err returns the error that stopped Next, or nil at a clean end of stream
// (one that does not cut a frame).
func (r *Reader) Err() error {
	if r.err == io.EOF {
		return nil
	}
	return r.err
}
