package server

import (
	"fmt"
	"net/http"

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

// anyOrigin is the CORS policy of the public protected resource metadata:
// any origin, without credentials.
var anyOrigin = func() mercure.CORS {
	c, err := mercure.ParseCORS("*")
	if err != nil {
		panic(err)
	}
	return c
}()

// setCORS sets the CORS headers of an answer of the hub endpoint or the
// subscription API: those mercure.CORS sets for the request's Origin (the
// edge's answers too), and for an allowed origin the response headers it
// may read.
func (s *Server) setCORS(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	s.cors.Set(w.Header(), origin)
	if allow, _ := s.cors.Allow(origin); allow != "" {
		w.Header().Set("Access-Control-Expose-Headers", corsExpose)
	}
}

// preflight answers a CORS preflight request (Fetch Standard §"CORS
// protocol") on the hub endpoint: 204 with the allowed methods and headers
// for an allowed Origin, 403 otherwise. ServeHTTP has already set the
// origin headers.
func (s *Server) preflight(w http.ResponseWriter, r *http.Request) {
	if allow, _ := s.cors.Allow(r.Header.Get("Origin")); allow == "" {
		httpError(w, http.StatusForbidden, fmt.Sprintf("origin %.200q is not allowed: the hub's CORS origins (--cors-origins) do not list it", r.Header.Get("Origin")))
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", corsMethods)
	h.Set("Access-Control-Allow-Headers", corsHeaders)
	h.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
}
