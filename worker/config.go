//go:build js && wasm

package main

import (
	"strconv"
	"time"

	"github.com/syumai/workers/cloudflare"
)

// config is the worker's configuration, read from wrangler.toml vars and
// secrets. Every field has a default that suits `wrangler dev`.
type config struct {
	// OriginURL is the origin hub's base URL (var ORIGIN_URL).
	OriginURL string
	// FeedSecret authenticates this edge on the origin's feed (secret FEED_SECRET).
	FeedSecret string
	// Heartbeat is the interval of comments sent to clients (var CLIENT_HEARTBEAT_MS, default 15000).
	Heartbeat time.Duration
	// FeedTimeout is how long the upstream may stay silent, heartbeats
	// included, before it is reconnected (var FEED_TIMEOUT_MS, default 35000:
	// twice the origin's 15 s heartbeat plus slack).
	FeedTimeout time.Duration
	// RingSize is the number of events each hub keeps for resume (var RING_SIZE, default 4096).
	RingSize int
	// ClientQueue is how many chunks may wait for a client before it is
	// dropped as too slow (var CLIENT_QUEUE, default 1024).
	ClientQueue int
	// CORSOrigins is the Access-Control-Allow-Origin value (var CORS_ORIGINS, default "*").
	CORSOrigins string
}

func envConfig() config {
	return config{
		OriginURL:   envString("ORIGIN_URL", "http://127.0.0.1:8080"),
		FeedSecret:  envString("FEED_SECRET", "dev-feed-secret"),
		Heartbeat:   time.Duration(envInt("CLIENT_HEARTBEAT_MS", 15000)) * time.Millisecond,
		FeedTimeout: time.Duration(envInt("FEED_TIMEOUT_MS", 35000)) * time.Millisecond,
		RingSize:    envInt("RING_SIZE", 4096),
		ClientQueue: envInt("CLIENT_QUEUE", 1024),
		CORSOrigins: envString("CORS_ORIGINS", "*"),
	}
}

func envString(name, def string) string {
	if v := cloudflare.Getenv(name); v != "" {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(cloudflare.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
