//go:build js && wasm

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall/js"
	"time"

	"github.com/syumai/workers"

	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/mercure"
	"github.com/edge-sse/edge-sse/shared/sse"
	"github.com/edge-sse/edge-sse/shared/topic"
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
	// stallLimit is how long chunks may keep waiting for the client
	// without it reading any; stalledSince is when they began to.
	stallLimit   time.Duration
	stalledSince time.Time
	// end, when set, closes the stream at the end of its lifetime; Close
	// stops it, so a client that left holds no timer for the rest of
	// MAX_STREAM_MS (at 450 new streams/s that was ~800k timers).
	end    atomic.Pointer[time.Timer]
	closed atomic.Bool
}

// Write implements edge.Sink. The event's bytes become a Uint8Array once,
// shared by every client that receives the event.
//
// Besides a failed write and more than limit chunks waiting, a client is
// dropped when an earlier chunk has still been waiting at every write for
// stallLimit: nobody reads its stream (a client whose connection stalls,
// or a stream workerd stopped reading without cancelling it). Without
// this the hub would hold such a stream until limit heartbeats had
// accumulated: hours with the production defaults.
func (s *streamSink) Write(c *edge.Chunk) bool {
	u, ok := c.Native.(js.Value)
	if !ok {
		u = uint8Array.New(len(c.Bytes))
		js.CopyBytesToJS(u, c.Bytes)
		c.Native = u
	}
	waiting := jsEnqueue.Invoke(s.controller, u, s.limit).Int()
	switch {
	case waiting < 0:
		return false
	case waiting < 2: // read up to the chunk just written
		s.stalledSince = time.Time{}
	case s.stalledSince.IsZero():
		s.stalledSince = time.Now()
	case s.stallLimit > 0 && time.Since(s.stalledSince) > s.stallLimit:
		return false
	}
	return true
}

// Close implements edge.Sink.
func (s *streamSink) Close() {
	s.closed.Store(true)
	s.stopEnd()
	jsClose.Invoke(s.controller)
}

// setEnd arms the stream's lifetime timer, unless the stream was closed
// meanwhile.
func (s *streamSink) setEnd(t *time.Timer) {
	s.end.Store(t)
	if s.closed.Load() {
		s.stopEnd()
	}
}

func (s *streamSink) stopEnd() {
	if t := s.end.Swap(nil); t != nil {
		t.Stop()
	}
}

// pendingClient is a client that open accepted and attach has not yet bound
// to its stream.
type pendingClient struct {
	match       func(*edge.Event) bool
	release     func()
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
	grants   *topic.Compiler // subscriber tokens' grants
	mu       sync.Mutex
	pending  map[uint64]pendingClient
	// upstream is true while runUpstream runs; guarded by mu.
	upstream bool
}

func runHub() {
	streams := js.Global().Get("context").Get("streams")
	jsEnqueue, jsClose = streams.Get("enqueue"), streams.Get("close")
	jsFeeds = js.Global().Get("context").Get("feeds")
	h := &hubInstance{cfg: envConfig(), pending: make(map[uint64]pendingClient)}
	binding := js.Global().Get("context").Get("binding")
	binding.Set("open", js.FuncOf(h.open))
	binding.Set("attach", js.FuncOf(h.attach))
	binding.Set("detach", js.FuncOf(h.detach))
	binding.Set("stats", js.FuncOf(h.stats))
	workers.Ready()
	select {} // resident: serve callbacks until the object is evicted
}

