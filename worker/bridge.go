//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"log"
	"math"
	"net/http"
	"runtime/metrics"
	"slices"
	"sync"
	"syscall/js"
	"time"
	"unsafe"

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
// bytes straight into the client stream's writer (its Sink, queue.mjs)
// through the enqueue/close helpers of entry.mjs, which catch every JS
// exception (Workers forbid building them from strings here), and removes
// the client on the first failure or when its stream errors.

var uint8Array = js.Global().Get("Uint8Array")

// The exception-safe helpers of entry.mjs, set by runHub:
// jsEnqueue(sink, chunk, limit) int, jsClose(sink) and
// jsEnqueueMany(bound, pairs, chunk, n), jsPause() and
// jsSettle(promise, wake, n) (see package jsapi).
var jsEnqueue, jsClose, jsEnqueueMany, jsPause, jsSettle js.Value

// nativeChunk returns c's bytes as a Uint8Array, converted once per chunk
// however many clients receive it.
func nativeChunk(c *edge.Chunk) js.Value {
	u, ok := c.Native.(js.Value)
	if !ok {
		u = uint8Array.New(len(c.Bytes))
		js.CopyBytesToJS(u, c.Bytes)
		c.Native = u
	}
	return u
}

// jsStream is a client stream's Sink, also held in its hub's JS array of
// sinks (slotTable.bound) so that enqueueMany can reach it by slot.
type jsStream struct {
	sink  js.Value
	slots *slotTable
	slot  int32 // -1 once closed
}

// slotTable is a hub's JS array of sinks and the slots of it that
// are free. Each hub has its own: the Durable Objects of one class may
// share an isolate, and so entry.mjs's module.
type slotTable struct {
	mu    sync.Mutex
	bound js.Value // a JS array, set on first use
	free  []int32
	next  int32
}

// bind stores sink in a free slot and returns the slot.
func (t *slotTable) bind(sink js.Value) int32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.bound.IsUndefined() {
		t.bound = js.Global().Get("Array").New()
	}
	var s int32
	if n := len(t.free); n > 0 {
		s, t.free = t.free[n-1], t.free[:n-1]
	} else {
		s = t.next
		t.next++
	}
	t.bound.SetIndex(int(s), sink)
	return s
}

// unbind empties slot s and frees it.
func (t *slotTable) unbind(s int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.bound.SetIndex(int(s), js.Undefined())
	t.free = append(t.free, s)
}

// newJSStream binds sink to a fresh slot of slots.
func newJSStream(sink js.Value, slots *slotTable) *jsStream {
	return &jsStream{sink: sink, slots: slots, slot: slots.bind(sink)}
}

// Enqueue implements edge.Writer.
func (s *jsStream) Enqueue(c *edge.Chunk, limit edge.QueueLimit) edge.Queued {
	q := int64(jsEnqueue.Invoke(s.sink, nativeChunk(c), limit.Chunks, jsLimitBytes(limit)).Float())
	if q < 0 {
		return edge.Queued{Chunks: -1}
	}
	return edge.Queued{Chunks: int(q % jsapi.ByteUnit), Bytes: int(q / jsapi.ByteUnit)}
}

// jsLimitBytes is limit's byte bound as entry.mjs takes it (0, no bound,
// is the most an Int32Array holds).
func jsLimitBytes(limit edge.QueueLimit) int {
	if limit.Bytes <= 0 || limit.Bytes > math.MaxInt32 {
		return math.MaxInt32
	}
	return limit.Bytes
}

// Close implements edge.Writer; the hub closes a stream under its lock,
// and a second Close only closes the sink again (a no-op).
func (s *jsStream) Close() {
	jsClose.Invoke(s.sink)
	if s.slot >= 0 {
		s.slots.unbind(s.slot)
		s.slot = -1
	}
}

// jsBatch is a hub's edge.BatchWriter: one call into entry.mjs per slice
// of a fan-out. The [slot, limit, limitBytes] triples go over as bytes
// into an Int32Array of the batch's own, and the results come back the
// same way.
type jsBatch struct {
	slots   *slotTable
	triples []int32
	ints    js.Value // the Int32Array enqueueMany reads and writes
	bytes   js.Value // a Uint8Array over the same buffer, for the copies
	room    int      // triples ints holds
}

