package frame

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Peek reports the total size (header included) of the frame at the start
// of b, reading only its header. It returns ErrShortBuffer when b is shorter
// than the header and ErrTooLarge when the frame exceeds maxSize.
func Peek(b []byte, maxSize int) (int, error) {
	if len(b) < HeaderSize {
		return 0, ErrShortBuffer
	}
	length := binary.BigEndian.Uint32(b)
	if length == 0 {
		return 0, fmt.Errorf("decode header: zero length: %w", ErrMalformed)
	}
	if uint64(length) > uint64(maxSize) {
		return 0, fmt.Errorf("decode header: length %d above %d: %w", length, maxSize, ErrTooLarge)
	}
	return 4 + int(length), nil
}

// Decode decodes the frame at the start of b into f and returns the number of
// bytes it took. When b holds less than a whole frame it returns
// ErrShortBuffer and consumes nothing. A frame of an unknown type decodes
// successfully with only f.Type set, so that readers can skip it. Decode
// checks structure only; Validate checks content.
//
// Decode does not allocate once f.Topics has grown to the largest topic
// count seen.
func Decode(b []byte, maxSize int, f *Frame) (int, error) {
	n, err := Peek(b, maxSize)
	if err != nil {
		return 0, err
	}
	if len(b) < n {
		return 0, ErrShortBuffer
	}
	topics := f.Topics[:0]
	*f = Frame{Type: Type(b[4]), Topics: topics}
	d := decoder{b: b[HeaderSize:n]}
	switch f.Type {
	case TypeHello:
		magic := d.take(len(Magic))
		if d.err == nil && string(magic) != Magic {
			return 0, ErrBadMagic
		}
		f.Version = d.byte()
		if d.err == nil && f.Version != Version {
			return 0, fmt.Errorf("decode hello: version %d, want %d: %w", f.Version, Version, ErrVersion)
		}
		f.ID = d.str()
	case TypeEvent:
		flags := d.byte()
		f.Private = flags&FlagPrivate != 0
		f.Retry = d.uvarint()
		f.ID = d.str()
		f.EventType = d.str()
		count := d.uvarint()
		if count > uint64(len(d.b)) { // every topic takes at least one byte
			return 0, fmt.Errorf("decode event: %d topics in %d bytes: %w", count, len(d.b), ErrMalformed)
		}
		for i := uint64(0); i < count && d.err == nil; i++ {
			f.Topics = append(f.Topics, d.str())
		}
		f.SSE = d.str()
	case TypeHeartbeat:
		f.UnixMilli = d.uint64()
	case TypeGap:
		f.ID = d.str()
	default:
		return n, nil
	}
	if d.err != nil {
		return 0, fmt.Errorf("decode %s: %w", f.Type, d.err)
	}
	if len(d.b) != 0 {
		return 0, fmt.Errorf("decode %s: %d trailing bytes: %w", f.Type, len(d.b), ErrMalformed)
	}
	return n, nil
}

// decoder reads fields off a frame body, remembering the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.err = ErrMalformed
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	v := d.take(1)
	if v == nil {
		return 0
	}
	return v[0]
}

func (d *decoder) uint64() uint64 {
	v := d.take(8)
	if v == nil {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	// A last byte of zero after the first makes an overlong encoding of a
	// value that fits in fewer bytes. The layout allows only the shortest,
	// so that every frame has exactly one encoding.
	if n <= 0 || (n > 1 && d.b[n-1] == 0) {
		d.err = ErrMalformed
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		if d.err == nil {
			d.err = ErrMalformed
		}
		return nil
	}
	return d.take(int(n))
}

// Validate checks the content of a decoded frame: an Event needs an id and
// at least one topic, no CR, LF or NUL in its id or type (they would inject
// SSE fields), and SSE bytes that end an event with a blank line; a Gap needs
// the id it could not resume after.
func Validate(f *Frame) error {
	switch f.Type {
	case TypeEvent:
		if len(f.ID) == 0 {
			return fmt.Errorf("validate event: empty id: %w", ErrInvalid)
		}
		if bytes.ContainsAny(f.ID, "\r\n\x00") {
			return fmt.Errorf("validate event: CR, LF or NUL in id: %w", ErrInvalid)
		}
		if bytes.ContainsAny(f.EventType, "\r\n\x00") {
			return fmt.Errorf("validate event: CR, LF or NUL in type: %w", ErrInvalid)
		}
		if len(f.Topics) == 0 {
			return fmt.Errorf("validate event: no topic: %w", ErrInvalid)
		}
		if !bytes.HasSuffix(f.SSE, []byte("\n\n")) {
			return fmt.Errorf("validate event: SSE bytes do not end with a blank line: %w", ErrInvalid)
		}
	case TypeGap:
		if len(f.ID) == 0 {
			return fmt.Errorf("validate gap: empty id: %w", ErrInvalid)
		}
	}
	return nil
}
