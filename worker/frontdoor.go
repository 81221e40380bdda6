//go:build js && wasm

package main

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/syumai/workers/cloudflare/fetch"

	"github.com/edge-sse/edge-sse/shared/mercure"
)

//go:embed static/index.html
var indexHTML []byte

// newFrontDoor returns the handler of the per-request front door. Held
// subscriptions never reach it: entry.mjs sends them to an EdgeHub object.
func newFrontDoor(cfg config) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+mercure.Path, func(w http.ResponseWriter, r *http.Request) {
		forwardPublish(cfg, w, r)
	})
	mux.HandleFunc("OPTIONS "+mercure.Path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
		w.Header().Set("Access-Control-Allow-Headers", "Authorization, Last-Event-ID, Content-Type")
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET "+mercure.MetadataPath, func(w http.ResponseWriter, r *http.Request) {
		serveMetadata(cfg, w, r)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	// The demo page gets the development publisher token, if configured,
	// JSON-escaped into its script.
	tokenJSON, _ := json.Marshal(cfg.DevPublishToken)
	page := bytes.Replace(indexHTML, []byte(`"{{DEV_PUBLISH_TOKEN}}"`), tokenJSON, 1)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(page)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Mercure discovery (Mercure §"Discovery") and CORS on every response.
		w.Header().Set("Link", `</.well-known/mercure>; rel="mercure"`)
		w.Header().Set("Access-Control-Allow-Origin", cfg.CORSOrigins)
		mux.ServeHTTP(w, r)
	})
}

// forwardPublish sends a publish request to the origin, token included, and
// relays the origin's answer.
func forwardPublish(cfg config, w http.ResponseWriter, r *http.Request) {
	// Cancel whatever of the body is left unread: a per-request Go instance
	// that exits with a body stream still open takes the isolate down with
	// it ("worker restarted mid-request" for the next request).
	defer r.Body.Close()
	limit := cfg.MaxPublishBytes
	if r.ContentLength > limit {
		http.Error(w, fmt.Sprintf("publish body is %d bytes, at most %d allowed", r.ContentLength, limit), http.StatusRequestEntityTooLarge)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		http.Error(w, "cannot read the publish body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if int64(len(body)) > limit {
		// Read the rest before answering: cancelling the stream midway
		// also takes the isolate down. Cloudflare bounds request bodies
		// (100 MB on the free plan), so this ends.
		io.Copy(io.Discard, r.Body)
		http.Error(w, fmt.Sprintf("publish body larger than %d bytes", limit), http.StatusRequestEntityTooLarge)
		return
	}
	req, err := fetch.NewRequest(r.Context(), http.MethodPost, cfg.OriginURL+"/.well-known/mercure", bytes.NewReader(body))
	if err != nil {
		http.Error(w, "cannot build origin request", http.StatusInternalServerError)
		return
	}
	for _, h := range []string{"Authorization", "Cookie", "Content-Type"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	resp, err := fetch.NewClient().Do(req, nil)
	if err != nil {
		http.Error(w, "origin unreachable: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}
