//go:build js && wasm

package main

import (
	_ "embed"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"

	"github.com/edge-sse/edge-sse/worker/front"

	"github.com/edge-sse/edge-sse/shared/mercure"
)

//go:embed static/index.html
var indexHTML []byte

//go:embed client/edge-sse.js
var clientJS []byte

// newFrontDoor returns the handler of the front door (frontres.go runs
// it). Held subscriptions never reach it: entry.mjs sends them to an
// EdgeHub object.
func newFrontDoor(cfg config) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+mercure.Path, func(w http.ResponseWriter, r *http.Request) {
		planPublish(cfg, w, r)
	})
	mux.HandleFunc("OPTIONS "+mercure.Path, func(w http.ResponseWriter, r *http.Request) {
		preflight(cfg, w, r)
	})
	mux.HandleFunc("GET "+mercure.MetadataPath, func(w http.ResponseWriter, r *http.Request) {
		serveMetadata(cfg, w, r)
	})
	mux.Handle("GET "+front.LibraryPath, front.Library(clientJS))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		health(cfg, w)
	})
	// The demo page gets the development publisher token only when asked
	// for on a loopback address (front.Page).
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(front.Page(indexHTML, cfg.DevPublishToken, r.Host))
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Mercure discovery (Mercure §"Discovery") on every response; CORS
		// on the hub endpoint and the subscription API only, never on the
		// page.
		w.Header().Set("Link", `</.well-known/mercure>; rel="mercure"`)
		if front.CORS(r.URL.EscapedPath()) {
			cfg.CORSOrigins.Set(w.Header(), r.Header.Get("Origin"))
		}
		if cfg.Subscriptions && front.SubscriptionsAPI(r.URL.EscapedPath()) {
			// Not through the mux: it would redirect the paths whose
			// escaped "/" (%2F) decode to "//". The API answers from the
			// origin's index, the same through the worker as at the origin.
			switch r.Method {
			case http.MethodGet, http.MethodHead:
				planSubscriptions(cfg, w, r)
			case http.MethodOptions:
				preflight(cfg, w, r)
			default:
				w.Header().Set("Allow", "GET, OPTIONS")
				http.Error(w, "the subscription API is read-only: use GET", http.StatusMethodNotAllowed)
			}
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// preflight answers a CORS preflight of the hub endpoint or the
// subscription API as the origin does (mercure.CORS.Preflight): 204 with
// what the hub allows for an origin CORS_ORIGINS allows, else 403.
func preflight(cfg config, w http.ResponseWriter, r *http.Request) {
	status, refusal := cfg.CORSOrigins.Preflight(w.Header(), r.Header.Get("Origin"), "CORS_ORIGINS")
	if refusal != "" {
		w.Header().Set("Cache-Control", "no-store") // as the origin's refusals
		http.Error(w, refusal, status)
		return
	}
	w.WriteHeader(status)
}

// planPublish decides a publish: 413 when its Content-Length is over
// MAX_PUBLISH_BYTES, else a Forward on the Recorder for entry.mjs, which
// sends the body (up to the limit; 413 past it) to the origin with the
// headers front.ForwardRequestHeaders picked, and relays the answer.
func planPublish(cfg config, w http.ResponseWriter, r *http.Request) {
	limit := cfg.MaxPublishBytes
	if r.ContentLength > limit {
		http.Error(w, fmt.Sprintf("publish body is %d bytes, at most %d allowed", r.ContentLength, limit), http.StatusRequestEntityTooLarge)
		return
	}
	rec, ok := w.(*front.Recorder)
	if !ok {
		http.Error(w, "the front door forwards publishes only when entry.mjs runs it", http.StatusInternalServerError)
		return
	}
	fw := &front.Forward{Method: http.MethodPost, URL: cfg.OriginURL + "/.well-known/mercure", Header: http.Header{}, Body: true, MaxBytes: limit}
	front.ForwardRequestHeaders(fw.Header, r)
	rec.Forward = fw
}

// planSubscriptions decides a subscription API request: a Forward on the
// Recorder for entry.mjs, which sends it to the origin, its path as the
// client sent it (authorization is on that exact path) and its
// credentials included, and relays the answer with its Link (Relay with
// API set).
func planSubscriptions(cfg config, w http.ResponseWriter, r *http.Request) {
	rec, ok := w.(*front.Recorder)
	if !ok {
		http.Error(w, "the front door forwards API requests only when entry.mjs runs it", http.StatusInternalServerError)
		return
	}
	u := cfg.OriginURL + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	fw := &front.Forward{Method: r.Method, URL: u, Header: http.Header{}, API: true}
	front.ForwardRequestHeaders(fw.Header, r)
	rec.Forward = fw
}

// health answers 200 "ok" when the configuration lets the edge work, and
// otherwise 503 with one line per problem, each naming its variable: a
// feed the hub objects would refuse to open (FEED_SECRET, ORIGIN_URL) or
// a value that did not parse. It logs the same lines.
func health(cfg config, w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	var problems []string
	if err := cfg.FeedProblem(); err != nil {
		problems = append(problems, "no origin feed: "+err.Error())
	}
	for _, err := range cfg.Problems() {
		problems = append(problems, err.Error())
	}
	if len(problems) == 0 {
		io.WriteString(w, "ok\n")
		return
	}
	for _, p := range problems {
		log.Printf("edge: misconfigured: %s", p)
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	io.WriteString(w, "misconfigured:\n- "+strings.Join(problems, "\n- ")+"\n")
}
