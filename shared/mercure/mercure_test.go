package mercure_test

import (
	"bytes"
	"testing"

	"github.com/edge-sse/edge-sse/shared/mercure"
	"github.com/edge-sse/edge-sse/shared/sse"
)

func TestAppendMissedParses(t *testing.T) {
	for _, reason := range []string{mercure.ReasonUnknownID, mercure.ReasonEdgeGap} {
		p := sse.NewParser(bytes.NewReader(mercure.AppendMissed(nil, reason)), sse.Config{LastEventID: "before"})
		if !p.Next() || p.Kind() != sse.KindEvent {
			t.Fatalf("%s: no event, err %v", reason, p.Err())
		}
		e := p.Event()
		if e.Type != mercure.MissedEventType || e.Data != `{"reason":"`+reason+`"}` || e.ID != "before" {
			t.Fatalf("%s: got %+v", reason, e)
		}
		if p.Next() {
			t.Fatalf("%s: extra item", reason)
		}
	}
}
