// Package server is the origin's HTTP surface: the Mercure publish and
// subscribe endpoints, the edge feed, health and metrics.
package server

import (
	"crypto/subtle"
	"log/slog"
	"net/http"
	"time"

	"github.com/edge-sse/edge-sse/origin/hub"
)

// Paths served by the origin.
const (
	// MercurePath is the Mercure hub endpoint (Mercure §"Discovery").
	MercurePath = "/.well-known/mercure"
	// FeedPath is the edge feed: one authenticated stream of frames per edge hub.
	FeedPath = "/edge/feed"
	// HealthPath answers 200 while the origin serves.
	HealthPath = "/healthz"
)

// Config holds the origin's tunables. Zero values take the defaults
// documented on each field.
type Config struct {
	// FeedSecret authenticates edge hubs on FeedPath (Authorization: Bearer).
	// An empty secret disables the feed.
	FeedSecret string
	// Heartbeat is the interval of keep-alive comments and heartbeat frames
	// (default 15s; Cloudflare cuts origin reads after 100s of silence).
	Heartbeat time.Duration
	// QueueSize bounds each subscriber's queue, in events (default 1024); a
	// subscriber that falls further behind is disconnected.
	QueueSize int
	// FeedQueueSize bounds each edge feed's queue (default 65536).
	FeedQueueSize int
	// MaxBodyBytes bounds a publish request body (default 1 MiB).
	MaxBodyBytes int64
	// MaxTopics bounds topics per publish and selectors per subscribe (default 64).
	MaxTopics int
	// Logger receives operational logs (default slog.Default()).
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Heartbeat <= 0 {
		c.Heartbeat = 15 * time.Second
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 1024
	}
	if c.FeedQueueSize <= 0 {
		c.FeedQueueSize = 65536
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.MaxTopics <= 0 {
		c.MaxTopics = 64
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Server serves a Hub over HTTP.
type Server struct {
	cfg Config
	hub *hub.Hub
	mux *http.ServeMux

	feeds gauge
}

// New returns a Server for h.
func New(h *hub.Hub, cfg Config) *Server {
	cfg.setDefaults()
	s := &Server{cfg: cfg, hub: h, mux: http.NewServeMux()}
	s.mux.HandleFunc("POST "+MercurePath, s.publish)
	s.mux.HandleFunc("GET "+MercurePath, s.subscribe)
	s.mux.HandleFunc("GET "+FeedPath, s.feed)
	s.mux.HandleFunc("GET "+HealthPath, s.health)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	st := s.hub.Stats()
	w.Header().Set("Content-Type", "application/json")
	writeJSON(w, map[string]any{
		"status":      "ok",
		"subscribers": st.Subscribers,
		"edgeFeeds":   s.feeds.Load(),
		"published":   st.Published,
		"history":     st.History,
		"lastEventID": s.hub.LastEventID(),
	})
}

// feedAuthorized compares the bearer token with the feed secret in constant time.
func (s *Server) feedAuthorized(r *http.Request) bool {
	if s.cfg.FeedSecret == "" {
		return false
	}
	got := r.Header.Get("Authorization")
	want := "Bearer " + s.cfg.FeedSecret
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