// EnqueueBatch implements edge.BatchWriter.
func (b *jsBatch) EnqueueBatch(c *edge.Chunk, ws []edge.Writer, limits []edge.QueueLimit, waiting []edge.Queued) {
	if len(ws) == 0 {
		return
	}
	u := nativeChunk(c)
	if len(ws) > b.room {
		b.room = max(len(ws), 2*b.room, 256)
		b.ints = js.Global().Get("Int32Array").New(3 * b.room)
		b.bytes = uint8Array.New(b.ints.Get("buffer"))
	}
	b.triples = b.triples[:0]
	for i, w := range ws {
		b.triples = append(b.triples, w.(*jsStream).slot, int32(limits[i].Chunks), int32(jsLimitBytes(limits[i])))
	}
	// js/wasm is little-endian, as is the Int32Array of every host
	// workerd runs on.
	raw := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(b.triples))), 4*len(b.triples))
	js.CopyBytesToJS(b.bytes, raw)
	jsEnqueueMany.Invoke(b.slots.array(), b.ints, u, len(ws))
	js.CopyBytesToGo(raw, b.bytes)
	for i := range ws {
		waiting[i] = edge.Queued{Chunks: int(b.triples[3*i+1]), Bytes: int(b.triples[3*i+2])}
	}
}

// array returns the JS array of sinks.
func (t *slotTable) array() js.Value {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.bound
}

