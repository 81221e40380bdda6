package sse_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/edge-sse/edge-sse/shared/sse"
)

// FuzzParse checks that the Parser never panics, stays within its memory
// bounds, gives the same result however the input is split into reads, and
// agrees with the literal reference implementation of WHATWG HTML §9.2.6
// (refParse) up to any limit error.
func FuzzParse(f *testing.F) {
	for _, tc := range append(parseCases[:len(parseCases):len(parseCases)], wptCases...) {
		f.Add([]byte(tc.in), uint16(tc.cfg.MaxLineSize), uint16(tc.cfg.MaxEventSize))
	}
	for _, tc := range encodeCases {
		b, _ := sse.AppendEvent(nil, tc.in)
		f.Add(b, uint16(0), uint16(0))
	}
	f.Fuzz(func(t *testing.T, in []byte, maxLine, maxEvent uint16) {
		cfg := sse.Config{MaxLineSize: int(maxLine), MaxEventSize: int(maxEvent)}
		whole := parseBounded(t, in, cfg)

		for _, fd := range []feed{
			{"one-byte", iotest.OneByteReader(bytes.NewReader(in))},
			{"half", iotest.HalfReader(bytes.NewReader(in))},
			{"split-third", splitReader(in, len(in)/3)},
			{"split-two-thirds", splitReader(in, 2*len(in)/3)},
		} {
			if diff := sameResult(parse(fd.r, cfg), whole); diff != "" {
				t.Fatalf("%s differs from whole: %s", fd.name, diff)
			}
		}

		ref := refParse(in, "")
		if whole.Err == nil {
			if diff := sameResult(whole, ref); diff != "" {
				t.Fatalf("differs from the reference: %s", diff)
			}
			return
		}
		if !errors.Is(whole.Err, sse.ErrLineTooLong) && !errors.Is(whole.Err, sse.ErrEventTooLarge) {
			t.Fatalf("unexpected error %v", whole.Err)
		}
		if len(whole.Items) > len(ref.Items) {
			t.Fatalf("items before the error are not a prefix of the reference's:\n got %v\nwant %v", whole.Items, ref.Items)
		}
		if diff := sameResult(result{Items: whole.Items}, result{Items: ref.Items[:len(whole.Items)]}); diff != "" {
			t.Fatalf("items before the error differ from the reference: %s", diff)
		}
	})
}

// parseBounded parses in whole and fails t if the Parser's buffers ever grow
// past the bounds its documentation promises.
func parseBounded(t *testing.T, in []byte, cfg sse.Config) result {
	maxLine, maxEvent := cfg.MaxLineSize, cfg.MaxEventSize
	if maxLine <= 0 {
		maxLine = sse.DefaultMaxLineSize
	}
	if maxEvent <= 0 {
		maxEvent = sse.DefaultMaxEventSize
	}
	p := sse.NewParser(bytes.NewReader(in), cfg)
	check := func() {
		input, data, other := sse.MemoryInUse(p)
		// The other buffers grow with append, which may round up to twice
		// the 3×MaxLineSize they need, plus a size class.
		if input > max(16<<10, maxLine+4) || data > maxEvent+3*maxLine+1 || other > 3*(6*maxLine+64) {
			t.Fatalf("buffers hold input %d, data %d, other %d bytes; limits MaxLineSize %d, MaxEventSize %d",
				input, data, other, maxLine, maxEvent)
		}
	}
	var res result
	for p.Next() {
		check()
		it := item{Kind: p.Kind(), Event: p.Event(), Retry: p.Retry()}
		res.Items = append(res.Items, it)
	}
	check()
	res.LastEventID, res.Err = p.LastEventID(), p.Err()
	return res
}

// FuzzRoundTrip checks that AppendEvent either rejects an event, leaving the
// buffer unchanged, or writes a stream that parses back to exactly that one
// event: no input can inject a field or a second event.
func FuzzRoundTrip(f *testing.F) {
	for _, tc := range encodeCases {
		f.Add(tc.in.ID, tc.in.Type, tc.in.Data, tc.in.Retry)
	}
	f.Fuzz(func(t *testing.T, id, typ, data string, retryMS int) {
		e := sse.Event{ID: id, Type: typ, Data: data, Retry: retryMS}
		const prefix = "data: before\n\n"
		out, err := sse.AppendEvent([]byte(prefix), e)
		var wantErr error
		switch {
		case strings.ContainsAny(id, "\r\n\x00"):
			wantErr = sse.ErrInvalidID
		case strings.ContainsAny(typ, "\r\n\x00"):
			wantErr = sse.ErrInvalidType
		case retryMS < 0:
			wantErr = sse.ErrInvalidRetry
		}
		if !errors.Is(err, wantErr) || (wantErr == nil && err != nil) {
			t.Fatalf("AppendEvent(%+v) error = %v, want %v", e, err, wantErr)
		}
		if err != nil {
			if string(out) != prefix {
				t.Fatalf("on error AppendEvent changed the buffer to %q", out)
			}
			return
		}
		want := append([]item{msg("before", "")}, roundTripWant([]sse.Event{e})...)
		for _, fd := range []feed{
			{"whole", bytes.NewReader(out)},
			{"one-byte", iotest.OneByteReader(bytes.NewReader(out))},
		} {
			got := parse(fd.r, sse.Config{MaxLineSize: len(out), MaxEventSize: 3*len(out) + 1})
			if diff := sameResult(got, result{Items: want, LastEventID: want[len(want)-1].Event.ID}); diff != "" {
				t.Fatalf("%s: %s\nstream %q", fd.name, diff, out)
			}
		}
	})
}

// FuzzDecodeUTF8 checks the Parser's UTF-8 decoder against the literal
// transcription of the WHATWG Encoding Standard's decoder.
func FuzzDecodeUTF8(f *testing.F) {
	for _, tc := range utf8Cases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got := string(sse.AppendUTF8([]byte("p"), in))
		if want := "p" + refDecoder(in); got != want {
			t.Fatalf("decode %q = %q, want %q", in, got, want)
		}
	})
}
