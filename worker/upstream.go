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
