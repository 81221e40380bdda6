//go:build js && wasm

package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/syumai/workers/cloudflare/fetch"

	"github.com/edge-sse/edge-sse/shared/frame"
	"github.com/edge-sse/edge-sse/shared/mercure"
	"github.com/edge-sse/edge-sse/worker/edge"
)

// catchupSlots bounds concurrent catch-up requests: a Durable Object may
// hold 6 outgoing connections and the upstream feed takes one. The hub
// itself keeps at most edge.DefaultMaxFetches in flight; this is the bound
// of last resort.
var catchupSlots = make(chan struct{}, 4)

// catchup fetches a range of the origin's history for the clients in
// catch-up (the feed's bounded mode: after f.After up to and including
// f.Until) and hands it to the hub, which serves every waiting client the
// range covers. If the origin cannot be asked, or has not answered within
// FEED_TIMEOUT_MS, the hub disconnects the clients resuming from f.After,
// to retry later, rather than tell them anything false, and goes on with
// the others: every client queued before a fetch waits for its answer, so
// a fetch that hangs (syumai's fetch cannot be cancelled) must not hold
// them all. Its slot is given back then too; a late answer is ignored.
func catchup(cfg config, h *edge.Hub, f edge.Fetch) {
	catchupSlots <- struct{}{}
	var once sync.Once
	end := func(events []*edge.Event, gap bool, err error) {
		once.Do(func() {
			defer func() { <-catchupSlots }()
			if err != nil {
				log.Printf("edge: catch-up fetch after %q until %q failed: %v", f.After, f.Until, err)
				h.FailFetch(f.Key)
				return
			}
			h.FinishFetch(f.Key, events, gap)
		})
	}
	timeout := time.AfterFunc(cfg.FeedTimeout, func() {
		end(nil, false, fmt.Errorf("no answer within %s (FEED_TIMEOUT_MS)", cfg.FeedTimeout))
	})
	events, gap, err := fetchRange(cfg, h, f.After, f.Until)
	timeout.Stop()
	end(events, gap, err)
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
