package server

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/origin/presence"
	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/mercure"
	sharedpresence "github.com/edge-sse/edge-sse/shared/presence"
	"github.com/edge-sse/edge-sse/shared/topic"
)

// Defaults of the Config fields, applied to zero values.
const (
	DefaultHeartbeat      = 15 * time.Second
	DefaultRetry          = 3 * time.Second
	DefaultWriteTimeout   = 10 * time.Second
	DefaultQueueSize      = 1024
	DefaultFeedQueueSize  = 65536
	DefaultFeedCoalesce   = 2 * time.Millisecond
	DefaultMaxBodyBytes   = 1 << 20
	DefaultMaxTopics      = 64
	DefaultMaxFieldBytes  = 4096
	DefaultMaxSelectors   = topic.DefaultMaxSelectors
	DefaultMaxSubscribers = 10000
	// DefaultMaxSelectorCost, DefaultMaxSubscriptionCost and
	// DefaultMaxHubCost bound what matching selectors may cost; see
	// topic.Selector.Cost.
	DefaultMaxSelectorCost     = topic.DefaultMaxSelectorCost
	DefaultMaxSubscriptionCost = topic.DefaultMaxSetCost
	DefaultMaxHubCost          = topic.DefaultMaxHubCost
)

// defaultMatchURL stands in for the hub URL when Config.HubURL is empty:
// it names the hub's path (for the reserved namespace) and resolves
// nothing, as relative URL patterns are then refused (topic.Config.NoBase).
const defaultMatchURL = "http://localhost" + MercurePath

// maxGrants bounds the selectors compiled from one token's grants; the
// auth package already refuses tokens with more matchers.
const maxGrants = auth.MaxMatchers

