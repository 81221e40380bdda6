//go:build js && wasm

package main

import (
	"net/http"

	"github.com/edge-sse/edge-sse/worker/admit"
)

// serveMetadata serves the hub's protected resource metadata (RFC 9728,
// Mercure §"Protected Resource Metadata"), the document the challenges of
// the hub objects point to. Any site may read it: it holds nothing secret.
func serveMetadata(cfg config, w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	m := admit.Metadata(cfg.PublicURL, r.URL)
	m.Subscriptions = cfg.Subscriptions
	w.Write(m.JSON())
}
