//go:build js && wasm

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"syscall/js"
	"time"

	"github.com/syumai/workers/cloudflare/fetch"

	"github.com/edge-sse/edge-sse/shared/mercure"
	"github.com/edge-sse/edge-sse/shared/presence"
	"github.com/edge-sse/edge-sse/worker/edge"
	"github.com/edge-sse/edge-sse/worker/jsapi"
)

// The hub's requests to the origin: the live feed, read through the feed
// pump of feedpump.mjs, and ranges of its history for catch-up.

// connect gives the hub its feed and its catch-up fetcher.
func (h *hubInstance) connect() {
	h.feed = &edge.Feed{
		Hub:     h.hub,
		Dial:    func(after string) (io.ReadCloser, error) { return dialFeed(h.cfg, after) },
		Timeout: h.cfg.FeedTimeout,
		Idle:    h.cfg.UpstreamIdle,
		Collect: h.cfg.FeedCollect,
	}
	fetcher := &edge.Fetcher{
		Hub: h.hub,
		Fetch: func(after, until string) (io.ReadCloser, error) {
			resp, err := originGet(h.cfg, url.Values{"lastEventID": {after}, "until": {until}})
			if err != nil {
				return nil, err
			}
			return resp.Body, nil
		},
		Timeout: h.cfg.FeedTimeout,
	}
	h.hub.OnFetch = fetcher.Start
}

// originGet asks the origin's edge feed with the query q.
func originGet(cfg config, q url.Values) (*http.Response, error) {
	u := cfg.OriginURL + mercure.FeedPath
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := fetch.NewRequest(context.Background(), http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+cfg.FeedSecret)
	resp, err := fetch.NewClient().Do(req, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("origin answered %s", resp.Status)
	}
	return resp, nil
}

// postPresence sends one presence report to the origin (roster.Poster).
func postPresence(ctx context.Context, cfg config, body []byte) (int, []byte, error) {
	req, err := fetch.NewRequest(ctx, http.MethodPost, cfg.OriginURL+presence.Path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+cfg.FeedSecret)
	req.Header.Set("Content-Type", presence.ContentType)
	resp, err := fetch.NewClient().Do(req, nil)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, answer, nil
}

// dialFeed opens the live feed after the id after and hands its body to
// the feed pump.
func dialFeed(cfg config, after string) (io.ReadCloser, error) {
	q := url.Values{}
	if after != "" {
		q.Set("lastEventID", after)
	}
	resp, err := originGet(cfg, q)
	if err != nil {
		return nil, err
	}
	body, ok := resp.Body.(interface{ GetRawJSBody() js.Value })
	if !ok {
		resp.Body.Close()
		return nil, errors.New("the response body is not a JavaScript stream")
	}
	return &feedPump{pump: jsFeeds.Call(jsapi.FeedsOpen, body.GetRawJSBody(), cfg.FeedBuffer)}, nil
}

// jsFeeds is the feed pump of feedpump.mjs (feeds.open), set by runHub.
var jsFeeds js.Value

// feedPump is an io.Reader over the feed pump: each refill takes every
// chunk the pump read since the last one, as one byte slice. As an
// edge.Collector it lets the feed loop collect after a large fan-out.
type feedPump struct {
	pump    js.Value
	buf     []byte
	off     int
	collect time.Duration // how long the next refill (only) collects after data arrives
	// arrived and taken are the last refill's stamps (edge.Stamper).
	arrived, taken time.Time
}

var (
	_ edge.Collector = (*feedPump)(nil)
	_ edge.Stamper   = (*feedPump)(nil)
	_ edge.Arrivals  = (*feedPump)(nil)
)

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

func (p *feedPump) Pending() bool           { return p.off < len(p.buf) }
func (p *feedPump) Collect(d time.Duration) { p.collect = d }
func (p *feedPump) Stamps() (arrived, taken time.Time) {
	return p.arrived, p.taken
}
func (p *feedPump) Close() error { p.pump.Call(jsapi.PumpCancel); return nil }

// Arrived implements edge.Arrivals: bytes of the last refill are unread,
// or the pump holds more.
func (p *feedPump) Arrived() bool {
	return p.Pending() || p.pump.Call(jsapi.PumpReady).Bool()
}

func (p *feedPump) refill() error {
	// The collect applies to the first refill after a fan-out only: a
	// refill that completes a frame split across reads must not wait.
	collect := p.collect
	p.collect = 0
	res, err := await(p.pump.Call(jsapi.PumpTake, collect.Milliseconds()))
	if err != nil {
		return err
	}
	bytes := res.Get(jsapi.TakeBytes)
	if bytes.IsUndefined() {
		if msg := res.Get(jsapi.TakeError).String(); msg != "" {
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
	p.arrived = time.UnixMilli(int64(res.Get(jsapi.TakeArrivedAt).Float()))
	p.taken = time.UnixMilli(int64(res.Get(jsapi.TakeTakenAt).Float()))
	return nil
}

// await waits for promise to settle and returns its value, or its
// rejection as an error. It goes through streams.settle with one callback
// made once (awaits.wake) and a number naming this wait, rather than
// making a then and a catch function for every await: each js.FuncOf is a
// call out to JavaScript and a finalized Go value, and the hub awaits at
// every yield between the slices of a fan-out and at every take from its
// feed (perf of a burst, 2026-12-05, µs of the hub's CPU per client
// write: the yields 1.20 → 0.31, the feed's takes 1.93 → 0.94;
// docs/EVIDENCE.md, "Awaits").
func await(promise js.Value) (js.Value, error) {
	n, ch := awaits.add()
	jsSettle.Invoke(promise, awaits.wake, n)
	r := <-ch
	return r.v, r.err
}

// awaitResult is a settled promise: its value, or its rejection.
type awaitResult struct {
	v   js.Value
	err error
}

// awaitTable is the instance's waits in progress, by number, and the one
// callback settle calls for all of them.
type awaitTable struct {
	mu      sync.Mutex
	next    int
	waiting map[int]chan awaitResult
	wake    js.Func
}

// awaits is the hub instance's (runHub sets it).
var awaits *awaitTable

func newAwaitTable() *awaitTable {
	t := &awaitTable{waiting: make(map[int]chan awaitResult)}
	t.wake = js.FuncOf(t.settled)
	return t
}

// add registers a wait and returns its number and where its result comes.
func (t *awaitTable) add() (int, chan awaitResult) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// Numbers stay below 2^31 (a JS number either way) and are reused
	// only long after: a wait outstanding for 2^31 others is not.
	t.next = (t.next + 1) & (1<<31 - 1)
	ch := make(chan awaitResult, 1)
	t.waiting[t.next] = ch
	return t.next, ch
}

// settled is wake: settle calls it with (n, value) or (n, undefined,
// message).
func (t *awaitTable) settled(_ js.Value, args []js.Value) any {
	if len(args) < 2 {
		return nil
	}
	n := args[0].Int()
	t.mu.Lock()
	ch, ok := t.waiting[n]
	delete(t.waiting, n)
	t.mu.Unlock()
	if !ok {
		return nil
	}
	if len(args) > 2 {
		ch <- awaitResult{err: errors.New(args[2].String())}
	} else {
		ch <- awaitResult{v: args[1]}
	}
	return nil
}
