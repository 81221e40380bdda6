//go:build js && wasm

package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sync"
	"syscall/js"
	"time"

	"github.com/syumai/workers"

	"github.com/edge-sse/edge-sse/worker/edge"
)

// The stream bridge of the resident hub instance. syumai's response bridge
// pumps an io.Pipe into a ReadableStream and calls controller.close() on a
// stream the client already cancelled; in a resident instance that JS error
// becomes a Go panic that kills every stream of the object (DESIGN.md fact
// 5). This bridge instead writes each event's bytes straight into the
// client's ReadableStream controller through the enqueue/close helpers of
// entry.mjs, which catch every JS exception (Workers forbid building them
// from strings here), and removes the client on the first failure or on
// cancel.

var uint8Array = js.Global().Get("Uint8Array")

// jsEnqueue(controller, chunk, limit) bool and jsClose(controller) are the
// exception-safe helpers of entry.mjs, set by runHub.
var jsEnqueue, jsClose js.Value

// streamSink is a client's ReadableStream controller.
type streamSink struct {
	controller js.Value
	limit      int
}

// Write implements edge.Sink. The event's bytes become a Uint8Array once,
// shared by every client that receives the event.
func (s *streamSink) Write(c *edge.Chunk) bool {
	u, ok := c.Native.(js.Value)
	if !ok {
		u = uint8Array.New(len(c.Bytes))
		js.CopyBytesToJS(u, c.Bytes)
		c.Native = u
	}
	return jsEnqueue.Invoke(s.controller, u, s.limit).Bool()
}

// Close implements edge.Sink.
func (s *streamSink) Close() { jsClose.Invoke(s.controller) }

// pendingClient is a client that open accepted and attach has not yet bound
// to its stream.
type pendingClient struct {
	match       func([][]byte, bool) bool
	lastEventID string
}

type hubInstance struct {
	cfg     config
	hub     *edge.Hub
	mu      sync.Mutex
	pending map[uint64]pendingClient
	up      sync.Once
}

func runHub() {
	streams := js.Global().Get("context").Get("streams")
	jsEnqueue, jsClose = streams.Get("enqueue"), streams.Get("close")
	cfg := envConfig()
	h := &hubInstance{cfg: cfg, hub: edge.NewHub(cfg.RingSize), pending: make(map[uint64]pendingClient)}
	binding := js.Global().Get("context").Get("binding")
	binding.Set("open", js.FuncOf(h.open))
	binding.Set("attach", js.FuncOf(h.attach))
	binding.Set("detach", js.FuncOf(h.detach))
	binding.Set("stats", js.FuncOf(h.stats))
	go func() {
		for range time.Tick(cfg.Heartbeat) {
			h.hub.Heartbeat()
		}
	}()
	workers.Ready()
	select {} // resident: serve callbacks until the object is evicted
}

// open(url, lastEventID, authorization, cookie) checks a subscribe request
// and returns {status, headers, body} or, when accepted, {status: 200, id, headers}.
func (h *hubInstance) open(_ js.Value, args []js.Value) any {
	res := js.Global().Get("Object").New()
	headers := http.Header{}
	headers.Set("Access-Control-Allow-Origin", h.cfg.CORSOrigins)
	refuse := func(status int, msg string) any {
		headers.Set("Content-Type", "text/plain; charset=utf-8")
		res.Set("status", status)
		res.Set("body", msg+"\n")
		res.Set("headers", headerJSON(headers))
		return res
	}
	u, err := url.Parse(args[0].String())
	if err != nil {
		return refuse(http.StatusBadRequest, "invalid request URL")
	}
	q := u.Query()
	selectors := q["topic"]
	if len(selectors) == 0 {
		return refuse(http.StatusBadRequest, "missing topic: add at least one topic query parameter, or topic=* for all")
	}
	last := args[1].String()
	if last == "" {
		last = q.Get("lastEventID")
	}
	if last == "" {
		last = q.Get("last_event_id")
	}
	id := h.hub.NextID()
	h.mu.Lock()
	h.pending[id] = pendingClient{match: matchSelectors(selectors), lastEventID: last}
	h.mu.Unlock()

	headers.Set("Content-Type", "text/event-stream")
	headers.Set("Cache-Control", "no-store")
	headers.Set("Last-Event-ID", h.hub.LastEventID())
	res.Set("status", http.StatusOK)
	res.Set("id", float64(id))
	res.Set("headers", headerJSON(headers))
	return res
}

// attach(id, controller) binds an opened client to its stream.
func (h *hubInstance) attach(_ js.Value, args []js.Value) any {
	id := uint64(args[0].Float())
	h.mu.Lock()
	p, ok := h.pending[id]
	delete(h.pending, id)
	h.mu.Unlock()
	sink := &streamSink{controller: args[1], limit: h.cfg.ClientQueue}
	if !ok {
		sink.Close()
		return nil
	}
	h.up.Do(func() { go runUpstream(h.cfg, h.hub) })
	if !h.hub.Add(&edge.Client{ID: id, Sink: sink, Match: p.match}, p.lastEventID) {
		sink.Close()
	}
	return nil
}

// detach(id) removes a client whose stream was cancelled.
func (h *hubInstance) detach(_ js.Value, args []js.Value) any {
	h.hub.Remove(uint64(args[0].Float()))
	return nil
}

func (h *hubInstance) stats(js.Value, []js.Value) any {
	b, _ := json.Marshal(h.hub.Stats())
	return string(b)
}

func headerJSON(h http.Header) string {
	m := make(map[string]string, len(h))
	for k := range h {
		m[k] = h.Get(k)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// matchSelectors matches exact topics and "*"; private events are not
// delivered until the client's token grants them.
func matchSelectors(selectors []string) func([][]byte, bool) bool {
	all := false
	set := make(map[string]bool, len(selectors))
	for _, s := range selectors {
		if s == "*" {
			all = true
		}
		set[s] = true
	}
	return func(topics [][]byte, private bool) bool {
		if private {
			return false
		}
		if all {
			return true
		}
		for _, t := range topics {
			if set[string(t)] {
				return true
			}
		}
		return false
	}
}
