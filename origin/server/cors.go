package server

import (
	"net/http"

	"github.com/edge-sse/edge-sse/shared/mercure"
)

// corsExpose lets polyfills and fetch-based clients read the resume
// anchor (Mercure §"Reconciliation") and the discovery link.
const corsExpose = mercure.ExposeHeaders

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
// protocol") on the hub endpoint or the subscription API, as the edge
// does (mercure.CORS.Preflight): 204 with the allowed methods and headers
// for an allowed Origin, 403 otherwise. ServeHTTP has already set the
// origin headers.
func (s *Server) preflight(w http.ResponseWriter, r *http.Request) {
	status, refusal := s.cors.Preflight(w.Header(), r.Header.Get("Origin"), "--cors-origins")
	if refusal != "" {
		httpError(w, status, refusal)
		return
	}
	w.WriteHeader(status)
}