// setup creates the hub for the public URL u (PUBLIC_URL wins) and starts
// the heartbeat.
func (h *hubInstance) setup(u *url.URL) error {
	h.init.Do(func() {
		hubURL := h.cfg.PublicURL
		if hubURL == "" {
			hubURL = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: mercure.Path}).String()
		}
		c, err := topic.NewCompiler(h.cfg.topicConfig(hubURL))
		if err != nil {
			h.initErr = err
			return
		}
		// Grants come from tokens the application signed: their match cost
		// is its choice, and they are not charged to the hub.
		h.grants, _ = topic.NewCompiler(topic.Config{HubURL: hubURL, MaxTopicLen: h.cfg.MaxTopicBytes, MaxSelectorCost: math.MaxInt64, MaxSetCost: math.MaxInt64})
		reg := topic.NewRegistry(h.cfg.MaxHubCost)
		c = c.Shared(reg)
		if h.verifier, err = h.cfg.verifier(); err != nil {
			h.initErr = err
			return
		}
		h.hub = edge.NewHub(c, h.cfg.RingSize)
		h.hub.Matching = reg
		h.hub.OnFetch = func(f edge.Fetch) { go catchup(h.cfg, h.hub, f) }
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
		res.Set("status", status)
		res.Set("body", msg+"\n")
		res.Set("headers", headerJSON(headers))
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
	retryAfter := strconv.Itoa(int(max(h.cfg.Retry, time.Second) / time.Second))
	sub, err := mercure.Selectors(h.hub.Compiler(), q)
	if err != nil {
		return refuse(selectorRefusal(err, headers, retryAfter))
	}
	grant, expires, status, msg := h.authorize(args[2].String(), args[3].String())
	release := sub.Release
	if status != 0 {
		release()
		headers.Set("WWW-Authenticate", msg.challenge)
		return refuse(status, msg.text)
	}
	h.mu.Lock()
	full := h.hub.Subscribers()+len(h.pending) >= h.cfg.MaxClients
	h.mu.Unlock()
	if full {
		release()
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
		release()
		headers.Set("Retry-After", retryAfter)
		return refuse(http.StatusServiceUnavailable, fmt.Sprintf("this edge hub is catching up its limit of %d streams from the origin (MAX_CATCHUP); retry later", h.cfg.MaxCatchup))
	}
	id := h.hub.NextID()
	h.mu.Lock()
	h.pending[id] = pendingClient{
		match:       func(e *edge.Event) bool { return mercure.CanReceive(sub, grant, e.Topics, e.Private) },
		release:     release,
		lastEventID: last,
		expires:     expires,
	}
	h.mu.Unlock()

	headers.Set("Content-Type", "text/event-stream")
	headers.Set("Cache-Control", "no-store")
	headers.Set("Last-Event-ID", h.hub.LastEventID())
	res.Set("status", http.StatusOK)
	res.Set("id", float64(id))
	res.Set("headers", headerJSON(headers))
	return res
}

type authFailure struct{ text, challenge string }

// selectorRefusal answers a selector or grant compile error: 400, naming
// the var that raises a cost limit, or 503 with Retry-After when the hub's
// matching budget (MAX_HUB_COST) cannot take the new costly selectors now.
func selectorRefusal(err error, headers http.Header, retryAfter string) (int, string) {
	switch {
	case errors.Is(err, topic.ErrSelectorCost):
		return http.StatusBadRequest, err.Error() + " (the hub's MAX_SELECTOR_COST)"
	case errors.Is(err, topic.ErrSetCost):
		return http.StatusBadRequest, err.Error() + " (the hub's MAX_SUBSCRIPTION_COST)"
	case errors.Is(err, topic.ErrHubCost):
		headers.Set("Retry-After", retryAfter)
		return http.StatusServiceUnavailable, err.Error() + " (the hub's MAX_HUB_COST)"
	}
	return http.StatusBadRequest, err.Error()
}

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
		grant, err = mercure.Grants(h.grants, claims.Subscribe)
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
	sink := &streamSink{controller: args[1], limit: h.cfg.ClientQueue, stallLimit: h.cfg.ClientStall}
	if !ok {
		sink.Close()
		return nil
	}
	// Advise a reconnection delay with jitter, so that clients cut off
	// together (a deploy, a runtime restart) do not all return at once.
	retry := h.cfg.Retry + rand.N(h.cfg.RetryJitter+1)
	sink.Write(&edge.Chunk{Bytes: sse.AppendRetry(nil, int(retry.Milliseconds()))})
	if !h.hub.Add(&edge.Client{ID: id, Sink: sink, Match: p.match, Release: p.release}, p.lastEventID) {
		p.release()
		sink.Close()
		return nil
	}
	// After Add: a feed loop giving up for lack of clients re-checks the
	// count under h.mu, so it now sees this client and keeps going.
	h.startUpstream()
	// The stream ends at the token's expiry or at its lifetime, whichever
	// comes first.
	var end time.Duration
	if !p.expires.IsZero() {
		end = time.Until(p.expires)
	}
	if max := h.cfg.MaxStream; max > 0 {
		life := max*3/4 + rand.N(max/4+1)
		if end == 0 || life < end {
			end = life
		}
	}
	if end != 0 {
		sink.setEnd(time.AfterFunc(end, func() { h.hub.Kick(id) }))
	}
	return nil
}

// startUpstream starts the feed loop unless it runs.
func (h *hubInstance) startUpstream() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.upstream {
		return
	}
	h.upstream = true
	go func() {
		for {
			runUpstream(h.cfg, h.hub)
			// A client may have arrived while the loop was giving up; the
			// check and the flag change happen under h.mu, which
			// startUpstream also takes, so none is left without a feed.
			h.mu.Lock()
			if h.hub.Subscribers() == 0 {
				h.upstream = false
				h.mu.Unlock()
				return
			}
			h.mu.Unlock()
		}
	}()
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
