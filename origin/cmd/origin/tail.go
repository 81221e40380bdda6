package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/edge-sse/edge-sse/shared/sse"
)

// tailEvent is the line "origin tail" prints for a dispatched event: the
// attributes of the MessageEvent an EventSource would fire (WHATWG HTML
// §9.2.6), in this field order.
type tailEvent struct {
	Type        string `json:"type"`
	Data        string `json:"data"`
	LastEventID string `json:"lastEventId"`
}

// tailRetry is the line "origin tail" prints for a valid retry field.
type tailRetry struct {
	Retry int `json:"retry"`
}

// tailCmd is "origin tail URL|-": it reads an event stream from a URL (a
// GET with an optional token and Last-Event-ID) or from stdin ("-"),
// interprets it with the shared/sse parser exactly as an EventSource does,
// and prints one JSON object per line: {"type","data","lastEventId"} per
// dispatched event and {"retry":N} per valid retry field. It returns at the
// end of the stream.
func tailCmd(ctx context.Context, args []string, env func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("tail", "tail [--token T] [--last-event-id ID] URL|-", stderr)
	token := fs.String("token", "", "subscriber token, sent as Authorization: Bearer")
	lastID := fs.String("last-event-id", "", "resume after this id (sent as Last-Event-ID; also the starting lastEventId)")
	bindEnv(fs, "token")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := applyEnv(fs, env); err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return errUsage
	}
	src := stdin
	if pos[0] != "-" {
		body, err := openStream(ctx, pos[0], *token, *lastID)
		if err != nil {
			return err
		}
		defer body.Close()
		src = body
	}
	return tail(src, *lastID, stdout)
}

// tail prints the events and retry fields of the stream r as JSON lines,
// flushing after each line so that a live stream shows up as it arrives.
func tail(r io.Reader, lastEventID string, w io.Writer) error {
	out := bufio.NewWriter(w)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	p := sse.NewParser(r, sse.Config{LastEventID: lastEventID})
	for p.Next() {
		var err error
		switch p.Kind() {
		case sse.KindEvent:
			e := p.Event()
			err = enc.Encode(tailEvent{Type: e.Type, Data: e.Data, LastEventID: e.ID})
		case sse.KindRetry:
			err = enc.Encode(tailRetry{Retry: p.Retry()})
		}
		if err == nil {
			err = out.Flush()
		}
		if err != nil {
			return err
		}
	}
	if err := p.Err(); err != nil {
		return fmt.Errorf("read event stream: %w", err)
	}
	return out.Flush()
}

// openStream sends the GET of an EventSource and returns the body of a 200
// text/event-stream response.
func openStream(ctx context.Context, url, token, lastID string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-store")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		return nil, fmt.Errorf("%s answered %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		resp.Body.Close()
		return nil, errors.New(url + " is not an event stream (Content-Type " + ct + ")")
	}
	return resp.Body, nil
}
