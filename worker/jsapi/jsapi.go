// Package jsapi is the contract between the worker's JavaScript
// (worker/entry.mjs and worker/feedpump.mjs) and its Go code: the name of
// every call one side makes into the other, its arguments and what it
// returns. It is the one place both sides are described; package main
// takes its names from here, and the package's test reads the JavaScript
// files and fails when they define or call anything the table does not
// say, so that neither side can change alone.
//
// At start Go sets Version on the binding (BindVersion) and entry.mjs
// compares it with its own CONTRACT_VERSION, refusing to run on a
// mismatch: a stale app.wasm next to a newer entry.mjs (or the reverse)
// fails loudly on its first request instead of misbehaving.
package jsapi

// Version is the contract's version. Bump it, here and in entry.mjs's
// CONTRACT_VERSION, whenever a name, an argument or a result below changes.
const Version = 11

// ByteUnit is the weight of one byte in what streams.enqueue returns: a
// client stream's Sink (queue.mjs) reports chunks + ByteUnit × bytes, so a
// count c encodes c % ByteUnit chunks and c / ByteUnit bytes.
// Chunk limits must stay below it, byte limits below 2^31 (an Int32Array
// carries them).
const ByteUnit = 1 << 21

// The object entry.mjs hands to a Go instance as globalThis.context.
const (
	// Context is the global's name.
	Context = "context"
	// ContextMode is "front" (ModeFront) or "hub" (ModeHub).
	ContextMode = "mode"
	// ContextBinding is the object Go fills with the calls it offers.
	ContextBinding = "binding"
	// ContextStreams is the streams object of entry.mjs (hub only).
	ContextStreams = "streams"
	// ContextFeeds is the feeds object of feedpump.mjs (hub only).
	ContextFeeds = "feeds"
)

// The modes of a Go instance.
const (
	// ModeFront: one resident instance per isolate, answering short
	// requests through Answer and Relay (it does no I/O of its own).
	ModeFront = "front"
	// ModeHub: the resident instance of one EdgeHub Durable Object.
	ModeHub = "hub"
)

// Names of the calls; Calls describes each.
const (
	BindVersion = "contractVersion"
	Open        = "open"
	Attach      = "attach"
	Detach      = "detach"
	Stats       = "stats"
	Ready       = "ready"
	Answer      = "answer"
	Relay       = "relay"

	StreamsEnqueue     = "enqueue"
	StreamsClose       = "close"
	StreamsEnqueueMany = "enqueueMany"
	StreamsPause       = "pause"
	StreamsSettle      = "settle"
	FeedsOpen          = "open"
	PumpTake           = "take"
	PumpCancel         = "cancel"
	PumpReady          = "ready"
)

// The fields of open's result.
const (
	OpenStatus  = "status"
	OpenID      = "id"
	OpenHeaders = "headers"
	OpenBody    = "body"
)

// The fields of answer's result.
const (
	AnswerStatus         = "status"
	AnswerHeaders        = "headers"
	AnswerBody           = "body"
	AnswerForward        = "forward"
	AnswerForwardMethod  = "forwardMethod"
	AnswerForwardHeaders = "forwardHeaders"
	AnswerRelayAPI       = "relayAPI"
	AnswerMaxBytes       = "maxBytes"
)

// The fields of the object a pump's take resolves to.
const (
	TakeBytes = "bytes"
	TakeEnded = "ended"
	TakeError = "error"
	// TakeArrivedAt and TakeTakenAt come with bytes: Date.now() when the
	// oldest of them was read, and when they were handed over.
	TakeArrivedAt = "arrivedAt"
	TakeTakenAt   = "takenAt"
)

// A Side is where a call is defined.
type Side string

// The two sides of the contract.
const (
	Go Side = "go"
	JS Side = "js"
)

// Call is one function one side offers the other.
type Call struct {
	// Object is where the function lives: "binding" (set by Go on
	// context.binding), "streams" (entry.mjs), "feeds" (feedpump.mjs) or
	// "pump" (the object feeds.open returns).
	Object string
	Name   string
	// Params are its parameters, in order; Result what it returns.
	Params []string
	Result string
	// DefinedBy is the side that defines it; the other one calls it.
	DefinedBy Side
}

