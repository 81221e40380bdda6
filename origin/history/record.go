package history

import (
	"encoding/binary"
	"fmt"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/shared/frame"
)

// recordVersion is the layout version of a stored record.
//
//	offset  size  field
//	0       1     Version (1)
//	1       n     uvarint UnixMilli: when the store accepted the event
//	        n     uvarint length + Data
//	        rest  the event's shared/frame Event frame (header included)
//
// Seq is not part of the record: it is the bbolt key or the stream entry id.
const recordVersion = 1

// appendRecord appends the record of e stored at unixMilli. When e carries
// no Frame, one is built from its fields.
func appendRecord(dst []byte, e *hub.Event, unixMilli int64) []byte {
	dst = append(dst, recordVersion)
	dst = binary.AppendUvarint(dst, uint64(unixMilli))
	dst = binary.AppendUvarint(dst, uint64(len(e.Data)))
	dst = append(dst, e.Data...)
	if len(e.Frame) > 0 {
		return append(dst, e.Frame...)
	}
	return frame.AppendEvent(dst, &frame.Event{
		ID: e.ID, Type: e.Type, Topics: e.Topics, Private: e.Private, Retry: e.Retry, SSE: e.SSE,
	})
}

// recordHeader returns a record's storage time, data and frame bytes.
func recordHeader(b []byte) (unixMilli int64, data, frameBytes []byte, err error) {
	if len(b) == 0 || b[0] != recordVersion {
		return 0, nil, nil, fmt.Errorf("decode record: version byte: %w", ErrCorrupt)
	}
	b = b[1:]
	t, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, nil, fmt.Errorf("decode record: time: %w", ErrCorrupt)
	}
	b = b[n:]
	size, n := binary.Uvarint(b)
	if n <= 0 || size > uint64(len(b)-n) {
		return 0, nil, nil, fmt.Errorf("decode record: data: %w", ErrCorrupt)
	}
	b = b[n:]
	return int64(t), b[:size:size], b[size:], nil
}

// recordTime returns when a record was stored.
func recordTime(b []byte) (int64, error) {
	t, _, _, err := recordHeader(b)
	return t, err
}

// recordID returns a record's event id.
func recordID(b []byte) (string, error) {
	_, _, fb, err := recordHeader(b)
	if err != nil {
		return "", err
	}
	var f frame.Frame
	if err := decodeEventFrame(fb, &f); err != nil {
		return "", err
	}
	return string(f.ID), nil
}

// decodeRecord returns the event of a record. The event's Frame and SSE
// point into b, which the caller must not modify afterwards.
func decodeRecord(b []byte) (*hub.Event, error) {
	_, data, fb, err := recordHeader(b)
	if err != nil {
		return nil, err
	}
	var f frame.Frame
	if err := decodeEventFrame(fb, &f); err != nil {
		return nil, err
	}
	e := &hub.Event{
		ID:      string(f.ID),
		Private: f.Private,
		Type:    string(f.EventType),
		Retry:   f.Retry,
		Data:    string(data),
		SSE:     f.SSE,
		Frame:   fb[:len(fb):len(fb)],
	}
	if len(f.Topics) > 0 {
		e.Topics = make([]string, len(f.Topics))
		for i, t := range f.Topics {
			e.Topics[i] = string(t)
		}
	}
	return e, nil
}

// decodeEventFrame decodes fb, which must be exactly one Event frame.
func decodeEventFrame(fb []byte, f *frame.Frame) error {
	n, err := frame.Decode(fb, len(fb), f)
	switch {
	case err != nil:
		return fmt.Errorf("decode record frame: %v: %w", err, ErrCorrupt)
	case n != len(fb):
		return fmt.Errorf("decode record frame: %d bytes after the frame: %w", len(fb)-n, ErrCorrupt)
	case f.Type != frame.TypeEvent:
		return fmt.Errorf("decode record frame: %s frame, want event: %w", f.Type, ErrCorrupt)
	}
	return nil
}
