package frame_test

import (
	"bytes"
	"fmt"

	"github.com/edge-sse/edge-sse/shared/frame"
)

// The origin encodes each event once, with its SSE bytes, and an edge
// decodes the frame without copying: the fields point into the buffer.
func ExampleAppendEvent() {
	buf := make([]byte, 0, 512) // reuse one buffer for every frame
	buf = frame.AppendEvent(buf, &frame.Event{
		ID:      "urn:uuid:5e94c686",
		Type:    "update",
		Topics:  []string{"https://example.com/books/1", "https://example.com/users/42/books/1"},
		Private: true,
		SSE:     []byte("id: urn:uuid:5e94c686\nevent: update\ndata: {\"title\":\"Dune\"}\n\n"),
	})

	var f frame.Frame
	n, err := frame.Decode(buf, frame.DefaultMaxSize, &f)
	if err != nil {
		panic(err)
	}
	if err := frame.Validate(&f); err != nil {
		panic(err)
	}
	fmt.Println(n == len(buf), f.Type, string(f.ID), string(f.EventType), f.Private)
	for _, t := range f.Topics {
		fmt.Println("topic", string(t))
	}
	fmt.Printf("%s", f.SSE)
	// Output:
	// true event urn:uuid:5e94c686 update true
	// topic https://example.com/books/1
	// topic https://example.com/users/42/books/1
	// id: urn:uuid:5e94c686
	// event: update
	// data: {"title":"Dune"}
}

// An edge reads its feed from the origin with a Reader, which skips frame
// types it does not know.
func ExampleReader() {
	var feed []byte
	feed = frame.AppendHello(feed, "urn:uuid:41")
	feed = frame.AppendEvent(feed, &frame.Event{ID: "urn:uuid:42", Topics: []string{"https://example.com/books/1"}, SSE: []byte("id: urn:uuid:42\ndata: x\n\n")})
	feed = append(feed, 0, 0, 0, 2, 200, 0) // a frame type from a newer origin
	feed = frame.AppendHeartbeat(feed, 1767225600000)
	feed = frame.AppendGap(feed, "urn:uuid:1")

	r := frame.NewReader(bytes.NewReader(feed), 0)
	for r.Next() {
		f := r.Frame()
		switch f.Type {
		case frame.TypeHello:
			fmt.Printf("hello version %d, newest %s\n", f.Version, f.ID)
		case frame.TypeEvent:
			fmt.Printf("event %s on %s: %q\n", f.ID, f.Topics[0], f.SSE)
		case frame.TypeHeartbeat:
			fmt.Printf("heartbeat %d\n", f.UnixMilli)
		case frame.TypeGap:
			fmt.Printf("gap: cannot resume after %s\n", f.ID)
		}
	}
	if err := r.Err(); err != nil {
		panic(err)
	}
	// Output:
	// hello version 1, newest urn:uuid:41
	// event urn:uuid:42 on https://example.com/books/1: "id: urn:uuid:42\ndata: x\n\n"
	// heartbeat 1767225600000
	// gap: cannot resume after urn:uuid:1
}
