package sse_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/edge-sse/edge-sse/shared/sse"
)

func ExampleAppendEvent() {
	buf := make([]byte, 0, 256) // reuse one buffer for every event
	buf, err := sse.AppendEvent(buf, sse.Event{
		ID:   "urn:uuid:5e94c686",
		Type: "update",
		Data: "{\"title\":\"Dune\"}\n{\"title\":\"Emma\"}",
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s", buf)
	// Output:
	// id: urn:uuid:5e94c686
	// event: update
	// data: {"title":"Dune"}
	// data: {"title":"Emma"}
}

func ExampleAppendEvent_invalid() {
	buf, err := sse.AppendEvent(nil, sse.Event{ID: "1\nevent: forged", Data: "x"})
	fmt.Println(len(buf), errors.Is(err, sse.ErrInvalidID))
	// Output:
	// 0 true
}

func ExampleAppendComment() {
	buf := sse.AppendRetry(nil, 3000)
	buf = sse.AppendComment(buf, " keep-alive")
	fmt.Printf("%q\n", buf)
	// Output:
	// "retry: 3000\n: keep-alive\n"
}

func ExampleParser() {
	stream := "retry: 3000\n" +
		": connected\n" +
		"id: 1\nevent: update\ndata: first line\ndata: second line\n\n" +
		"data: no id here\n\n" +
		"id: 3\ndata: never ended"
	p := sse.NewParser(strings.NewReader(stream), sse.Config{})
	for p.Next() {
		switch p.Kind() {
		case sse.KindRetry:
			fmt.Printf("retry %d ms\n", p.Retry())
		case sse.KindEvent:
			e := p.Event()
			fmt.Printf("%s id=%s data=%q\n", e.Type, e.ID, e.Data)
		}
	}
	if err := p.Err(); err != nil {
		panic(err)
	}
	fmt.Printf("resume with Last-Event-ID: %s\n", p.LastEventID())
	// Output:
	// retry 3000 ms
	// update id=1 data="first line\nsecond line"
	// message id=1 data="no id here"
	// resume with Last-Event-ID: 1
}
