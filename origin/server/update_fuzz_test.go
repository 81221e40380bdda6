package server

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/shared/sse"
)

// FuzzEventFromForm checks the field-injection rule of Mercure
// §"Server-Sent Events Field Injection" on arbitrary publish fields: an
// update is either refused with a client error, or its encoded bytes parse
// back into exactly one event with the published id, type and data (line
// ends normalized to LF) and retry, whatever the fields hold.
func FuzzEventFromForm(f *testing.F) {
	for _, seed := range [][4]string{
		{"1", "update", "data", "10"},
		{"1\nevent: forged", "", "x", ""},
		{"", "a\rb", "x\r\ny\rz\n", ""},
		{"", "", "\nid: forged\n\ndata: two", "5"},
		{"\x00", "t\x00", "\x00", "1\n2"},
		{"#frag", "mercure", "\xff", "-1"},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
	h := hub.New(hub.NewMemoryHistory(1))
	defer h.Close()
	s := New(h, Config{})
	f.Fuzz(func(t *testing.T, id, typ, data, retry string) {
		form := url.Values{"topic": {"https://example.com/t"}, "id": {id}, "type": {typ}, "data": {data}, "retry": {retry}}
		e, err := s.eventFromForm(form)
		if err != nil {
			var re *requestError
			if !errors.As(err, &re) || re.status < 400 || re.status > 499 {
				t.Fatalf("refusal %v is not a client error", err)
			}
			return
		}
		p := sse.NewParser(strings.NewReader(string(e.SSE)), sse.Config{})
		var events []sse.Event
		var retries []int
		for p.Next() {
			switch p.Kind() {
			case sse.KindEvent:
				events = append(events, p.Event())
			case sse.KindRetry:
				retries = append(retries, p.Retry())
			}
		}
		if len(events) != 1 {
			t.Fatalf("%q encodes %d events", e.SSE, len(events))
		}
		wantType := typ
		if wantType == "" {
			wantType = "message"
		}
		wantData := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(data)
		got := events[0]
		if got.ID != e.ID || (id != "" && got.ID != id) || got.Type != wantType || got.Data != wantData {
			t.Fatalf("%q parses as %+v, want id %q type %q data %q", e.SSE, got, e.ID, wantType, wantData)
		}
		if (retry != "" && retry != strings.Repeat("0", len(retry))) != (len(retries) == 1) || len(retries) > 1 {
			t.Fatalf("retry %q gave retry fields %v", retry, retries)
		}
	})
}
