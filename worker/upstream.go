//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"syscall/js"
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
	const firstBackoff = 250 * time.Millisecond
	backoff := firstBackoff
	for {
		connected, err := feedOnce(cfg, h)
		if errors.Is(err, errIdle) {
			log.Printf("edge: no clients for %s, upstream feed closed", cfg.UpstreamIdle)
			return
		}
		log.Printf("edge: upstream feed ended: %v", err)
		if connected {
			// The origin answered with a feed: a break after that is not
			// a failing origin, so resume soon rather than after a backoff
			// grown by earlier failures.
			backoff = firstBackoff
		}
		time.Sleep(backoff/2 + rand.N(backoff))
		backoff = min(backoff*2, 30*time.Second)
	}
}

// collectAfter is the number of stream writes of a fan-out from which the
// next read of the feed collects for cfg.FeedCollect: below it a fan-out
// is quick and collecting would only add latency.
const collectAfter = 64

// feedOnce reads the feed until it breaks. A watchdog closes the body when
// no frame, heartbeats included, arrives within cfg.FeedTimeout. connected
// reports whether the origin sent at least one frame.
func feedOnce(cfg config, h *edge.Hub) (connected bool, err error) {
	u := cfg.OriginURL + "/edge/feed"
	if last := h.LastEventID(); last != "" {
		u += "?lastEventID=" + url.QueryEscape(last)
	}
	req, err := fetch.NewRequest(context.Background(), http.MethodGet, u, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", "Bearer "+cfg.FeedSecret)
	resp, err := fetch.NewClient().Do(req, nil)
	if err != nil {
		return false, fmt.Errorf("connect feed: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return false, fmt.Errorf("connect feed: origin answered %s", resp.Status)
	}
	body, ok := resp.Body.(interface{ GetRawJSBody() js.Value })
	if !ok {
		resp.Body.Close()
		return false, errors.New("connect feed: the response body is not a JavaScript stream")
	}
	src := &feedPump{pump: jsFeeds.Call("open", body.GetRawJSBody(), cfg.FeedBuffer)}
	var closeOnce sync.Once
	closeBody := func() { closeOnce.Do(src.cancel) }
	defer closeBody()
	watchdog := time.AfterFunc(cfg.FeedTimeout, func() {
		log.Printf("edge: no frame from the origin for %s, reconnecting", cfg.FeedTimeout)
		closeBody()
	})
	defer watchdog.Stop()

	r := frame.NewReader(src, 0)
	var batch []*edge.Event
	lastClient := time.Now()
	for r.Next() {
		connected = true
		watchdog.Reset(cfg.FeedTimeout)
		if h.Subscribers() > 0 {
			lastClient = time.Now()
		} else if time.Since(lastClient) > cfg.UpstreamIdle {
			return true, errIdle
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
		// Deliver everything taken from the pump together: one write per
		// client. If that fan-out was a big one, the next take collects.
		if len(batch) > 0 && !r.Buffered() && !src.pending() {
			if h.Deliver(batch) >= collectAfter {
				src.collect = cfg.FeedCollect
			} else {
				src.collect = 0
			}
			batch = batch[:0]
		}
	}
	if err := r.Err(); err != nil {
		return connected, fmt.Errorf("read feed: %w", err)
	}
	return connected, fmt.Errorf("read feed: origin closed the stream")
}

// jsFeeds is the feed pump of entry.mjs (feeds.open), set by runHub.
var jsFeeds js.Value

// feedPump is an io.Reader over the feed pump of entry.mjs: each refill
// takes every chunk the pump read since the last one, as one byte slice.
type feedPump struct {
	pump    js.Value
	buf     []byte
	off     int
	collect time.Duration // how long the next refill collects after data arrives
}

func (p *feedPump) Read(b []byte) (int, error) {
	if p.off == len(p.buf) {
		if err := p.refill(); err != nil {
			return 0, err
		}
	}
	n := copy(b, p.buf[p.off:])
	p.off += n
	return n, nil
}

// pending reports whether bytes of the last refill are still unread.
func (p *feedPump) pending() bool { return p.off < len(p.buf) }

func (p *feedPump) refill() error {
	res, err := await(p.pump.Call("take", p.collect.Milliseconds()))
	if err != nil {
		return err
	}
	bytes := res.Get("bytes")
	if bytes.IsUndefined() {
		if msg := res.Get("error").String(); msg != "" {
			return errors.New(msg)
		}
		return io.EOF
	}
	n := bytes.Get("byteLength").Int()
	if cap(p.buf) < n {
		p.buf = make([]byte, n)
	}
	p.buf = p.buf[:n]
	js.CopyBytesToGo(p.buf, bytes)
	p.off = 0
	return nil
}

func (p *feedPump) cancel() { p.pump.Call("cancel") }

// await waits for a JavaScript promise.
func await(promise js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	then := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{v: args[0]}
		return nil
	})
	catch := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{err: errors.New(args[0].Call("toString").String())}
		return nil
	})
	defer then.Release()
	defer catch.Release()
	promise.Call("then", then, catch)
	r := <-ch
	return r.v, r.err
}
