package history

import (
	"errors"
	"testing"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/origin/hub/hubtest"
)

func TestRecordRoundTrip(t *testing.T) {
	for _, e := range []*hub.Event{
		hubtest.NewEvent("a", "", "t"),
		hubtest.Encode(&hub.Event{ID: "b", Data: "x\r\ny\rz", Topics: []string{"1", "2"}, Type: "u", Retry: 1 << 40, Private: true}),
	} {
		got, err := decodeRecord(appendRecord(nil, e, 1234))
		if err != nil {
			t.Fatalf("decode %s: %v", e.ID, err)
		}
		if d := hubtest.SameEvent(got, e); d != "" {
			t.Errorf("round trip of %s: %s", e.ID, d)
		}
		if ts, _ := recordTime(appendRecord(nil, e, 1234)); ts != 1234 {
			t.Errorf("recordTime = %d, want 1234", ts)
		}
	}
	// An event without Frame gets one built from its fields.
	bare := &hub.Event{ID: "c", Data: "d", Topics: []string{"t"}, SSE: []byte("id: c\ndata: d\n\n")}
	got, err := decodeRecord(appendRecord(nil, bare, 0))
	if err != nil || got.ID != "c" || string(got.SSE) != string(bare.SSE) || len(got.Frame) == 0 {
		t.Fatalf("record of an event without Frame: %+v, %v", got, err)
	}
}

func TestRecordCorrupt(t *testing.T) {
	good := appendRecord(nil, hubtest.NewEvent("a", "data", "t"), 1)
	for name, b := range map[string][]byte{
		"empty":         nil,
		"wrong version": append([]byte{9}, good[1:]...),
		"data too long": {recordVersion, 1, 200, 'x'},
		"truncated":     good[:len(good)-3],
		"trailing":      append(append([]byte(nil), good...), 0),
	} {
		if _, err := decodeRecord(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: decodeRecord = %v, want ErrCorrupt", name, err)
		}
	}
}

func TestStreamIDs(t *testing.T) {
	for _, tc := range []struct {
		id  string
		seq uint64
		err error
	}{
		{"0-1", 1, nil},
		{"1700000000000-0", 1700000000000 << seqBits, nil},
		{"1700000000000-4194303", 1700000000000<<seqBits | 4194303, nil},
		{"1-4194304", 0, ErrCorrupt},
		{"17592186044416-0", 0, ErrCorrupt}, // 1<<44 ms does not fit
		{"12", 0, ErrCorrupt},
		{"a-b", 0, ErrCorrupt},
	} {
		seq, err := parseStreamID(tc.id)
		if !errors.Is(err, tc.err) || seq != tc.seq {
			t.Errorf("parseStreamID(%q) = %d, %v; want %d, %v", tc.id, seq, err, tc.seq, tc.err)
		}
		if err == nil && streamID(seq) != tc.id {
			t.Errorf("streamID(%d) = %q, want %q", seq, streamID(seq), tc.id)
		}
	}
}
