//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"log"
	"net/http"
	"sync"
	"syscall/js"
	"time"

	"github.com/edge-sse/edge-sse/shared/presence"
	"github.com/edge-sse/edge-sse/shared/topic"
	"github.com/edge-sse/edge-sse/worker/admit"
	"github.com/edge-sse/edge-sse/worker/edge"
	"github.com/edge-sse/edge-sse/worker/jsapi"
	"github.com/edge-sse/edge-sse/worker/roster"
)

// The stream bridge of the resident hub instance. syumai's response bridge
// pumps an io.Pipe into a ReadableStream and calls controller.close() on a
// stream the client already cancelled; in a resident instance that JS error
// becomes a Go panic that kills every stream of the object (seen under
// wrangler dev: one client leaving ended every stream of its object with
// "This ReadableStream is closed"). This bridge instead writes each event's
// bytes straight into the client's ReadableStream controller through the
// enqueue/close helpers of entry.mjs, which catch every JS exception
// (Workers forbid building them from strings here), and removes the client
// on the first failure or on cancel.

var uint8Array = js.Global().Get("Uint8Array")

// jsEnqueue(controller, chunk, limit) int and jsClose(controller) are the
// exception-safe helpers of entry.mjs, set by runHub.
var jsEnqueue, jsClose js.Value

// jsStream is a client's ReadableStream controller.
type jsStream struct{ controller js.Value }

// Enqueue implements edge.Writer. The event's bytes become a Uint8Array
// once, shared by every client that receives the event.
func (s jsStream) Enqueue(c *edge.Chunk, limit int) int {
	u, ok := c.Native.(js.Value)
	if !ok {
		u = uint8Array.New(len(c.Bytes))
		js.CopyBytesToJS(u, c.Bytes)
		c.Native = u
	}
	return jsEnqueue.Invoke(s.controller, u, limit).Int()
}

// Close implements edge.Writer.
func (s jsStream) Close() { jsClose.Invoke(s.controller) }

// pendingClient is a client that open accepted and attach has not yet bound
// to its stream.
type pendingClient struct {
	match       func(*edge.Event) bool
	release     func()
	lastEventID string
	expires     time.Time
	// subscriber and topics are the connection's presence (SUBSCRIPTIONS).
	subscriber string
	topics     []presence.Topic
}

// hubInstance is the resident Go side of one EdgeHub object. The hub is
// created on the first request, once the public hub URL is known.
// hubInstance locks: mu before the hub's own lock, never the reverse.
type hubInstance struct {
	cfg     config
	gate    *admit.Gate
	initErr error
	init    sync.Once
	hub     *edge.Hub
	mu      sync.Mutex
	pending map[uint64]pendingClient
	// feed is the hub's upstream feed, set with hub.
	feed *edge.Feed
	// roster holds and reports the object's subscriptions when
	// SUBSCRIPTIONS is on; nil otherwise.
	roster *roster.Roster
}

// setup creates the admission gate and the hub, and starts the
// heartbeat. It reads the configuration only: nothing of a request (its
// Host, say) may shape what later clients match.
func (h *hubInstance) setup() error {
	h.init.Do(func() {
		if err := h.cfg.FeedProblem(); err != nil {
			log.Printf("edge: refusing to open the origin feed: %v", err)
			h.initErr = err
			return
		}
		verifier, err := h.cfg.Verifier()
		if err != nil {
			h.initErr = err
			return
		}
		h.gate, err = admit.New(admit.Config{
			PublicURL:      h.cfg.PublicURL,
			Verifier:       verifier,
			AllowAnonymous: h.cfg.AllowAnonymous,
			Limits: topic.Config{
				MaxSelectors:    h.cfg.MaxSelectors,
				MaxTopicLen:     h.cfg.MaxTopicBytes,
				MaxSelectorCost: h.cfg.MaxSelectorCost,
				MaxSetCost:      h.cfg.MaxSubscriptionCost,
			},
			MaxHubCost:     h.cfg.MaxHubCost,
			MaxLastEventID: h.cfg.MaxLastEventID,
			MaxClients:     h.cfg.MaxClients,
			MaxCatchup:     h.cfg.MaxCatchup,
			CORSOrigins:    h.cfg.CORSOrigins,
			Retry:          h.cfg.Retry,
		})
		if err != nil {
			h.initErr = err
			return
		}
		h.hub = edge.NewHub(h.gate.Compiler(), h.cfg.RingSize)
		h.hub.Matching = h.gate.Registry()
		for _, a := range h.cfg.Advice() {
			log.Printf("edge: advice: %s", a)
		}
		h.hub.Budget = edge.Budget{CPU: h.cfg.CPUBudget, WriteCost: h.cfg.WriteCost, ShedAt: h.cfg.ShedAt, ShedPct: h.cfg.ShedPct}
		h.connect()
		if h.cfg.Subscriptions {
			h.roster = roster.New(roster.Config{
				Post:       func(ctx context.Context, body []byte) (int, []byte, error) { return postPresence(ctx, h.cfg, body) },
				Batch:      h.cfg.PresenceBatch,
				MaxPending: h.cfg.PresenceMaxPending,
			})
			go h.roster.Run(context.Background())
		}
		// Probe rounds, not one heartbeat per interval: a departed client
		// is found within 2 × CLIENT_HEARTBEAT_MS (edge.ProbesPerHeartbeat).
		go func() {
			for range time.Tick(max(h.cfg.Heartbeat/edge.ProbesPerHeartbeat, time.Millisecond)) {
				h.hub.Probe()
			}
		}()
	})
	return h.initErr
}

