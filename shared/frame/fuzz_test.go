package frame_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/edge-sse/edge-sse/shared/frame"
)

// fuzzMaxSize bounds frames in FuzzFrame: large enough for the seeds, small
// enough that random lengths also hit ErrTooLarge.
const fuzzMaxSize = 1 << 20

// decodeAll decodes b frame after frame as a Reader does: it returns the
// frames of known types and the error a Reader must report.
func decodeAll(b []byte, maxSize int) ([]string, error) {
	var got []string
	var f frame.Frame
	for len(b) > 0 {
		n, err := frame.Decode(b, maxSize, &f)
		switch {
		case errors.Is(err, frame.ErrShortBuffer):
			return got, io.ErrUnexpectedEOF
		case err != nil:
			return got, err
		}
		if f.Type >= frame.TypeHello && f.Type <= frame.TypeGap {
			got = append(got, describe(&f))
		}
		b = b[n:]
	}
	return got, nil
}

// FuzzFrame checks, for any input: Decode never panics; it fails with one of
// the package's errors and takes 0 bytes, or succeeds with a whole frame and
// never reads past the n it returns; a decoded frame of a known type
// encodes back to the same bytes (the layout has one encoding per frame,
// except for the flag bits the decoder ignores); and a Reader fed one byte
// at a time returns the frames and the error of Decode called in a loop.
func FuzzFrame(f *testing.F) {
	for _, vf := range validFrames() {
		f.Add(vf.b)
	}
	for _, tc := range decodeCases() {
		f.Add(tc.in)
	}
	f.Add(sampleFeed())
	f.Fuzz(func(t *testing.T, b []byte) {
		var fr frame.Frame
		n, err := frame.Decode(b, fuzzMaxSize, &fr)
		if err != nil {
			if n != 0 {
				t.Fatalf("Decode = %d, %v: took bytes on error", n, err)
			}
			known := false
			for _, sentinel := range []error{frame.ErrShortBuffer, frame.ErrTooLarge, frame.ErrMalformed, frame.ErrBadMagic, frame.ErrVersion} {
				known = known || errors.Is(err, sentinel)
			}
			if !known {
				t.Fatalf("Decode error %v matches none of the package's errors", err)
			}
			if errors.Is(err, frame.ErrShortBuffer) {
				if size, perr := frame.Peek(b, fuzzMaxSize); perr == nil && size <= len(b) {
					t.Fatalf("ErrShortBuffer, but Peek says the %d-byte frame is within %d bytes", size, len(b))
				}
			}
		} else {
			if n < frame.HeaderSize || n > len(b) {
				t.Fatalf("Decode = %d for %d bytes", n, len(b))
			}
			if size, perr := frame.Peek(b, fuzzMaxSize); size != n || perr != nil {
				t.Fatalf("Decode took %d bytes, Peek says %d, %v", n, size, perr)
			}
			_ = frame.Validate(&fr) // must not panic on any decoded frame
			got := describe(&fr)

			// Nothing at or after n may matter: decode the frame alone, and
			// the input with every byte after the frame changed.
			alone := bytes.Clone(b[:n])
			var fa frame.Frame
			if na, err := frame.Decode(alone[:n:n], fuzzMaxSize, &fa); na != n || err != nil || describe(&fa) != got {
				t.Fatalf("decoded alone: %d, %v, %s; with what follows: %d, %s", na, err, describe(&fa), n, got)
			}
			changed := bytes.Clone(b)
			for i := n; i < len(changed); i++ {
				changed[i] ^= 0xff
			}
			var fc frame.Frame
			if nc, err := frame.Decode(changed, fuzzMaxSize, &fc); nc != n || err != nil || describe(&fc) != got {
				t.Fatalf("bytes after the frame changed the result: %d, %v, %s; want %d, %s", nc, err, describe(&fc), n, got)
			}

			if re, ok := reencode(&fr); ok {
				want := bytes.Clone(b[:n])
				if fr.Type == frame.TypeEvent {
					want[frame.HeaderSize] &= frame.FlagPrivate // unknown flag bits are ignored
				}
				if !bytes.Equal(re, want) {
					t.Fatalf("re-encoded %s frame differs:\ngot  %x\nwant %x", fr.Type, re, want)
				}
			}
		}

		want, wantErr := decodeAll(b, fuzzMaxSize)
		got, gotErr := readAll(iotest.OneByteReader(bytes.NewReader(b)), fuzzMaxSize)
		if len(got) != len(want) {
			t.Fatalf("Reader returned %d frames, Decode %d", len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("frame %d: Reader %s, Decode %s", i, got[i], want[i])
			}
		}
		if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
			t.Fatalf("Reader Err = %v, Decode loop %v", gotErr, wantErr)
		}
	})
}
