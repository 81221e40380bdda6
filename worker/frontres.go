//go:build js && wasm

package main

import (
	"fmt"
	"net/http"
	"syscall/js"

	"github.com/syumai/workers"

	"github.com/edge-sse/edge-sse/worker/front"
	"github.com/edge-sse/edge-sse/worker/jsapi"
)

// runFront binds the front door's calls and stays resident: entry.mjs
// starts one front-door instance per isolate and hands it every short
// request (publish, demo page, health, metadata, the client library), so
// that a request costs one call into Go instead of starting a Go instance
// (docs/PLATFORM.md, fact 18).
//
// Sharing one Go instance between requests is safe here because it never
// does I/O and never waits: each call runs the handler to its end and
// returns a plain value (fact 3 is about instances that do a request's
// I/O). The handlers that forward to the origin (publishes, the
// subscription API) leave the fetch to entry.mjs (planPublish,
// planSubscriptions).
func runFront(context js.Value) {
	h := newFrontDoor(envConfig())
	binding := context.Get(jsapi.ContextBinding)
	binding.Set(jsapi.Answer, js.FuncOf(func(_ js.Value, args []js.Value) any {
		return answer(h, args[0].String(), args[1].String(), args[2].String())
	}))
	binding.Set(jsapi.Relay, js.FuncOf(func(_ js.Value, args []js.Value) any {
		return relay(args[0].String(), args[1].String(), args[2].Truthy())
	}))
	workers.Ready()
	select {}
}

// answer runs h for one request and returns the fields entry.mjs reads
// (jsapi.Answer*). A panic becomes a 500 rather than the end of the
// instance every later request needs.
func answer(h http.Handler, method, rawURL, headerPairs string) (out any) {
	rec := front.NewRecorder()
	defer func() {
		if p := recover(); p != nil {
			out = answerValue(http.StatusInternalServerError, http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
				[]byte(fmt.Sprintf("front door failed: %v\n", p)), nil)
		}
	}()
	r, err := front.NewRequest(method, rawURL, headerPairs)
	if err != nil {
		return answerValue(http.StatusBadRequest, http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, []byte(err.Error()+"\n"), nil)
	}
	h.ServeHTTP(rec, r)
	return answerValue(rec.Status, rec.Header(), rec.Body.Bytes(), rec.Forward)
}

func answerValue(status int, header http.Header, body []byte, fw *front.Forward) js.Value {
	o := js.Global().Get("Object").New()
	o.Set(jsapi.AnswerStatus, status)
	o.Set(jsapi.AnswerHeaders, front.HeaderPairs(header))
	b := js.Global().Get("Uint8Array").New(len(body))
	js.CopyBytesToJS(b, body)
	o.Set(jsapi.AnswerBody, b)
	if fw != nil {
		o.Set(jsapi.AnswerForward, fw.URL)
		o.Set(jsapi.AnswerForwardMethod, fw.Method)
		o.Set(jsapi.AnswerForwardHeaders, front.HeaderPairs(fw.Header))
		o.Set(jsapi.AnswerRelayAPI, fw.API)
		if fw.Body {
			o.Set(jsapi.AnswerMaxBytes, fw.MaxBytes)
		}
	}
	return o
}

// relay returns the headers (JSON pairs) of the answer to a forwarded
// request: base, the answer's own headers, and those of the origin's
// answer that a reverse proxy relays (api: of the subscription API).
func relay(basePairs, originPairs string, api bool) string {
	base, err := front.ParseHeaderPairs(basePairs)
	if err != nil {
		base = http.Header{}
	}
	origin, err := front.ParseHeaderPairs(originPairs)
	if err != nil {
		origin = http.Header{}
	}
	return front.HeaderPairs(front.Relay(base, origin, api))
}
