//go:build js && wasm

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"syscall/js"
	"time"

	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/mercure"
	"github.com/edge-sse/edge-sse/shared/topic"
	"github.com/edge-sse/edge-sse/worker/edge"
	"github.com/edge-sse/edge-sse/worker/jsapi"
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
	lastEventID string
	expires     time.Time
}

// hubInstance is the resident Go side of one EdgeHub object. The hub is
// created on the first request, once the public hub URL is known.
// hubInstance locks: mu before the hub's own lock, never the reverse.
type hubInstance struct {
	cfg      config
	verifier *auth.Verifier
	initErr  error
	init     sync.Once
	hub      *edge.Hub
	mu       sync.Mutex
	pending  map[uint64]pendingClient
	// feed is the hub's upstream feed, set with hub.
	feed *edge.Feed
}

// setup creates the hub for the public URL u (PUBLIC_URL wins) and starts
// the heartbeat.
func (h *hubInstance) setup(u *url.URL) error {
	h.init.Do(func() {
		hubURL := h.cfg.PublicURL
		if hubURL == "" {
			hubURL = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: mercure.Path}).String()
		}
		c, err := topic.NewCompiler(topic.Config{HubURL: hubURL})
		if err != nil {
			h.initErr = err
			return
		}
		if h.verifier, err = h.cfg.verifier(); err != nil {
			h.initErr = err
			return
		}
		h.hub = edge.NewHub(c, h.cfg.RingSize)
		h.connect()
		go func() {
			for range time.Tick(h.cfg.Heartbeat) {
				h.hub.Heartbeat()
			}
		}()
	})
	return h.initErr
}

// open(url, lastEventID, authorization, cookie) checks a subscribe request
// and returns {status, headers, body} or, when accepted, {status: 200, id, headers}.
func (h *hubInstance) open(_ js.Value, args []js.Value) any {
	res := js.Global().Get("Object").New()
	headers := http.Header{}
	headers.Set("Access-Control-Allow-Origin", h.cfg.CORSOrigins)
	refuse := func(status int, msg string) any {
		headers.Set("Content-Type", "text/plain; charset=utf-8")
		res.Set(jsapi.OpenStatus, status)
		res.Set(jsapi.OpenBody, msg+"\n")
		res.Set(jsapi.OpenHeaders, headerJSON(headers))
		return res
	}
	u, err := url.Parse(args[0].String())
	if err != nil {
		return refuse(http.StatusBadRequest, "invalid request URL")
	}
	if err := h.setup(u); err != nil {
		return refuse(http.StatusInternalServerError, "edge hub misconfigured: "+err.Error())
	}
	q := u.Query()
	sub, err := mercure.Selectors(h.hub.Compiler(), q)
	if err != nil {
		return refuse(http.StatusBadRequest, err.Error())
	}
	grant, expires, status, msg := h.authorize(args[2].String(), args[3].String())
	if status != 0 {
		headers.Set("WWW-Authenticate", msg.challenge)
		return refuse(status, msg.text)
	}
	h.mu.Lock()
	full := h.hub.Subscribers()+len(h.pending) >= h.cfg.MaxClients
	h.mu.Unlock()
	retryAfter := strconv.Itoa(int(max(h.cfg.Retry, time.Second) / time.Second))
	if full {
		headers.Set("Retry-After", retryAfter)
		return refuse(http.StatusServiceUnavailable, fmt.Sprintf("this edge hub holds its limit of %d streams (MAX_CLIENTS); retry later", h.cfg.MaxClients))
	}
	last := args[1].String()
	if last == "" {
		last = q.Get("lastEventID")
	}
	if last == "" {
		last = q.Get("last_event_id")
	}
	// A client resuming from before the ring waits, its live events held,
	// for the origin's history: bound how many do at once.
	if last != "" && !h.hub.InRing(last) && h.hub.CatchingUp() >= h.cfg.MaxCatchup {
		headers.Set("Retry-After", retryAfter)
		return refuse(http.StatusServiceUnavailable, fmt.Sprintf("this edge hub is catching up its limit of %d streams from the origin (MAX_CATCHUP); retry later", h.cfg.MaxCatchup))
	}
	id := h.hub.NextID()
	h.mu.Lock()
	h.pending[id] = pendingClient{
		match:       func(e *edge.Event) bool { return mercure.CanReceive(sub, grant, e.Topics, e.Private) },
		lastEventID: last,
		expires:     expires,
	}
	h.mu.Unlock()

	headers.Set("Content-Type", "text/event-stream")
	headers.Set("Cache-Control", "no-store")
	headers.Set("Last-Event-ID", h.hub.LastEventID())
	res.Set(jsapi.OpenStatus, http.StatusOK)
	res.Set(jsapi.OpenID, float64(id))
	res.Set(jsapi.OpenHeaders, headerJSON(headers))
	return res
}

type authFailure struct{ text, challenge string }

// authorize checks the subscriber's token, if any (Mercure §"Authorization").
// It returns the grants of a valid token (nil for an anonymous subscriber)
// and its expiry, or a non-zero status with the reason.
func (h *hubInstance) authorize(authorization, cookie string) (*topic.Set, time.Time, int, authFailure) {
	token, err := auth.TokenFromRequest(authorization, cookie)
	if errors.Is(err, auth.ErrNoToken) && h.cfg.AllowAnonymous {
		return nil, time.Time{}, 0, authFailure{}
	}
	if err == nil && h.verifier == nil {
		err = errors.New("this hub has no key to check subscriber tokens (set JWT_KEY or JWT_JWKS)")
	}
	var claims *auth.Claims
	if err == nil {
		claims, err = h.verifier.Verify(token)
	}
	var grant *topic.Set
	if err == nil {
		grant, err = mercure.Grants(h.hub.Compiler(), claims.Subscribe)
	}
	if err != nil {
		status, challenge := auth.Challenge(err, "")
		return nil, time.Time{}, status, authFailure{text: err.Error(), challenge: challenge}
	}
	return grant, claims.ExpiresAt, 0, authFailure{}
}

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
	if h.hub.Attach(id, w, p.match, p.lastEventID, p.expires, o) {
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
		Limits map[string]int64 `json:"limits"`
	}
	if h.hub != nil {
		st.Stats = h.hub.Stats()
	}
	st.Limits = h.cfg.limits()
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