// Config holds the origin's tunables. Zero values take the defaults
// documented on each field.
type Config struct {
	// HubURL is the hub's public URL, such as
	// "https://hub.example.com/.well-known/mercure". It is the target of the
	// discovery Link header and the base URL against which relative topics
	// and URL patterns are resolved and the reserved hub namespace is
	// checked (Mercure §"URL Pattern", §"Publication"), and the resource
	// identifier of the protected resource metadata. Empty: the Link header
	// holds the path alone, relative URL patterns (in selectors and grants)
	// are refused with 400 (in a token: 401) naming --hub-url, relative
	// topics match no URL pattern, and the metadata names the requested
	// host, for that request only.
	HubURL string

	// Publishers verifies publisher tokens. Publishing always needs a token
	// (Mercure §"Authorization"); with nil Publishers every publish is
	// refused with 401.
	Publishers *auth.Verifier
	// Subscribers verifies subscriber tokens. A token is needed to receive
	// private updates, and to subscribe at all unless AllowAnonymous is set.
	// With nil Subscribers a presented token is refused with 401.
	Subscribers *auth.Verifier
	// AllowAnonymous lets subscribers without a token receive public
	// updates (default false).
	AllowAnonymous bool

	// CORSOrigins are the origins browsers may call the hub endpoint and
	// the subscription API from: "*" for any origin without credentials,
	// or explicit http(s) origins ("https://app.example.com"), which are
	// echoed with Access-Control-Allow-Credentials so that the
	// authorization cookie works (Mercure §"Subscription"); a listed origin
	// wins over "*". The answers are those of mercure.CORS, as at the edge:
	// with "*", a request without Origin gets "*" too, and Vary: Origin is
	// sent only when origins are listed. Empty: no CORS headers.
	CORSOrigins []string
	// PublishOrigins are the origins, besides the hub's own, from which a
	// publish authorized by the cookie instead of the Authorization header
	// is accepted (Mercure §"Security Considerations", CSRF).
	PublishOrigins []string

	// FeedSecret authenticates edge hubs on FeedPath (Authorization:
	// Bearer). An empty secret disables the feed.
	FeedSecret string
	// History is the store the hub was created with. The bounded catch-up
	// mode of the edge feed reads it directly; with nil History that mode
	// answers 501.
	History hub.History

	// MetricsToken, when set, lets a request to the hub's handler that
	// presents it (Authorization: Bearer) read MetricsPath and the detail
	// of HealthPath. Without it the hub's handler serves no metrics (404)
	// and only {"status"} on HealthPath; OperatorHandler serves both
	// without a token, for a listener only operators can reach.
	MetricsToken string

	// Heartbeat is the interval of keep-alive comments on idle
	// subscriptions and of heartbeat frames on idle edge feeds (default
	// 15s; Cloudflare cuts origin reads after 100s of silence).
	Heartbeat time.Duration
	// Retry is the reconnection time advised to every subscriber at connect
	// with an SSE retry field (default 3s; negative: none). On Drain each
	// subscriber is told a random time between a quarter of it and all of
	// it, so that clients do not all come back in the same instant.
	Retry time.Duration
	// WriteTimeout bounds one write to a stream (default 10s): a client that
	// reads nothing for that long is disconnected.
	WriteTimeout time.Duration
	// QueueSize bounds each subscriber's queue, in events (default 1024); a
	// subscriber that falls further behind is disconnected.
	QueueSize int
	// FeedQueueSize bounds each edge feed's queue (default 65536).
	FeedQueueSize int
	// FeedCoalesce is the least time between two writes of events to an
	// edge feed (default 2ms; negative: none). An event that comes after a
	// quiet spell goes out at once; while events keep coming faster than
	// that, the ones published within it go out together in one write. An
	// edge hub reads its feed one write at a time, and in a burst each read
	// was one event: on 2026-12-04 the hub spent 85–95 µs of CPU per client
	// write over a 1,000-event burst to 1,000 clients with every event its
	// own write, and 64 µs with 2ms (README, "Design").
	FeedCoalesce time.Duration
	// MaxBodyBytes bounds a publish request body (default 1 MiB); a larger
	// body is refused with 413.
	MaxBodyBytes int64
	// MaxTopics bounds the topic fields of one update (default 64); more
	// are refused with 413.
	MaxTopics int
	// MaxFieldBytes bounds the length of each topic, id and type field of
	// an update (default 4096); a longer one is refused with 413.
	MaxFieldBytes int
	// MaxSelectors bounds the topic selectors of one subscribe request
	// (default 100); more are refused with 400.
	MaxSelectors int
	// MaxSelectorCost bounds the match cost of one subscription's topic
	// selector (default 8192): MaxFieldBytes when an automaton matches it,
	// reading each topic byte once, else the size of its regular expression
	// times MaxFieldBytes (see topic.Selector.Cost). A costlier one is
	// refused with 400. Token grants, which the application chooses, are
	// not bounded.
	MaxSelectorCost int64
	// MaxSubscriptionCost bounds the match cost of one subscription's
	// selectors together (default 16384); more is refused with 400.
	MaxSubscriptionCost int64
	// MaxHubCost bounds the match cost of the distinct costly selectors
	// (URI templates, URL patterns with regular expressions) all
	// subscriptions hold together (default 16384); each is matched once
	// per event however many subscriptions hold it. A subscription whose
	// new ones do not fit is refused with 503 and Retry-After.
	MaxHubCost int64
	// MaxSubscribers bounds the subscriptions open at once (default 10000;
	// negative: no bound); one more is refused with 429.
	MaxSubscribers int

	// Subscriptions turns on Mercure's Active Subscriptions (default
	// false): subscription events for every subscription, direct or at an
	// edge hub (whose reports arrive on PresencePath), the subscription
	// API under SubscriptionsPath, and mercure_subscriptions in the
	// metadata. Run Server.RunSubscriptions alongside the server.
	Subscriptions bool
	// SubscriptionStore keeps the index of active subscriptions (default:
	// in memory). Use the Bolt or Redis store of origin/presence with the
	// history of the same kind.
	SubscriptionStore presence.Store
	// SubscriptionLease is how long an instance's report keeps its
	// subscriptions active (default 30s): an edge hub silent for longer
	// is taken for gone and its subscriptions are terminated.
	SubscriptionLease time.Duration
	// ReportLimits bound the reports of PresencePath (zero fields: the
	// shared/presence defaults, except MaxTopics and MaxFieldBytes, which
	// default to MaxSelectors and MaxFieldBytes: an edge hub applies the
	// same bounds to its subscribers).
	ReportLimits sharedpresence.Limits
	// Now returns the current time for the subscription leases (default
	// time.Now); tests replace it.
	Now func() time.Time

	// Logger receives operational logs (default slog.Default()).
	Logger *slog.Logger
}

