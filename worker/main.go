//go:build js && wasm

// Command worker is the edge: Go compiled to WebAssembly and run by
// Cloudflare Workers through entry.mjs. The same app.wasm runs in two modes,
// chosen by the JavaScript entry: "front" (one instance per request: publish
// forwarding, demo page, health) and "hub" (one resident instance per
// EdgeHub Durable Object, holding many client streams and one upstream feed).
package main

import (
	"syscall/js"

	"github.com/syumai/workers"
)

func main() {
	switch js.Global().Get("context").Get("mode").String() {
	case "hub":
		runHub()
	default:
		workers.Serve(newFrontDoor(envConfig()))
	}
}
