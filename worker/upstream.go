//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/syumai/workers/cloudflare/fetch"

	"github.com/edge-sse/edge-sse/shared/frame"
	"github.com/edge-sse/edge-sse/worker/edge"
)

// errIdle ends the feed of a hub that has had no client for cfg.UpstreamIdle.
var errIdle = errors.New("no clients")

// runUpstream keeps ONE subscription to the origin's edge feed for the hub
// while it has clients. After any break it resumes after the newest id the
// hub holds, waiting a jittered, growing backoff between attempts. It
// returns once the hub has been without clients for cfg.UpstreamIdle.
func runUpstream(cfg config, h *edge.Hub) {
	backoff := 250 * time.Millisecond
	for {
		start := time.Now()
		err := feedOnce(cfg, h)
		if errors.Is(err, errIdle) {
			log.Printf("edge: no clients for %s, upstream feed closed", cfg.UpstreamIdle)
			return
		}
		log.Printf("edge: upstream feed ended: %v", err)
		if time.Since(start) > time.Minute {
			backoff = 250 * time.Millisecond
		}
		time.Sleep(backoff/2 + rand.N(backoff))
		backoff = min(backoff*2, 30*time.Second)
	}
}

// feedOnce reads the feed until it breaks. A watchdog closes the body when
// no frame, heartbeats included, arrives within cfg.FeedTimeout.
func feedOnce(cfg config, h *edge.Hub) error {
	u := cfg.OriginURL + "/edge/feed"
	if last := h.LastEventID(); last != "" {
		u += "?lastEventID=" + url.QueryEscape(last)
	}
	req, err := fetch.NewRequest(context.Background(), http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+cfg.FeedSecret)
	resp, err := fetch.NewClient().Do(req, nil)
	if err != nil {
		return fmt.Errorf("connect feed: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return fmt.Errorf("connect feed: origin answered %s", resp.Status)
	}
	var closeOnce sync.Once
	closeBody := func() { closeOnce.Do(func() { resp.Body.Close() }) }
	defer closeBody()
	watchdog := time.AfterFunc(cfg.FeedTimeout, func() {
		log.Printf("edge: no frame from the origin for %s, reconnecting", cfg.FeedTimeout)
		closeBody()
	})
	defer watchdog.Stop()

	r := frame.NewReader(resp.Body, 0)
	var batch []*edge.Event
	lastClient := time.Now()
	for r.Next() {
		watchdog.Reset(cfg.FeedTimeout)
		if h.Stats().Subscribers > 0 {
			lastClient = time.Now()
		} else if time.Since(lastClient) > cfg.UpstreamIdle {
			return errIdle
		}
		if f := r.Frame(); f.Type == frame.TypeEvent {
			if e := edge.NewEvent(h.Compiler(), f); e != nil {
				batch = append(batch, e)
			}
		} else {
			h.Deliver(batch)
			batch = batch[:0]
			h.OnFrame(f)
		}
		// Deliver the events of one read together: one write per client.
		if len(batch) > 0 && !r.Buffered() {
			h.Deliver(batch)
			batch = batch[:0]
		}
	}
	if err := r.Err(); err != nil {
		return fmt.Errorf("read feed: %w", err)
	}
	return fmt.Errorf("read feed: origin closed the stream")
}
