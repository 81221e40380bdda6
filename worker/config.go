//go:build js && wasm

package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/topic"

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
	// twice the origin's 15 s heartbeat plus slack). It also bounds a
	// catch-up fetch of the origin's history.
	FeedTimeout time.Duration
	// UpstreamIdle is how long a hub keeps its upstream feed without any
	// client (var UPSTREAM_IDLE_MS, default 60000); the next client opens it
	// again and the hub resumes after the newest id it holds.
	UpstreamIdle time.Duration
	// FeedCollect is how long the hub keeps reading the origin's feed after
	// data arrives, when its last fan-out wrote to many streams, before it
	// writes what it has to clients (var FEED_COLLECT_MS, default 2; 0
	// turns it off). A fan-out to thousands of streams takes tens of
	// milliseconds; events that arrive meanwhile then go out together, one
	// write per client, instead of one fan-out each.
	FeedCollect time.Duration
	// FeedBuffer is how many bytes of the feed the hub reads ahead of its
	// fan-out (var FEED_BUFFER_KB, default 4096 KiB); past it, it stops
	// reading and TCP pushes back to the origin.
	FeedBuffer int
	// RingSize is the number of events each hub keeps for resume (var RING_SIZE, default 4096).
	RingSize int
	// ClientQueue is how many chunks may wait for a client before it is
	// dropped as too slow (var CLIENT_QUEUE, default 1024).
	ClientQueue int
	// ClientStall is how long a client may read nothing while chunks wait
	// for it before it is dropped (var CLIENT_STALL_MS, default 60000; 0
	// turns it off). Heartbeats make sure something waits.
	ClientStall time.Duration
	// MaxStream bounds how long the hub keeps one client stream (var
	// MAX_STREAM_MS, default 1800000: 30 minutes; 0: no bound). Each stream
	// gets between 3/4 of it and all of it, at random, then the hub closes
	// it; the client reconnects with Last-Event-ID and resumes from the
	// ring, losing nothing. It is the last bound on a stream whose client
	// left unnoticed; the front door's pipe and CLIENT_STALL_MS come first.
	MaxStream time.Duration
	// MaxClients is the most client streams one hub object holds (var
	// MAX_CLIENTS, default 10000); past it a subscribe request gets 503
	// with Retry-After. Raise HUB_SHARDS to spread a region over more
	// objects instead.
	MaxClients int
	// MaxCatchup is the most client streams one hub object catches up from
	// the origin's history at once (var MAX_CATCHUP, default 1000): a
	// subscribe request whose Last-Event-ID is older than the ring, when
	// that many wait, gets 503 with Retry-After. Each waits, its live
	// events held in memory, for a fetch from the origin.
	MaxCatchup int
	// MaxPublishBytes is the largest publish body the front door forwards
	// (var MAX_PUBLISH_BYTES, default 1048576, the origin's default
	// --max-body-bytes); a larger one gets 413 without reaching the origin.
	MaxPublishBytes int64
	// CORSOrigins is the Access-Control-Allow-Origin value (var CORS_ORIGINS, default "*").
	CORSOrigins string
	// JWTKey is the HS256 secret subscriber tokens are signed with (secret
	// JWT_KEY, at least 32 bytes); JWTJWKS a JWKS document of RS256/ES256
	// public keys (var JWT_JWKS). Either may be empty; with neither, only
	// anonymous subscribers can connect.
	JWTKey, JWTJWKS string
	// JWTAudience, when set, must be in a subscriber token's aud claim (var
	// JWT_AUDIENCE, the hub's public URL as the origin's --jwt-audience);
	// JWTIssuer, when set, must equal its iss claim (var JWT_ISSUER).
	JWTAudience, JWTIssuer string
	// AllowAnonymous lets clients without a token subscribe to public
	// updates (var ALLOW_ANONYMOUS, "true" or "false", default "false").
	AllowAnonymous bool
	// PublicURL is the hub URL relative URL patterns are resolved against
	// (var PUBLIC_URL; default: taken from the first request).
	PublicURL string
	// Retry is the base reconnection delay advised to clients; each client
	// gets Retry plus a random share of RetryJitter, so that a restart does
	// not bring every client back in the same second (vars RETRY_MS,
	// default 2000, and RETRY_JITTER_MS, default 8000).
	Retry, RetryJitter time.Duration

	// MaxTopicBytes is the longest topic selectors are matched against (var
	// MAX_TOPIC_BYTES, default 4096: the origin's --max-field-bytes);
	// MaxSelectorCost, MaxSubscriptionCost and MaxHubCost bound the match
	// cost of a selector, of a subscription's selectors or a token's
	// grants, and of the distinct costly selectors of the hub object (vars
	// MAX_SELECTOR_COST, MAX_SUBSCRIPTION_COST: 400 past them; MAX_HUB_COST:
	// 503 with Retry-After), as the origin's flags of the same names do.
	MaxTopicBytes                                    int
	MaxSelectorCost, MaxSubscriptionCost, MaxHubCost int64
	// DevPublishToken is put into the demo page so its publish form works
	// in development (var DEV_PUBLISH_TOKEN; make dev sets it). Leave it
	// unset in production.
	DevPublishToken string
}

