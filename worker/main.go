//go:build js && wasm

// Command worker is the edge: Go compiled to WebAssembly and run by
// Cloudflare Workers through entry.mjs. The same app.wasm runs in two modes,
// chosen by the JavaScript entry: "front" (one resident instance per isolate
// answering short requests: publish forwarding, demo page, health; see
// frontres.go) and "hub" (one resident instance per EdgeHub Durable Object,
// holding many client streams and one upstream feed).
//
// This package is the JavaScript adapter only: the hub's logic is in
// worker/edge, and every name it shares with entry.mjs and feedpump.mjs is
// in worker/jsapi.
package main

import (
	"syscall/js"

	"github.com/syumai/workers"

	"github.com/edge-sse/edge-sse/worker/jsapi"
)

func main() {
	context := js.Global().Get(jsapi.Context)
	context.Get(jsapi.ContextBinding).Set(jsapi.BindVersion, jsapi.Version)
	switch context.Get(jsapi.ContextMode).String() {
	case jsapi.ModeHub:
		runHub(context)
	default:
		runFront(context)
	}
}

// runHub binds the hub instance's calls for entry.mjs and stays resident.
func runHub(context js.Value) {
	streams := context.Get(jsapi.ContextStreams)
	jsEnqueue, jsClose = streams.Get(jsapi.StreamsEnqueue), streams.Get(jsapi.StreamsClose)
	jsEnqueueMany, jsPause = streams.Get(jsapi.StreamsEnqueueMany), streams.Get(jsapi.StreamsPause)
	jsSettle, awaits = streams.Get(jsapi.StreamsSettle), newAwaitTable()
	jsFeeds = context.Get(jsapi.ContextFeeds)
	h := &hubInstance{cfg: envConfig(), pending: make(map[uint64]pendingClient)}
	binding := context.Get(jsapi.ContextBinding)
	binding.Set(jsapi.Open, js.FuncOf(h.open))
	binding.Set(jsapi.Attach, js.FuncOf(h.attach))
	binding.Set(jsapi.Detach, js.FuncOf(h.detach))
	binding.Set(jsapi.Stats, js.FuncOf(h.stats))
	binding.Set(jsapi.Ready, js.FuncOf(h.ready))
	workers.Ready()
	select {} // resident: serve callbacks until the object is evicted
}
