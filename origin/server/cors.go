package server

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/edge-sse/edge-sse/shared/mercure"
)

// CORS header values of the hub endpoint.
const (
	corsMethods = "GET, POST, OPTIONS"
	corsHeaders = "Authorization, Content-Type, Last-Event-ID, Cache-Control"
	// corsExpose lets polyfills and fetch-based clients read the resume
	// anchor (Mercure §"Reconciliation") and the discovery link.
	corsExpose = mercure.ExposeHeaders
	corsMaxAge = "600"
)

// allowedOrigin returns the Access-Control-Allow-Origin value for a
// request's Origin, and whether credentials may be sent with it. With "*"
// in CORSOrigins any origin is allowed without credentials; explicit
// origins are echoed with credentials, as Mercure §"Subscription" requires
// for the authorization cookie (never "*" and never an arbitrary reflected
// origin on a credentialed endpoint). An explicit list wins over "*" for
// the origins it names.
func (s *Server) allowedOrigin(origin string) (allow string, credentials bool) {
	switch {
	case origin == "":
		return "", false
	case slices.Contains(s.cfg.CORSOrigins, origin):
		return origin, true
	case s.corsAll:
		return "*", false
	}
	return "", false
}

// setCORS adds the CORS response headers for an allowed Origin.
func (s *Server) setCORS(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	allow, credentials := s.allowedOrigin(origin)
	h := w.Header()
	if len(s.cfg.CORSOrigins) > 0 {
		h.Add("Vary", "Origin")
	}
	if allow == "" {
		return
	}
	h.Set("Access-Control-Allow-Origin", allow)
	if credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	h.Set("Access-Control-Expose-Headers", corsExpose)
}

// preflight answers a CORS preflight request (Fetch Standard §"CORS
// protocol") on the hub endpoint: 204 with the allowed methods and headers
// for an allowed Origin, 403 otherwise. ServeHTTP has already set the
// origin headers.
func (s *Server) preflight(w http.ResponseWriter, r *http.Request) {
	if allow, _ := s.allowedOrigin(r.Header.Get("Origin")); allow == "" {
		httpError(w, http.StatusForbidden, fmt.Sprintf("origin %.200q is not allowed: the hub's CORS origins (--cors-origins) do not list it", r.Header.Get("Origin")))
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", corsMethods)
	h.Set("Access-Control-Allow-Headers", corsHeaders)
	h.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
}
