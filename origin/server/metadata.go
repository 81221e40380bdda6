package server

import (
	"net/http"

	"github.com/edge-sse/edge-sse/shared/mercure"
)

// MetadataPath serves the hub's OAuth 2.0 protected resource metadata
// (RFC 9728; Mercure §"Protected Resource Metadata").
const MetadataPath = mercure.MetadataPath

// metadata serves the protected resource metadata document: the hub's
// resource identifier (the value tokens carry as aud), the Mercure
// authorization detail type, the Authorization header as the bearer method,
// the cookie name, and mercure_subscriptions when Active Subscriptions are on. Any site may read it: it holds nothing secret.
func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	anyOrigin.Set(h, r.Header.Get("Origin"))
	md := mercure.NewMetadata(s.resource(r))
	md.Subscriptions = s.tracker != nil
	w.Write(md.JSON())
}

// resource returns the hub's resource identifier: Config.HubURL, or
// without one the URL of the hub endpoint on the host r was sent to, for
// r only (the Host is the client's, so it is never kept).
func (s *Server) resource(r *http.Request) string {
	if s.cfg.HubURL != "" {
		return s.cfg.HubURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return mercure.RequestResource(scheme, r.Host)
}

// metadataURL returns the URL of the metadata document for r's
// challenges, or "" when the resource identifier has no such URL.
func (s *Server) metadataURL(r *http.Request) string {
	u, err := mercure.MetadataURL(s.resource(r))
	if err != nil {
		return ""
	}
	return u
}
