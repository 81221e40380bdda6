// Package server is the origin's HTTP surface: the Mercure hub endpoint
// (publish and subscribe, Mercure §"Publication" and §"Subscription"), the
// edge feed that edge hubs follow, discovery, CORS, health and Prometheus
// metrics.
//
// Section names in this package's comments are those of the Mercure spec,
// draft-dunglas-mercure ("spec/mercure.md" in github.com/dunglas/mercure).
//
// # Goroutines
//
// Every long-lived response (a subscription or an edge feed) runs on the
// goroutine net/http gives its request and ends when the client leaves, the
// hub drops it, its token expires, or Drain is called. The Server starts no
// goroutine of its own.
package server

import (
	"crypto/subtle"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/edge-sse/edge-sse/origin/hub"
	opresence "github.com/edge-sse/edge-sse/origin/presence"
	"github.com/edge-sse/edge-sse/shared/mercure"
	"github.com/edge-sse/edge-sse/shared/topic"
	"github.com/prometheus/client_golang/prometheus"
)

// Paths served by the origin.
const (
	// MercurePath is the Mercure hub endpoint (Mercure §"Hub Discovery").
	MercurePath = mercure.Path
	// FeedPath is the edge feed: one authenticated stream of frames per edge hub.
	FeedPath = mercure.FeedPath
	// HealthPath answers 200 with {"status"} while the origin serves, and
	// with a JSON summary of the hub to operators (see OperatorHandler and
	// Config.MetricsToken).
	HealthPath = "/healthz"
	// MetricsPath serves the Prometheus metrics to operators.
	MetricsPath = "/metrics"
)

// FeedContentType is the media type of the edge feed.
const FeedContentType = mercure.FeedContentType

// Server serves a Hub over HTTP. It is safe for concurrent use.
type Server struct {
	cfg       Config
	hub       *hub.Hub
	mux       *http.ServeMux
	selectors *topic.Compiler         // subscribe query selectors, bounded by MaxSelectors
	grants    *topic.Compiler         // token grants, bounded by auth.MaxMatchers
	policy    mercure.SubscribePolicy // subscribe admission, shared with the edge
	tracker   *opresence.Tracker      // Active Subscriptions, nil when off
	cors      mercure.CORS            // CORSOrigins, the edge's CORS policy type
	registry  *prometheus.Registry
	metrics   http.Handler // serves registry

	draining  chan struct{} // closed by Drain
	drainOnce sync.Once

	streams     atomic.Int64  // open subscriptions (edge feeds not counted)
	feeds       atomic.Int64  // open edge feeds
	feedsOpened atomic.Uint64 // live edge feeds ever opened
	catchUps    atomic.Uint64 // bounded catch-up feeds served
	dropped     atomic.Uint64 // queued events discarded when a stream ended
	stalled     atomic.Uint64 // streams closed because a write hit WriteTimeout
}

// New returns a Server for h. It panics when cfg does not pass
// Config.Validate, so callers that take configuration from users call
// Validate first.
func New(h *hub.Hub, cfg Config) *Server {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	cfg.setDefaults()
	s := &Server{cfg: cfg, hub: h, mux: http.NewServeMux(), draining: make(chan struct{})}
	var err error
	limits := cfg.topicConfig()
	if s.selectors, err = topic.NewCompiler(limits); err != nil {
		panic(err) // Validate compiled the same URL
	}
	// Grants come from tokens the application signed, not from the
	// subscriber: their match cost is the application's choice.
	limits.MaxSelectors = maxGrants
	limits.MaxSelectorCost, limits.MaxSetCost = math.MaxInt64, math.MaxInt64
	if s.grants, err = topic.NewCompiler(limits); err != nil {
		panic(err)
	}
	// One Registry per hub: a costly selector is compiled and matched once
	// per event however many subscribers hold it, and all of them together
	// are bounded by MaxHubCost.
	reg := topic.NewRegistry(cfg.MaxHubCost)
	s.selectors = s.selectors.Shared(reg)
	h.ShareMatching(s.selectors, reg)
	s.policy = mercure.SubscribePolicy{
		Selectors:      s.selectors,
		Grants:         s.grants,
		Verifier:       cfg.Subscribers,
		AllowAnonymous: cfg.AllowAnonymous,
		MaxLastEventID: cfg.MaxFieldBytes,
		Names:          mercure.CostNames{Selector: "the hub's --max-selector-cost", Subscription: "the hub's --max-subscription-cost", Hub: "the hub's --max-hub-cost"},
	}
	if s.cors, err = cfg.parseCORS(); err != nil {
		panic(err) // Validate parsed the same list
	}
	s.tracker = s.newTracker()
	s.registry = newRegistry(s)
	s.metrics = s.metricsHandler()
	s.mux.HandleFunc("POST "+MercurePath, s.publish)
	s.mux.HandleFunc("GET "+MercurePath, s.subscribe)
	s.mux.HandleFunc("OPTIONS "+MercurePath, s.preflight)
	s.mux.HandleFunc("GET "+FeedPath, s.feed)
	s.mux.HandleFunc("POST "+PresencePath, s.presenceReport)
	s.mux.HandleFunc("GET "+MetadataPath, s.metadata)
	s.mux.HandleFunc("GET "+HealthPath, s.publicHealth)
	s.mux.HandleFunc("GET "+MetricsPath, s.publicMetrics)
	return s
}