// Validate reports a configuration New cannot run with: a HubURL that is
// not an absolute http(s) URL, a CORSOrigins entry that is neither "*"
// nor an origin, or a negative subscription lease or report limit.
func (c *Config) Validate() error {
	switch {
	case c.SubscriptionLease < 0:
		return fmt.Errorf("server: subscription lease %v is negative", c.SubscriptionLease)
	case c.ReportLimits.MaxBodyBytes < 0 || c.ReportLimits.MaxOps < 0 || c.ReportLimits.MaxTopics < 0 || c.ReportLimits.MaxFieldBytes < 0:
		return fmt.Errorf("server: a subscription report limit is negative: %+v", c.ReportLimits)
	}
	if _, err := topic.NewCompiler(topic.Config{HubURL: c.matchURL()}); err != nil {
		return fmt.Errorf("server: hub URL: %w", err)
	}
	if _, err := c.parseCORS(); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}

// parseCORS returns CORSOrigins as the CORS policy the edge uses too
// (mercure.ParseCORS): "*" and http(s) origins, a trailing "/" dropped.
func (c *Config) parseCORS() (mercure.CORS, error) {
	return mercure.ParseCORS(strings.Join(c.CORSOrigins, ","))
}

// topicConfig returns the selector compiler's configuration: selectors are
// matched against topics of up to MaxFieldBytes; without a HubURL,
// relative URL patterns are refused (topic.Config.NoBase).
func (c *Config) topicConfig() topic.Config {
	return topic.Config{
		HubURL:          c.matchURL(),
		NoBase:          c.HubURL == "",
		MaxSelectors:    c.MaxSelectors,
		MaxTopicLen:     c.MaxFieldBytes,
		MaxSelectorCost: c.MaxSelectorCost,
		MaxSetCost:      c.MaxSubscriptionCost,
	}
}

// matchURL returns the base URL of topic resolution.
func (c *Config) matchURL() string {
	if c.HubURL == "" {
		return defaultMatchURL
	}
	return c.HubURL
}

func (c *Config) setDefaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.Retry == 0 {
		c.Retry = DefaultRetry
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.FeedCoalesce == 0 {
		c.FeedCoalesce = DefaultFeedCoalesce
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	def(&c.QueueSize, DefaultQueueSize)
	def(&c.FeedQueueSize, DefaultFeedQueueSize)
	def(&c.MaxTopics, DefaultMaxTopics)
	def(&c.MaxFieldBytes, DefaultMaxFieldBytes)
	def(&c.MaxSelectors, DefaultMaxSelectors)
	def64 := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	def64(&c.MaxSelectorCost, DefaultMaxSelectorCost)
	def64(&c.MaxSubscriptionCost, DefaultMaxSubscriptionCost)
	def64(&c.MaxHubCost, DefaultMaxHubCost)
	if c.MaxSubscribers == 0 {
		c.MaxSubscribers = DefaultMaxSubscribers
	}
	def(&c.ReportLimits.MaxTopics, c.MaxSelectors)
	def(&c.ReportLimits.MaxFieldBytes, c.MaxFieldBytes)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}
