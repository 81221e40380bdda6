//go:build js && wasm

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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

	// The reader decodes frames while the fan-out below writes to clients,
	// so that events arriving during a fan-out are delivered together by
	// the next one.
	items := make(chan feedItem, 4096)
	readErr := make(chan error, 1)
	done := make(chan struct{})
	defer close(done)
	go readFeed(resp.Body, h, watchdog, cfg.FeedTimeout, items, readErr, done)

	lastClient := time.Now()
	var batch []*edge.Event
	for {
		it, ok := <-items
		for ok {
			if it.event == nil {
				h.OnFrame(&it.control)
				break
			}
			// Collect what else arrives within the window, then write each
			// client the events it matches as one chunk.
			batch = append(batch[:0], it.event)
			window := time.NewTimer(cfg.FanoutWindow)
		collect:
			for len(batch) < maxBatch {
				select {
				case it, ok = <-items:
					if !ok || it.event == nil {
						break collect
					}
					batch = append(batch, it.event)
				case <-window.C:
					it, ok = feedItem{}, false
					break collect
				}
			}
			window.Stop()
			h.Deliver(batch)
			if !ok || it.event != nil {
				break
			}
			// A control frame ended the batch: apply it after the events
			// that came before it.
		}
		if !ok {
			select {
			case err := <-readErr:
				return err
			default:
			}
		}
		if h.Stats().Subscribers > 0 {
			lastClient = time.Now()
		} else if time.Since(lastClient) > cfg.UpstreamIdle {
			return errIdle
		}
	}
}

// maxBatch bounds the events written to clients in one fan-out.
const maxBatch = 256

// feedItem is an event, or a control frame (Hello, Heartbeat, Gap) whose
// ID has been copied out of the reader's buffer.
type feedItem struct {
	event   *edge.Event
	control frame.Frame
}

// readFeed decodes the feed into items until it ends, then reports why on
// readErr and closes items. done stops it early.
func readFeed(body io.Reader, h *edge.Hub, watchdog *time.Timer, timeout time.Duration, items chan<- feedItem, readErr chan<- error, done <-chan struct{}) {
	defer close(items)
	r := frame.NewReader(body, 0)
	for r.Next() {
		watchdog.Reset(timeout)
		f := r.Frame()
		var it feedItem
		if f.Type == frame.TypeEvent {
			if it.event = edge.NewEvent(h.Compiler(), f); it.event == nil {
				continue
			}
		} else {
			it.control = frame.Frame{Type: f.Type, ID: bytes.Clone(f.ID), UnixMilli: f.UnixMilli}
		}
		select {
		case items <- it:
		case <-done:
			return
		}
	}
	if err := r.Err(); err != nil {
		readErr <- fmt.Errorf("read feed: %w", err)
		return
	}
	readErr <- fmt.Errorf("read feed: origin closed the stream")
}