// OperatorHandler serves MetricsPath and the detailed HealthPath without
// any token, for a listener only operators can reach (origin serve
// --metrics-addr). Everything else is 404.
func (s *Server) OperatorHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+HealthPath, s.health)
	mux.Handle("GET "+MetricsPath, s.metrics)
	return mux
}

// operator reports whether r presents the MetricsToken.
func (s *Server) operator(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && s.cfg.MetricsToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.MetricsToken)) == 1
}

// publicMetrics serves MetricsPath on the hub's handler: to a request with
// the MetricsToken only; 404 when none is configured, 401 otherwise.
func (s *Server) publicMetrics(w http.ResponseWriter, r *http.Request) {
	switch {
	case s.cfg.MetricsToken == "":
		httpError(w, http.StatusNotFound, "server: metrics are not served here: use the operator listener (--metrics-addr) or configure --metrics-token")
	case !s.operator(r):
		w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
		httpError(w, http.StatusUnauthorized, "server: metrics need Authorization: Bearer <metrics token>")
	default:
		s.metrics.ServeHTTP(w, r)
	}
}

// publicHealth serves HealthPath on the hub's handler: the detail to a
// request with the MetricsToken, the status alone to anyone else.
func (s *Server) publicHealth(w http.ResponseWriter, r *http.Request) {
	if s.operator(r) {
		s.health(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, map[string]any{"status": s.status()})
}

// status is "ok", or "draining" once Drain was called.
func (s *Server) status() string {
	if s.isDraining() {
		return "draining"
	}
	return "ok"
}

// ServeHTTP implements http.Handler. Every response of the hub endpoint
// carries the discovery Link header (Mercure §"Hub Discovery") and, for an
// allowed Origin, the CORS headers (§"Subscription").
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == MercurePath {
		w.Header().Set("Link", s.linkHeader())
		s.setCORS(w, r)
	}
	if s.tracker != nil && isSubscriptionsPath(r.URL.Path) {
		// Not through the mux, which would clean the decoded path: a
		// match such as https://a/b holds "//" once decoded.
		s.setCORS(w, r)
		s.serveSubscriptions(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Registry returns the Prometheus registry behind MetricsPath, so that an
// embedding program can add its own collectors.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// Drain starts a graceful shutdown of the streams: new subscriptions and
// edge feeds are refused with 503 and Retry-After, and every open
// subscription is sent what its queue holds, then a retry field with a
// jittered delay, and is closed, so that its client reconnects (to another
// origin behind the same address, or to this one once it is back) and
// resumes with Last-Event-ID. Edge feeds are closed. Publishing is not
// affected: http.Server.Shutdown, called with Drain registered through
// RegisterOnShutdown, lets publishes in flight finish. Drain is safe to
// call more than once.
func (s *Server) Drain() {
	s.drainOnce.Do(func() { close(s.draining) })
}

// isDraining reports whether Drain was called.
func (s *Server) isDraining() bool {
	select {
	case <-s.draining:
		return true
	default:
		return false
	}
}

// health answers with a JSON summary of the hub: open subscriptions and
// edge feeds, events published through this process, events held by the
// history and the newest event id.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	st := s.hub.Stats()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, map[string]any{
		"status":      s.status(),
		"subscribers": s.streams.Load(),
		"edgeFeeds":   s.feeds.Load(),
		"published":   st.Published,
		"history":     st.History,
		"lastEventID": s.hub.LastEventID(),
	})
}

// linkHeader is the discovery link to the hub (Mercure §"Hub Discovery"):
// the configured HubURL, or the hub path relative to the request's origin.
func (s *Server) linkHeader() string {
	target := MercurePath
	if s.cfg.HubURL != "" {
		target = s.cfg.HubURL
	}
	return "<" + target + `>; rel="mercure"`
}