// Calls is the whole contract.
var Calls = []Call{
	{Object: "binding", Name: Open, DefinedBy: Go,
		Params: []string{"url", "lastEventID", "authorization", "cookie", "origin"},
		Result: "a refusal {status, headers, body} or, accepted, {status: 200, id, headers}; headers is a JSON object of strings"},
	{Object: "binding", Name: Attach, DefinedBy: Go,
		Params: []string{"id", "sink"},
		Result: "nothing; Go writes the stream through streams.enqueue and streams.enqueueMany from then on, or closes it at once if id is unknown"},
	{Object: "binding", Name: Detach, DefinedBy: Go,
		Params: []string{"id"},
		Result: "nothing; the client whose stream ended without Go closing it (the client went away) is removed; an unknown id is ignored"},
	{Object: "binding", Name: Stats, DefinedBy: Go,
		Params: []string{"trace"},
		Result: "the hub's counters and limits as a JSON string; with trace true, also feedTrace, the timelines of its newest fan-outs (edge.BatchTrace)"},
	{Object: "binding", Name: Ready, DefinedBy: Go,
		Result: "undefined once the hub's feed is anchored (its first Hello arrived), else a Promise that resolves then or after edge.AnchorWait: await it before answering an admitted subscriber"},
	{Object: "binding", Name: Answer, DefinedBy: Go,
		Params: []string{"method", "url", "headers"},
		Result: "the front door's answer {status, headers, body} (headers: JSON [name, value] pairs; body: Uint8Array); a request to forward to the origin also has forward (the URL), forwardMethod, forwardHeaders, relayAPI (pass it to relay) and, when the client's body goes along, maxBytes"},
	{Object: "binding", Name: Relay, DefinedBy: Go,
		Params: []string{"headers", "originHeaders", "api"},
		Result: "the headers (JSON pairs) of the answer to a forwarded request: answer's headers plus those of the origin's answer a proxy relays (api: answer.relayAPI)"},
	{Object: "streams", Name: StreamsEnqueue, DefinedBy: JS,
		Params: []string{"sink", "chunk", "limit", "limitBytes"},
		Result: "what waits for the client after the write, chunks + ByteUnit × bytes, or -1 when the chunk was not written (stream gone, or more than limit chunks or limitBytes bytes waiting); never throws"},
	{Object: "streams", Name: StreamsClose, DefinedBy: JS,
		Params: []string{"sink"},
		Result: "nothing; never throws"},
	{Object: "streams", Name: StreamsPause, DefinedBy: JS,
		Result: "a Promise that resolves on a later turn of the event loop (a 0 ms timer)"},
	{Object: "streams", Name: StreamsSettle, DefinedBy: JS,
		Params: []string{"promise", "wake", "n"},
		Result: "nothing; once promise resolves to v, calls wake(n, v), and once it rejects with e, wake(n, undefined, String(e)): Go awaits every promise through one function of its own (wake) and a number of its choosing, instead of making two functions per await"},
	{Object: "streams", Name: StreamsEnqueueMany, DefinedBy: JS,
		Params: []string{"bound", "triples", "chunk", "n"},
		Result: "nothing; for each of the first n [slot, limit, limitBytes] triples of the Int32Array triples, writes chunk to the sink bound[slot] (an array Go keeps) as enqueue would, and replaces the limits with what waits afterwards, [chunks, bytes], or limit with -1 when the chunk was not written or the slot is empty; never throws"},
	{Object: "feeds", Name: FeedsOpen, DefinedBy: JS,
		Params: []string{"body", "maxBytes"},
		Result: "a pump reading body ahead, at most maxBytes"},
	{Object: "pump", Name: PumpTake, DefinedBy: JS,
		Params: []string{"collectMs"},
		Result: "a Promise of {bytes: Uint8Array, arrivedAt, takenAt} (Date.now() values) once data is there, or {ended: true, error: string} when the feed is over"},
	{Object: "pump", Name: PumpReady, DefinedBy: JS,
		Result: "true when bytes the pump read wait for a take (take(0) then resolves without waiting for the feed), else false"},
	{Object: "pump", Name: PumpCancel, DefinedBy: JS,
		Result: "nothing; the feed's body is cancelled and a waiting take resolves as ended"},
}
