package sse_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"
	"testing/iotest"

	"github.com/edge-sse/edge-sse/shared/sse"
)

// item is one thing Parser.Next stopped at.
type item struct {
	Kind  sse.Kind
	Event sse.Event
	Retry int
}

func (it item) String() string {
	if it.Kind == sse.KindRetry {
		return fmt.Sprintf("retry %d", it.Retry)
	}
	return fmt.Sprintf("event type=%q id=%q data=%q", it.Event.Type, it.Event.ID, it.Event.Data)
}

// ev is an expected event.
func ev(typ, data, id string) item {
	return item{Kind: sse.KindEvent, Event: sse.Event{Type: typ, Data: data, ID: id}}
}

// msg is an expected event of the default type "message".
func msg(data, id string) item { return ev("message", data, id) }

// retry is an expected retry field.
func retry(ms int) item { return item{Kind: sse.KindRetry, Retry: ms} }

// result is everything a Parser reports for one stream.
type result struct {
	Items       []item
	LastEventID string
	Err         error
}

// parse runs a Parser over r to the end.
func parse(r io.Reader, cfg sse.Config) result {
	var res result
	p := sse.NewParser(r, cfg)
	for p.Next() {
		it := item{Kind: p.Kind()}
		switch p.Kind() {
		case sse.KindEvent:
			it.Event = p.Event()
		case sse.KindRetry:
			it.Retry = p.Retry()
		default:
			res.Err = fmt.Errorf("Next returned true with Kind %d", p.Kind())
			return res
		}
		res.Items = append(res.Items, it)
	}
	res.LastEventID = p.LastEventID()
	res.Err = p.Err()
	return res
}

// feed is one way of delivering a stream to the Parser.
type feed struct {
	name string
	r    io.Reader
}

// feeds returns input delivered whole, one byte at a time, in halves, with
// io.EOF on the last read and split into two reads at every position. Past
// 8 KiB the split positions are sampled (every byte of the first and last
// 512, then every 61st) to keep the tests quick.
func feeds(input []byte) []feed {
	fs := []feed{
		{"whole", bytes.NewReader(input)},
		{"one-byte", iotest.OneByteReader(bytes.NewReader(input))},
		{"half", iotest.HalfReader(bytes.NewReader(input))},
		{"data-err", iotest.DataErrReader(bytes.NewReader(input))},
	}
	for i := 0; i <= len(input); i++ {
		if len(input) > 8<<10 && i > 512 && i < len(input)-512 && i%61 != 0 {
			continue
		}
		fs = append(fs, feed{fmt.Sprintf("split-%d", i), splitReader(input, i)})
	}
	return fs
}

// splitReader returns input in two reads, cut at i.
func splitReader(input []byte, i int) io.Reader {
	return io.MultiReader(bytes.NewReader(input[:i]), bytes.NewReader(input[i:]))
}

// sameResult reports how got differs from want, or "".
func sameResult(got, want result) string {
	if (len(got.Items) != 0 || len(want.Items) != 0) && !reflect.DeepEqual(got.Items, want.Items) {
		return fmt.Sprintf("items:\n got %v\nwant %v", got.Items, want.Items)
	}
	if got.LastEventID != want.LastEventID {
		return fmt.Sprintf("LastEventID = %q, want %q", got.LastEventID, want.LastEventID)
	}
	// want.Err is a sentinel, or another Parser's error with the same text.
	if (got.Err == nil) != (want.Err == nil) ||
		(want.Err != nil && !errors.Is(got.Err, want.Err) && got.Err.Error() != want.Err.Error()) {
		return fmt.Sprintf("Err = %v, want %v", got.Err, want.Err)
	}
	return ""
}

// checkParse parses input delivered every way feeds knows and compares each
// result with want.
func checkParse(t *testing.T, input []byte, cfg sse.Config, want result) {
	t.Helper()
	for _, f := range feeds(input) {
		if diff := sameResult(parse(f.r, cfg), want); diff != "" {
			t.Fatalf("%s: %s\ninput %q", f.name, diff, input)
		}
	}
}