// pendingClient is a client that open accepted and attach has not yet bound
// to its stream.
type pendingClient struct {
	match       func(*edge.Event) bool
	release     func()
	lastEventID string
	expires     time.Time
	matchKey    string
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
	slots   slotTable
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
		// Between the slices of a fan-out or a heartbeat the hub waits
		// for streams.pause, a 0 ms timer: Go then returns to the event
		// loop, which runs workerd's stream work for the slice just
		// written and any request waiting for the object (stats, a new
		// subscriber), and resumes Go from a timer, not from a promise
		// of the feed (docs/PLATFORM.md, fact 19). time.Sleep's shortest
		// wait would be a 1 ms timer per slice.
		h.hub.Yield = func() { await(jsPause.Invoke()) }
		h.hub.SetBatchWriter(&jsBatch{slots: &h.slots})
		h.hub.SetSlices(h.cfg.SliceWrites, h.cfg.DecodeSlice)
		h.hub.SetRoundSlice(h.cfg.RoundSliceWrites)
		for _, a := range h.cfg.Advice() {
			log.Printf("edge: advice: %s", a)
		}
		h.hub.Budget = edge.Budget{CPU: h.cfg.CPUBudget, WriteCost: h.cfg.WriteCost, KBCost: h.cfg.WriteKBCost, CommentCost: h.cfg.CommentCost, ShedAt: h.cfg.ShedAt, ShedPct: h.cfg.ShedPct}
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

// open(url, lastEventID, authorization, cookie, origin) answers a
// subscribe request (each header as Headers.get combines its values) with
// {status, headers, body} or, when admitted, {status: 200, id, headers};
// package admit decides.
func (h *hubInstance) open(_ js.Value, args []js.Value) any {
	res := js.Global().Get("Object").New()
	if err := h.setup(); err != nil {
		res.Set(jsapi.OpenStatus, http.StatusInternalServerError)
		res.Set(jsapi.OpenBody, "edge hub misconfigured: "+err.Error()+"\n")
		hdr := http.Header{"Content-Type": {"text/plain; charset=utf-8"}}
		h.cfg.CORSOrigins.Set(hdr, args[4].String())
		res.Set(jsapi.OpenHeaders, headerJSON(hdr))
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
		Origin:        args[4].String(),
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
		matchKey:    sub.MatchKey(),
	}
	if h.roster != nil {
		p := h.pending[id]
		p.subscriber, p.topics = presence.NewSubscriberID(), roster.Topics(sub, h.gate.Grants())
		h.pending[id] = p
	}
	res.Set(jsapi.OpenID, float64(id))
	return res
}

// ready() is undefined once the hub's feed is anchored, and otherwise a
// Promise that resolves when it is or after edge.AnchorWait (entry.mjs
// awaits it before answering an admitted subscriber).
func (h *hubInstance) ready(js.Value, []js.Value) any {
	if h.hub == nil {
		return js.Undefined() // not set up: open answered with the reason
	}
	anchored := h.hub.Anchored()
	select {
	case <-anchored:
		return js.Undefined()
	default:
	}
	// The feed starts with a hub's first client; this one is admitted and
	// attaches right after the wait, so start it now or nothing anchors.
	h.feed.Start()
	var executor js.Func
	executor = js.FuncOf(func(_ js.Value, args []js.Value) any {
		resolve := args[0]
		go func() {
			t := time.NewTimer(edge.AnchorWait)
			defer t.Stop()
			select {
			case <-anchored:
			case <-t.C:
			}
			resolve.Invoke()
			executor.Release()
		}()
		return nil
	})
	return js.Global().Get("Promise").New(executor)
}

// hubState is what the gate reads of the hub; h.mu is held.
type hubState struct{ h *hubInstance }

func (s hubState) Streams() int          { return s.h.hub.Subscribers() + len(s.h.pending) }
func (s hubState) InRing(id string) bool { return s.h.hub.InRing(id) }
func (s hubState) CatchingUp() int       { return s.h.hub.CatchingUp() }
func (s hubState) LastEventID() string   { return s.h.hub.LastEventID() }

// attach(id, sink) binds an opened client to its stream.
func (h *hubInstance) attach(_ js.Value, args []js.Value) any {
	id := uint64(args[0].Float())
	h.mu.Lock()
	p, ok := h.pending[id]
	delete(h.pending, id)
	h.mu.Unlock()
	w := newJSStream(args[1], &h.slots)
	if !ok {
		w.Close()
		return nil
	}
	o := edge.StreamOptions{
		Queue:       min(h.cfg.ClientQueue, jsapi.ByteUnit-1),
		QueueBytes:  h.cfg.ClientQueueBytes,
		Stall:       h.cfg.ClientStall,
		Retry:       h.cfg.Retry,
		RetryJitter: h.cfg.RetryJitter,
		MaxStream:   h.cfg.MaxStream,
		MatchKey:    p.matchKey,
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

// stats(trace) returns the hub's counters; with trace, the timelines
// of its newest fan-outs too.
func (h *hubInstance) stats(_ js.Value, args []js.Value) any {
	var st struct {
		edge.Stats
		Limits    map[string]int64  `json:"limits"`
		Presence  *roster.Stats     `json:"presence,omitempty"`
		Go        goStats           `json:"go"`
		FeedTrace []edge.BatchTrace `json:"feedTrace,omitempty"`
	}
	st.Go = readGoStats()
	if h.hub != nil {
		st.Stats = h.hub.Stats()
		if len(args) > 0 && args[0].Truthy() {
			st.FeedTrace = h.hub.Trace()
		}
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

// goStats is what the stats show of this Go instance's runtime: its
// collections and heap, which the Wasm memory holds.
type goStats struct {
	GCCycles    uint64 `json:"gcCycles"`
	HeapLive    uint64 `json:"heapLiveBytes"`
	HeapGoal    uint64 `json:"heapGoalBytes"`
	MemoryTotal uint64 `json:"memoryBytes"`
}

var goMetrics = []metrics.Sample{
	{Name: "/gc/cycles/total:gc-cycles"},
	{Name: "/gc/heap/live:bytes"},
	{Name: "/gc/heap/goal:bytes"},
	{Name: "/memory/classes/total:bytes"},
}

func readGoStats() goStats {
	s := slices.Clone(goMetrics)
	metrics.Read(s)
	u := func(i int) uint64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return s[i].Value.Uint64()
	}
	return goStats{GCCycles: u(0), HeapLive: u(1), HeapGoal: u(2), MemoryTotal: u(3)}
}

func headerJSON(h http.Header) string {
	m := make(map[string]string, len(h))
	for k := range h {
		m[k] = h.Get(k)
	}
	b, _ := json.Marshal(m)
	return string(b)
}