func envConfig() config {
	return config{
		OriginURL:       envString("ORIGIN_URL", "http://127.0.0.1:8080"),
		FeedSecret:      envString("FEED_SECRET", "dev-feed-secret"),
		Heartbeat:       time.Duration(envInt("CLIENT_HEARTBEAT_MS", 15000)) * time.Millisecond,
		FeedTimeout:     time.Duration(envInt("FEED_TIMEOUT_MS", 35000)) * time.Millisecond,
		UpstreamIdle:    time.Duration(envInt("UPSTREAM_IDLE_MS", 60000)) * time.Millisecond,
		FeedCollect:     time.Duration(envIntZero("FEED_COLLECT_MS", 2)) * time.Millisecond,
		FeedBuffer:      envInt("FEED_BUFFER_KB", 4096) * 1024,
		RingSize:        envInt("RING_SIZE", 4096),
		ClientQueue:     envInt("CLIENT_QUEUE", 1024),
		ClientStall:     time.Duration(envIntZero("CLIENT_STALL_MS", 60000)) * time.Millisecond,
		MaxStream:       time.Duration(envIntZero("MAX_STREAM_MS", 1800000)) * time.Millisecond,
		MaxClients:      envInt("MAX_CLIENTS", 10000),
		MaxCatchup:      envInt("MAX_CATCHUP", 1000),
		MaxPublishBytes: int64(envInt("MAX_PUBLISH_BYTES", 1<<20)),
		CORSOrigins:     envString("CORS_ORIGINS", "*"),
		JWTKey:          envString("JWT_KEY", ""),
		JWTJWKS:         envString("JWT_JWKS", ""),
		JWTAudience:     envString("JWT_AUDIENCE", ""),
		JWTIssuer:       envString("JWT_ISSUER", ""),
		AllowAnonymous:  envString("ALLOW_ANONYMOUS", "false") == "true",
		PublicURL:       envString("PUBLIC_URL", ""),
		Retry:           time.Duration(envInt("RETRY_MS", 2000)) * time.Millisecond,
		RetryJitter:     time.Duration(envInt("RETRY_JITTER_MS", 8000)) * time.Millisecond,

		MaxTopicBytes:       envInt("MAX_TOPIC_BYTES", topic.DefaultMaxTopicLen),
		MaxSelectorCost:     int64(envInt("MAX_SELECTOR_COST", topic.DefaultMaxSelectorCost)),
		MaxSubscriptionCost: int64(envInt("MAX_SUBSCRIPTION_COST", topic.DefaultMaxSetCost)),
		MaxHubCost:          int64(envInt("MAX_HUB_COST", topic.DefaultMaxHubCost)),
	}
}

// topicConfig is the selector compiler's configuration for the hub URL.
func (c config) topicConfig(hubURL string) topic.Config {
	return topic.Config{HubURL: hubURL, MaxTopicLen: c.MaxTopicBytes, MaxSelectorCost: c.MaxSelectorCost, MaxSetCost: c.MaxSubscriptionCost}
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

// envIntZero is envInt for settings where 0 is meaningful (off).
func envIntZero(name string, def int) int {
	if n, err := strconv.Atoi(cloudflare.Getenv(name)); err == nil && n >= 0 {
		return n
	}
	return def
}

// limits are the settings /_edge/stats shows, so that an operator (and a
// test) can see what the hub runs with.
func (c config) limits() map[string]int64 {
	ms := func(d time.Duration) int64 { return d.Milliseconds() }
	return map[string]int64{
		"CLIENT_HEARTBEAT_MS": ms(c.Heartbeat),
		"FEED_TIMEOUT_MS":     ms(c.FeedTimeout),
		"UPSTREAM_IDLE_MS":    ms(c.UpstreamIdle),
		"FEED_COLLECT_MS":     ms(c.FeedCollect),
		"FEED_BUFFER_KB":      int64(c.FeedBuffer / 1024),
		"RING_SIZE":           int64(c.RingSize),
		"CLIENT_QUEUE":        int64(c.ClientQueue),
		"CLIENT_STALL_MS":     ms(c.ClientStall),
		"MAX_STREAM_MS":       ms(c.MaxStream),
		"MAX_CLIENTS":         int64(c.MaxClients),
		"MAX_CATCHUP":         int64(c.MaxCatchup),
		"MAX_PUBLISH_BYTES":   c.MaxPublishBytes,
		"RETRY_MS":            ms(c.Retry),
		"RETRY_JITTER_MS":     ms(c.RetryJitter),

		"MAX_TOPIC_BYTES":       int64(c.MaxTopicBytes),
		"MAX_SELECTOR_COST":     c.MaxSelectorCost,
		"MAX_SUBSCRIPTION_COST": c.MaxSubscriptionCost,
		"MAX_HUB_COST":          c.MaxHubCost,
	}
}

// verifier builds the subscriber token verifier from the configured keys,
// or returns nil when no key is configured.
func (c config) verifier() (*auth.Verifier, error) {
	var keys []auth.Key
	if c.JWTKey != "" {
		k, err := auth.HMACKey([]byte(c.JWTKey))
		if err != nil {
			return nil, fmt.Errorf("JWT_KEY: %w", err)
		}
		keys = append(keys, k)
	}
	if c.JWTJWKS != "" {
		ks, err := auth.KeysFromJWKS([]byte(c.JWTJWKS))
		if err != nil {
			return nil, fmt.Errorf("JWT_JWKS: %w", err)
		}
		keys = append(keys, ks...)
	}
	if len(keys) == 0 {
		return nil, nil
	}
	return auth.NewVerifier(auth.Config{Keys: keys, Audience: c.JWTAudience, Issuer: c.JWTIssuer, Leeway: 5 * time.Second})
}
