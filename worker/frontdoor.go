//go:build js && wasm

package main

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"

	"github.com/edge-sse/edge-sse/worker/front"

	"github.com/syumai/workers/cloudflare/fetch"

	"github.com/edge-sse/edge-sse/shared/mercure"
)

//go:embed static/index.html
var indexHTML []byte

//go:embed client/edge-sse.js
var clientJS []byte

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
			w.Header().Set("Access-Control-Allow-Origin", cfg.CORSOrigins)
		}
		if cfg.Subscriptions && front.SubscriptionsAPI(r.URL.EscapedPath()) {
			// Not through the mux: it would redirect the paths whose
			// escaped "/" (%2F) decode to "//". The API answers from the
			// origin's index, the same through the worker as at the origin.
			switch r.Method {
			case http.MethodGet, http.MethodHead:
				forwardSubscriptions(cfg, w, r)
			case http.MethodOptions:
				w.Header().Set("Access-Control-Allow-Methods", "GET")
				w.Header().Set("Access-Control-Allow-Headers", "Authorization")
				w.WriteHeader(http.StatusNoContent)
			default:
				w.Header().Set("Allow", "GET, OPTIONS")
				http.Error(w, "the subscription API is read-only: use GET", http.StatusMethodNotAllowed)
			}
			return
		}
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
	front.ForwardRequestHeaders(req.Header, r)
	resp, err := fetch.NewClient().Do(req, nil)
	if err != nil {
		http.Error(w, "origin unreachable: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	front.RelayResponseHeaders(w.Header(), resp.Header)
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// forwardSubscriptions sends a subscription API request to the origin,
// its path as the client sent it (authorization is on that exact path)
// and its credentials included, and relays the answer with its Link.
func forwardSubscriptions(cfg config, w http.ResponseWriter, r *http.Request) {
	u := cfg.OriginURL + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	req, err := fetch.NewRequest(r.Context(), r.Method, u, nil)
	if err != nil {
		http.Error(w, "cannot build origin request", http.StatusInternalServerError)
		return
	}
	front.ForwardRequestHeaders(req.Header, r)
	resp, err := fetch.NewClient().Do(req, nil)
	if err != nil {
		http.Error(w, "origin unreachable: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	front.RelayAPIResponseHeaders(w.Header(), resp.Header)
	w.Header().Set("Access-Control-Expose-Headers", mercure.ExposeHeaders)
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
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
