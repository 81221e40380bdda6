package sse_test

import (
	"strings"
	"testing"

	"github.com/edge-sse/edge-sse/shared/sse"
)

// roundTripWant is what parsing AppendEvent's encoding of events gives back:
// a retry item when Retry is set, then the event with its line endings
// turned into LF, its text decoded as UTF-8, the type "message" when none
// was given, and the id of the last event that had one.
func roundTripWant(events []sse.Event) []item {
	var items []item
	lastID := ""
	for _, e := range events {
		if e.Retry > 0 {
			items = append(items, retry(e.Retry))
		}
		if e.ID != "" {
			lastID = refDecoder([]byte(e.ID))
		}
		typ := "message"
		if e.Type != "" {
			typ = refDecoder([]byte(e.Type))
		}
		data := strings.ReplaceAll(e.Data, "\r\n", "\n")
		data = strings.ReplaceAll(data, "\r", "\n")
		items = append(items, ev(typ, refDecoder([]byte(data)), lastID))
	}
	return items
}

func TestRoundTrip(t *testing.T) {
	var events []sse.Event
	for _, tc := range encodeCases {
		if tc.err == nil {
			events = append(events, tc.in)
		}
	}
	events = append(events,
		sse.Event{ID: "ünïcødé ✓", Type: "ツ", Data: "😀\n…"},
		sse.Event{Data: strings.Repeat("long line ", 1000)},
		sse.Event{Data: ":not a comment\n: nor this"},
		sse.Event{Data: "\uFEFFdata with BOM"},
	)
	for _, e := range events {
		t.Run(e.ID+"|"+e.Type+"|"+e.Data[:min(len(e.Data), 20)], func(t *testing.T) {
			stream, err := sse.AppendEvent(nil, e)
			if err != nil {
				t.Fatal(err)
			}
			want := roundTripWant([]sse.Event{e})
			checkParse(t, stream, sse.Config{}, result{Items: want, LastEventID: want[len(want)-1].Event.ID})
		})
	}
	t.Run("all in one stream with comments and retries", func(t *testing.T) {
		var stream []byte
		var want []item
		lastID := ""
		for i, e := range events {
			stream = sse.AppendComment(stream, "heartbeat\nline two")
			var err error
			if stream, err = sse.AppendEvent(stream, e); err != nil {
				t.Fatal(err)
			}
			for _, it := range roundTripWant([]sse.Event{e}) {
				if it.Kind == sse.KindEvent {
					if it.Event.ID != "" {
						lastID = it.Event.ID
					}
					it.Event.ID = lastID
				}
				want = append(want, it)
			}
			if i%3 == 0 {
				stream = sse.AppendRetry(stream, i)
				want = append(want, retry(i))
			}
		}
		checkParse(t, stream, sse.Config{}, result{Items: want, LastEventID: lastID})
	})
}
