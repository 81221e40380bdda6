// Package front is the pure-Go part of the worker's front door (the
// resident Go instance per isolate behind entry.mjs): what a publish
// forwarded to the origin carries each way, what the demo page may
// contain, and how a request and its answer cross between entry.mjs and
// Go (Recorder, NewRequest, HeaderPairs). It builds natively, so its rules
// are unit-tested without workerd.
package front

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"strings"

	"github.com/edge-sse/edge-sse/shared/mercure"
	"github.com/edge-sse/edge-sse/shared/presence"
)

// ForwardRequestHeaders sets on dst what the origin needs of the client's
// publish request r: its credentials (Authorization, every Cookie
// header), the body's Content-Type, and Origin and Referer, which the
// origin's CSRF check of a cookie-authorized publish reads (the edge's
// public origin must then be the origin's --hub-url or in its
// --publish-origins). X-Forwarded-For (the client's address appended to
// what a proxy before the edge sent), X-Forwarded-Host and
// X-Forwarded-Proto say who asked, through which host and scheme.
func ForwardRequestHeaders(dst http.Header, r *http.Request) {
	for _, h := range []string{"Authorization", "Cookie", "Content-Type", "Origin", "Referer"} {
		for _, v := range r.Header.Values(h) {
			dst.Add(h, v)
		}
	}
	var chain []string
	if prior := r.Header.Get("X-Forwarded-For"); prior != "" {
		chain = append(chain, prior)
	}
	if client := r.Header.Get("CF-Connecting-IP"); client != "" {
		chain = append(chain, client)
	}
	if len(chain) > 0 {
		dst.Set("X-Forwarded-For", strings.Join(chain, ", "))
	}
	if r.Host != "" {
		dst.Set("X-Forwarded-Host", r.Host)
	}
	if r.URL != nil && r.URL.Scheme != "" {
		dst.Set("X-Forwarded-Proto", r.URL.Scheme)
	}
}

// RelayResponseHeaders copies the origin's answer headers src to dst, as
// a reverse proxy must: WWW-Authenticate (the challenge of a 401, or of a
// 403 insufficient_scope), Cache-Control, Content-Type, Retry-After,
// X-Content-Type-Options and the rest. Left out: hop-by-hop headers, the
// length (the runtime sets it), and the discovery and CORS headers, which
// the edge sets itself.
func RelayResponseHeaders(dst, src http.Header) {
	for k, vs := range src {
		k = http.CanonicalHeaderKey(k)
		if notRelayed(k) {
			continue
		}
		dst.Del(k)
		for _, v := range vs {
			dst.Add(k, v)
		}
	}
}

func notRelayed(k string) bool {
	switch k {
	case "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Te", "Trailer",
		"Proxy-Authenticate", "Proxy-Connection", "Content-Length", "Link", "Vary":
		return true
	}
	return strings.HasPrefix(k, "Access-Control-")
}

// tokenPlaceholder is where the demo page's script takes the development
// publisher token.
var tokenPlaceholder = []byte(`"{{DEV_PUBLISH_TOKEN}}"`)

// Page returns the demo page for a request to host (the Host header):
// with the development publisher token, JSON-escaped into its script,
// only when one is configured and host is a loopback address (a developer
// on this machine, as under `make dev`); with "" otherwise, so that no
// deployed page ever hands a token to whoever loads it.
func Page(html []byte, token, host string) []byte {
	if !LoopbackHost(host) {
		token = ""
	}
	js, _ := json.Marshal(token)
	return bytes.Replace(html, tokenPlaceholder, js, 1)
}

// LoopbackHost reports whether a Host header (host[:port]) names a
// loopback address or localhost.
func LoopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return mercure.IsLoopbackHost(host)
}

// CORS reports whether a response to path gets the hub's CORS headers:
// the hub endpoint and its subscription API; never the demo page, which
// may carry a token.
func CORS(path string) bool { return path == mercure.Path || SubscriptionsAPI(path) }

// SubscriptionsAPI reports whether path is in the subscription API's
// namespace (Mercure §"Subscription API"), which the front door forwards
// to the origin when presence is on.
func SubscriptionsAPI(path string) bool {
	api := presence.CollectionPath(mercure.Path)
	return path == api || strings.HasPrefix(path, api+"/")
}

// RelayAPIResponseHeaders is RelayResponseHeaders for an answer of the
// subscription API: the origin's Link is relayed too, as it carries the
// last-event-id from which a client follows the subscription events
// without a gap, and it replaces the front door's discovery Link.
func RelayAPIResponseHeaders(dst, src http.Header) {
	RelayResponseHeaders(dst, src)
	if links := src.Values("Link"); len(links) > 0 {
		dst["Link"] = append([]string(nil), links...)
	}
}