// open(url, lastEventID, authorization, cookie) answers a subscribe request
// (each header as Headers.get combines its values) with {status, headers,
// body} or, when admitted, {status: 200, id, headers}; package admit
// decides.
func (h *hubInstance) open(_ js.Value, args []js.Value) any {
	res := js.Global().Get("Object").New()
	if err := h.setup(); err != nil {
		res.Set(jsapi.OpenStatus, http.StatusInternalServerError)
		res.Set(jsapi.OpenBody, "edge hub misconfigured: "+err.Error()+"\n")
		res.Set(jsapi.OpenHeaders, headerJSON(http.Header{
			"Content-Type":                {"text/plain; charset=utf-8"},
			"Access-Control-Allow-Origin": {h.cfg.CORSOrigins},
		}))
		return res
	}
	// A subscribe request is an incoming request: the platform gives the
	// object a fresh CPU budget, and so does the hub's account.
	h.hub.Touch()
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.gate.Open(admit.Request{
		URL:           args[0].String(),
		LastEventID:   args[1].String(),
		Authorization: args[2].String(),
		Cookie:        args[3].String(),
	}, hubState{h})
	res.Set(jsapi.OpenStatus, a.Status)
	res.Set(jsapi.OpenHeaders, headerJSON(a.Header))
	if a.Sub == nil {
		res.Set(jsapi.OpenBody, a.Body)
		return res
	}
	id := h.hub.NextID()
	sub := a.Sub
	h.pending[id] = pendingClient{
		match:       func(e *edge.Event) bool { return sub.CanReceive(e.Topics, e.Private) },
		release:     sub.Release,
		lastEventID: sub.Resume,
		expires:     sub.Expires,
	}
	if h.roster != nil {
		p := h.pending[id]
		p.subscriber, p.topics = presence.NewSubscriberID(), roster.Topics(sub, h.gate.Grants())
		h.pending[id] = p
	}
	res.Set(jsapi.OpenID, float64(id))
	return res
}

// hubState is what the gate reads of the hub; h.mu is held.
type hubState struct{ h *hubInstance }

func (s hubState) Streams() int          { return s.h.hub.Subscribers() + len(s.h.pending) }
func (s hubState) InRing(id string) bool { return s.h.hub.InRing(id) }
func (s hubState) CatchingUp() int       { return s.h.hub.CatchingUp() }
func (s hubState) LastEventID() string   { return s.h.hub.LastEventID() }

// attach(id, controller) binds an opened client to its stream.
func (h *hubInstance) attach(_ js.Value, args []js.Value) any {
	id := uint64(args[0].Float())
	h.mu.Lock()
	p, ok := h.pending[id]
	delete(h.pending, id)
	h.mu.Unlock()
	w := jsStream{controller: args[1]}
	if !ok {
		w.Close()
		return nil
	}
	o := edge.StreamOptions{
		Queue:       h.cfg.ClientQueue,
		Stall:       h.cfg.ClientStall,
		Retry:       h.cfg.Retry,
		RetryJitter: h.cfg.RetryJitter,
		MaxStream:   h.cfg.MaxStream,
	}
	release := p.release
	if h.roster != nil {
		// Added before the hub holds the client, removed when the hub
		// forgets it, however its stream ends (client left, slow, token
		// expired, lifetime, gap): the hub calls release exactly then.
		h.roster.Add(p.subscriber, p.topics)
		release = func() {
			p.release()
			h.roster.Remove(p.subscriber)
		}
	}
	if h.hub.Attach(id, w, p.match, release, p.lastEventID, p.expires, o) {
		h.feed.Start()
	}
	return nil
}

// detach(id) removes a client whose stream was cancelled.
func (h *hubInstance) detach(_ js.Value, args []js.Value) any {
	if h.hub != nil {
		h.hub.Remove(uint64(args[0].Float()))
	}
	return nil
}

func (h *hubInstance) stats(js.Value, []js.Value) any {
	var st struct {
		edge.Stats
		Limits   map[string]int64 `json:"limits"`
		Presence *roster.Stats    `json:"presence,omitempty"`
	}
	if h.hub != nil {
		st.Stats = h.hub.Stats()
		h.hub.Touch() // an incoming request, after the account is shown
	}
	if h.roster != nil {
		ps := h.roster.Stats()
		st.Presence = &ps
	}
	st.Limits = h.cfg.Limits()
	b, _ := json.Marshal(st)
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
