//go:build js && wasm

package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/url"

	"github.com/syumai/workers/cloudflare/fetch"

	"github.com/edge-sse/edge-sse/shared/frame"
	"github.com/edge-sse/edge-sse/shared/mercure"
	"github.com/edge-sse/edge-sse/worker/edge"
)

// catchupSlots bounds concurrent catch-up requests: a Durable Object may
// hold 6 outgoing connections and the upstream feed takes one.
var catchupSlots = make(chan struct{}, 4)

// catchup fetches the events a resuming client missed before the ring's
// start from the origin's history (the feed's bounded mode: after c.After up
// to and including c.Until) and hands them to the hub. If the origin cannot
// be asked, the client is disconnected to retry later rather than told
// anything false.
func catchup(cfg config, h *edge.Hub, c edge.Catchup) {
	catchupSlots <- struct{}{}
	defer func() { <-catchupSlots }()
	events, gap, err := fetchRange(cfg, h, c.After, c.Until)
	if err != nil {
		log.Printf("edge: catch-up for client %d failed: %v", c.ClientID, err)
		h.Kick(c.ClientID)
		return
	}
	h.FinishCatchup(c.ClientID, events, gap)
}

func fetchRange(cfg config, h *edge.Hub, after, until string) ([]*edge.Event, bool, error) {
	u := cfg.OriginURL + mercure.FeedPath + "?lastEventID=" + url.QueryEscape(after) + "&until=" + url.QueryEscape(until)
	req, err := fetch.NewRequest(context.Background(), http.MethodGet, u, nil)
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Authorization", "Bearer "+cfg.FeedSecret)
	resp, err := fetch.NewClient().Do(req, nil)
	if err != nil {
		return nil, false, fmt.Errorf("fetch history: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, false, fmt.Errorf("fetch history: origin answered %s", resp.Status)
	}
	var events []*edge.Event
	r := frame.NewReader(resp.Body, 0)
	for r.Next() {
		f := r.Frame()
		switch f.Type {
		case frame.TypeGap:
			return nil, true, nil
		case frame.TypeEvent:
			e := edge.NewEvent(h.Compiler(), f)
			if e == nil {
				continue
			}
			events = append(events, e)
			if e.ID == until {
				return events, false, nil
			}
		}
	}
	if err := r.Err(); err != nil {
		return nil, false, fmt.Errorf("read history: %w", err)
	}
	return nil, false, fmt.Errorf("read history: the origin ended before %q", until)
}
