// Package settings is the worker's configuration: one table of every
// wrangler var and secret the worker reads, with its default, its meaning
// and how it is parsed. The table is the single source of truth:
// wrangler.toml's [vars] and the README's configuration table are checked
// against it by this package's tests, and /_edge/stats shows the numeric
// limits straight from it. The package is pure Go, so it is tested natively;
// the worker supplies only the function that reads the environment.
package settings

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/mercure"
)

// Kinds of setting, as the README names where each is set.
const (
	// Var is a plain wrangler var ([vars] in wrangler.toml).
	Var = "wrangler var"
	// Secret is set with `wrangler secret put NAME` and never written
	// into wrangler.toml.
	Secret = "wrangler secret"
)

// Setting is one row of the table.
type Setting struct {
	// Name is the variable's name.
	Name string
	// Kind is Var or Secret.
	Kind string
	// Default is the value used when the variable is unset or empty, as
	// written in wrangler.toml; "" means none.
	Default string
	// Doc is the meaning, as the README's configuration table gives it.
	Doc string
	// Limit marks a numeric setting that /_edge/stats shows.
	Limit bool
	// apply parses a value into the configuration; nil for settings read
	// only by entry.mjs (the table still documents and checks them).
	apply func(c *Config, v string) error
}

// Config is the parsed configuration. Every field has a default that suits
// `wrangler dev` except FeedSecret, which has none.
type Config struct {
	// OriginURL is the origin hub's base URL.
	OriginURL string
	// FeedSecret authenticates this edge on the origin's feed.
	FeedSecret string
	// HubShards is the number of EdgeHub objects per region (entry.mjs
	// routes by it; Go only checks it).
	HubShards int
	// Heartbeat is the interval of comments sent to clients.
	Heartbeat time.Duration
	// FeedTimeout is how long the upstream may stay silent, heartbeats
	// included, before it is reconnected (default: twice the origin's
	// 15 s heartbeat plus slack). It also bounds a catch-up fetch of the
	// origin's history.
	FeedTimeout time.Duration
	// UpstreamIdle is how long a hub keeps its upstream feed without any
	// client; the next client opens it again and the hub resumes after the
	// newest id it holds.
	UpstreamIdle time.Duration
	// FeedCollect is how long the hub keeps reading the origin's feed,
	// when its last fan-out wrote to many streams and more of the feed
	// was already waiting after it, before it writes what it has to
	// clients (0 turns it off; a feed that is idle when Go asks is taken
	// at once). A fan-out to
	// thousands of streams takes tens of milliseconds; events that arrive
	// meanwhile then go out together, one write per client, instead of
	// one fan-out each.
	FeedCollect time.Duration
	// SliceWrites and DecodeSlice are the stream writes per slice of a
	// fan-out and the feed's events per decode slice (edge.Hub.SetSlices).
	SliceWrites, DecodeSlice int
	// RoundSliceWrites is the stream writes per slice of a heartbeat or
	// probe round (edge.Hub.SetRoundSlice).
	RoundSliceWrites int
	// GOGC is Go's GC percentage; entry.mjs hands the var to Go's
	// runtime, this only validates it.
	GOGC int
	// FeedBuffer is how many bytes of the feed the hub reads ahead of its
	// fan-out; past it, it stops reading and TCP pushes back to the origin.
	FeedBuffer int
	// RingSize is the number of events each hub keeps for resume.
	RingSize int
	// ClientQueue is how many chunks, and ClientQueueBytes how many bytes,
	// may wait for a client before it is dropped as too slow.
	ClientQueue, ClientQueueBytes int
	// ClientStall is how long a client may read nothing while chunks wait
	// for it before it is dropped (0 turns it off). Heartbeats make sure
	// something waits.
	ClientStall time.Duration
	// MaxStream bounds how long the hub keeps one client stream (0: no
	// bound). Each stream gets between 3/4 of it and all of it, at random,
	// then the hub closes it; the client reconnects with Last-Event-ID and
	// resumes from the ring, losing nothing. It is the last bound on a
	// stream whose client left unnoticed; workerd erroring the client
	// stream and ClientStall come first.
	MaxStream time.Duration
	// MaxClients is the most client streams one hub object holds; past it
	// a subscribe request gets 503 with Retry-After. Raise HUB_SHARDS to
	// spread a region over more objects instead.
	MaxClients int
	// CPUBudget is the CPU the platform allows a hub object per invocation
	// (wrangler.toml's [limits] cpu_ms; each incoming request starts a new
	// one); 0 turns the hub's account off. WriteCost is the CPU one stream
	// write of events costs besides its bytes, WriteKBCost the CPU per KiB
	// it carries, CommentCost the CPU of one heartbeat comment written:
	// the account's terms (measured; see the README's "CPU per
	// invocation"). From ShedAt percent of the budget spent without an
	// incoming request, the hub closes ShedPct percent of its streams at
	// each further tenth of the rest, and the last of them before the
	// limit; their clients resume elsewhere or here with Last-Event-ID.
	CPUBudget, WriteCost, WriteKBCost, CommentCost time.Duration
	ShedAt, ShedPct                                int
	// MaxCatchup is the most client streams one hub object catches up from
	// the origin's history at once: a subscribe request whose Last-Event-ID
	// is older than the ring, when that many wait, gets 503 with
	// Retry-After. Each waits, its live events held in memory, for a fetch
	// from the origin.
	MaxCatchup int
	// MaxSelectors bounds the topic selectors of one subscribe request
	// (the origin's --max-selectors); more are refused with 400.
	MaxSelectors int
	// MaxLastEventID bounds a subscribe request's Last-Event-ID (or
	// last_event_id) in bytes (the origin's --max-field-bytes bound on
	// event ids); a longer one is refused with 400.
	MaxLastEventID int
	// MaxTopicBytes is the longest topic selectors are matched against
	// (the origin's --max-field-bytes); MaxSelectorCost,
	// MaxSubscriptionCost and MaxHubCost bound the match cost of a
	// selector, of a subscription's selectors, and of the distinct costly
	// selectors of the hub object (400 past the first two; 503 with
	// Retry-After past the third), as the origin's flags of the same names.
	MaxTopicBytes                                    int
	MaxSelectorCost, MaxSubscriptionCost, MaxHubCost int64
	// MaxPublishBytes is the largest publish body the front door forwards
	// (the origin's default --max-body-bytes); a larger one gets 413
	// without reaching the origin.
	MaxPublishBytes int64
	// CORSOrigins are the origins whose pages may read the hub endpoint's
	// and the subscription API's answers: "*" without credentials, listed
	// origins echoed with credentials (the cookie mode).
	CORSOrigins mercure.CORS
	// JWTKey is the HS256 secret subscriber tokens are signed with (at
	// least 32 bytes); JWTJWKS a JWKS document of RS256/ES256 public keys.
	// Either may be empty; with neither, only anonymous subscribers can
	// connect.
	JWTKey, JWTJWKS string
	// JWTAudience, when set, must be in a subscriber token's aud claim (the
	// hub's public URL, as the origin's --jwt-audience); JWTIssuer, when
	// set, must equal its iss claim.
	JWTAudience, JWTIssuer string
	// AllowAnonymous lets clients without a token subscribe to public
	// updates.
	AllowAnonymous bool
	// PublicURL is the hub's public URL: the base of relative URL patterns
	// in selectors and grants, and the resource identifier of the
	// protected resource metadata. Unset: relative URL patterns are
	// refused, never resolved against a request's host.
	PublicURL string
	// Retry is the base reconnection delay advised to clients; each client
	// gets Retry plus a random share of RetryJitter, so that a restart does
	// not bring every client back in the same second.
	Retry, RetryJitter time.Duration
	// DevPublishToken is put into the demo page, for requests to a
	// loopback address only, so that its publish form works in
	// development (make dev sets it). Leave it unset in production.
	DevPublishToken string
	// Subscriptions turns presence on (Mercure's Active Subscriptions):
	// each hub object reports its connections to the origin, which must
	// run with --subscriptions, and the front door forwards the
	// subscription API to the origin.
	Subscriptions bool
	// PresenceBatch is the least time between two reports of a hub
	// object's connects and disconnects; PresenceMaxPending bounds the
	// ops waiting for one, past which the hub sends its whole set instead.
	PresenceBatch      time.Duration
	PresenceMaxPending int
	// StatsToken is the operator credential of /_edge/stats (entry.mjs
	// checks it; Go only documents it).
	StatsToken string

	// limits are the values of the Limit settings, as configured.
	limits map[string]int64
	// problems are the values that did not parse (their default is used).
	problems []error
}

// Table is every setting of the worker, in the README's order.
var Table = []Setting{
	{Name: "ORIGIN_URL", Kind: Var, Default: "http://127.0.0.1:8080", Doc: "origin base URL",
		apply: str(func(c *Config) *string { return &c.OriginURL })},
	{Name: "FEED_SECRET", Kind: Secret, Doc: "the origin's `--feed-secret` (`wrangler secret put FEED_SECRET`); required: without it no feed opens, and when `ORIGIN_URL` is not loopback a secret shorter than 32 bytes or a published one (`dev-feed-secret`, …) is refused too (`/healthz` answers 503 naming `FEED_SECRET`)",
		apply: str(func(c *Config) *string { return &c.FeedSecret })},
	{Name: "STATS_TOKEN", Kind: Secret, Doc: "operator credential of `GET /_edge/stats` (`Authorization: Bearer`); without it the stats answer 404"},
	{Name: "JWT_KEY", Kind: Secret, Doc: "HS256 secret (≥ 32 bytes) of subscriber tokens",
		apply: str(func(c *Config) *string { return &c.JWTKey })},
	{Name: "JWT_JWKS", Kind: Var, Doc: "JWKS document (RS256/ES256 public keys) of subscriber tokens",
		apply: str(func(c *Config) *string { return &c.JWTJWKS })},
	{Name: "JWT_AUDIENCE", Kind: Var, Doc: "when set, a subscriber token's `aud` must include it (401 naming the claim otherwise); use the origin's `--jwt-audience` value",
		apply: str(func(c *Config) *string { return &c.JWTAudience })},
	{Name: "JWT_ISSUER", Kind: Var, Doc: "when set, a subscriber token's `iss` must equal it (401 naming the claim otherwise); use the origin's `--jwt-issuer` value",
		apply: str(func(c *Config) *string { return &c.JWTIssuer })},
	{Name: "ALLOW_ANONYMOUS", Kind: Var, Default: "false", Doc: "let clients without a token receive public updates (`true` or `false`)",
		apply: boolean(func(c *Config) *bool { return &c.AllowAnonymous })},
	{Name: "PUBLIC_URL", Kind: Var, Doc: "public hub URL: base of relative URL patterns (selectors and grants) and the `resource` of the protected resource metadata; unset, a relative URL pattern is refused (400 in the query, 401 in a token, naming `PUBLIC_URL`) and the metadata names each request's own host, for that request only",
		apply: str(func(c *Config) *string { return &c.PublicURL })},
	{Name: "HUB_SHARDS", Kind: Var, Default: "1", Doc: "EdgeHub objects per region",
		apply: integer(1, func(c *Config, n int) { c.HubShards = n })},
	{Name: "CLIENT_HEARTBEAT_MS", Kind: Var, Default: "15000", Limit: true, Doc: "departure bound: a client that leaves is dropped within 2× this, however idle; a comment goes to every client nothing else was written to for a third of it (a closed connection shows only after a few writes)",
		apply: millis(1, func(c *Config) *time.Duration { return &c.Heartbeat })},
	{Name: "FEED_TIMEOUT_MS", Kind: Var, Default: "35000", Limit: true, Doc: "upstream silence (heartbeats included) before reconnecting; also how long a catch-up fetch of the origin's history may take",
		apply: millis(1, func(c *Config) *time.Duration { return &c.FeedTimeout })},
	{Name: "UPSTREAM_IDLE_MS", Kind: Var, Default: "60000", Limit: true, Doc: "how long a hub without clients keeps its feed",
		apply: millis(1, func(c *Config) *time.Duration { return &c.UpstreamIdle })},
	{Name: "RING_SIZE", Kind: Var, Default: "4096", Limit: true, Doc: "events each hub keeps for resume",
		apply: integer(1, func(c *Config, n int) { c.RingSize = n })},
	{Name: "CLIENT_QUEUE", Kind: Var, Default: "1024", Limit: true, Doc: "chunks waiting for a client before it is dropped as slow",
		apply: integer(1, func(c *Config, n int) { c.ClientQueue = n })},
	{Name: "CLIENT_QUEUE_KB", Kind: Var, Default: "64", Limit: true, Doc: "KiB waiting for a client before it is dropped as slow (it may hold one chunk more); the bound on the memory one client holds: half of an isolate's 128 MB over `MAX_CLIENTS` (1000) is 64",
		apply: integer(1, func(c *Config, n int) { c.ClientQueueBytes = min(n, 1<<21-1) * 1024 })},
	{Name: "MAX_PUBLISH_BYTES", Kind: Var, Default: "1048576", Limit: true, Doc: "largest publish body the front door forwards (413 past it)",
		apply: integer(1, func(c *Config, n int) { c.MaxPublishBytes = int64(n) })},
	{Name: "CLIENT_STALL_MS", Kind: Var, Default: "60000", Limit: true, Doc: "a client that reads nothing for this long while chunks wait for it is dropped (0: off)",
		apply: millis(0, func(c *Config) *time.Duration { return &c.ClientStall })},
	{Name: "MAX_STREAM_MS", Kind: Var, Default: "1800000", Limit: true, Doc: "a client stream is closed after ¾ to all of this (random); the client resumes with `Last-Event-ID` (0: no bound)",
		apply: millis(0, func(c *Config) *time.Duration { return &c.MaxStream })},
	{Name: "MAX_CLIENTS", Kind: Var, Default: "1000", Limit: true, Doc: "streams one hub object holds; past it 503 + `Retry-After`. Sized by the README's \"Sizing\" for 10 events/s on one topic with the edge adding p99 ≤ 100 ms, at 50 µs per write on a core of its own",
		apply: integer(1, func(c *Config, n int) { c.MaxClients = n })},
	{Name: "CPU_BUDGET_MS", Kind: Var, Default: "300000", Limit: true, Doc: "CPU one hub object may spend between incoming requests: keep it at wrangler.toml's `[limits] cpu_ms` (30000 without that block); the hub's own estimate of its spending, in stream writes, sheds streams before it (0: off)",
		apply: millis(0, func(c *Config) *time.Duration { return &c.CPUBudget })},
	{Name: "WRITE_COST_US", Kind: Var, Default: "50", Limit: true, Doc: "CPU of one stream write of events in µs besides its bytes, the base of that estimate (measured: see \"CPU per invocation\"); each event read counts as one write",
		apply: integer(1, func(c *Config, n int) { c.WriteCost = time.Duration(n) * time.Microsecond })},
	{Name: "WRITE_KB_COST_NS", Kind: Var, Default: "2000", Limit: true, Doc: "CPU per KiB a stream write of events carries, in ns, added to `WRITE_COST_US` in that estimate (measured: see \"CPU per invocation\")",
		apply: integer(0, func(c *Config, n int) { c.WriteKBCost = time.Duration(n) })},
	{Name: "COMMENT_COST_US", Kind: Var, Default: "40", Limit: true, Doc: "CPU of one heartbeat comment written to a client in µs, in that estimate (measured: see \"CPU per invocation\")",
		apply: integer(0, func(c *Config, n int) { c.CommentCost = time.Duration(n) * time.Microsecond })},
	{Name: "SHED_AT_PCT", Kind: Var, Default: "50", Limit: true, Doc: "share of `CPU_BUDGET_MS` spent without an incoming request at which the hub closes `SHED_PCT` of its streams, and again at each further tenth of the rest, every stream at the last; clients resume with `Last-Event-ID` after their `retry:`",
		apply: percent(func(c *Config, n int) { c.ShedAt = n })},
	{Name: "SHED_PCT", Kind: Var, Default: "10", Limit: true, Doc: "share of its streams a hub closes at each such step (at least one)",
		apply: percent(func(c *Config, n int) { c.ShedPct = n })},
	{Name: "MAX_CATCHUP", Kind: Var, Default: "1000", Limit: true, Doc: "streams one hub object catches up from the origin's history at once (`Last-Event-ID` older than the ring); past it such a resume gets 503 + `Retry-After`. Keep it at `MAX_CLIENTS` or above if clients are native `EventSource`s: after a restart every stream resumes at once, and a 503 is final to them",
		apply: integer(1, func(c *Config, n int) { c.MaxCatchup = n })},
	{Name: "MAX_SELECTORS", Kind: Var, Default: "100", Limit: true, Doc: "topic selectors per subscribe request (400 above; the origin's `--max-selectors`)",
		apply: integer(1, func(c *Config, n int) { c.MaxSelectors = n })},
	{Name: "MAX_LAST_EVENT_ID_BYTES", Kind: Var, Default: "4096", Limit: true, Doc: "longest `Last-Event-ID` / `last_event_id` (400 above; the origin's `--max-field-bytes`)",
		apply: integer(1, func(c *Config, n int) { c.MaxLastEventID = n })},
	{Name: "MAX_SELECTOR_COST", Kind: Var, Default: "8192", Limit: true, Doc: "match cost of one topic selector (its regular expression's automaton reads each topic byte once: the topic length, `MAX_TOPIC_BYTES`; without one, program size × topic length); past it 400 naming the var",
		apply: integer(1, func(c *Config, n int) { c.MaxSelectorCost = int64(n) })},
	{Name: "MAX_SUBSCRIPTION_COST", Kind: Var, Default: "16384", Limit: true, Doc: "match cost of one subscription's selectors together; past it 400 naming the var",
		apply: integer(1, func(c *Config, n int) { c.MaxSubscriptionCost = int64(n) })},
	{Name: "MAX_HUB_COST", Kind: Var, Default: "16384", Limit: true, Doc: "match cost of the distinct templates and URL patterns all clients of one hub object hold (each is matched once per event however many hold it); past it 503 + `Retry-After` naming the var",
		apply: integer(1, func(c *Config, n int) { c.MaxHubCost = int64(n) })},
	{Name: "MAX_TOPIC_BYTES", Kind: Var, Default: "4096", Limit: true, Doc: "longest topic matched, the unit of the costs above: keep it at the origin's `--max-field-bytes`; shorter topics let a hub hold proportionally more selectors",
		apply: integer(1, func(c *Config, n int) { c.MaxTopicBytes = n })},
	{Name: "FEED_BUFFER_KB", Kind: Var, Default: "4096", Limit: true, Doc: "feed bytes a hub reads ahead of its fan-out; past it, it stops reading (TCP pushes back to the origin)",
		apply: integer(1, func(c *Config, n int) { c.FeedBuffer = n * 1024 })},
	{Name: "FEED_COLLECT_MS", Kind: Var, Default: "2", Limit: true, Doc: "after a large fan-out during which more of the feed arrived, how long the hub keeps reading the feed before the next one (0: off)",
		apply: millis(0, func(c *Config) *time.Duration { return &c.FeedCollect })},
	{Name: "SLICE_WRITES", Kind: Var, Default: "64", Limit: true, Doc: "stream writes per slice of a fan-out (`ROUND_SLICE_WRITES` for heartbeat and probe rounds); between slices the hub yields to the event loop (other requests, the platform's stream work): smaller answers sooner during a big fan-out, at one event-loop turn per slice",
		apply: integer(1, func(c *Config, n int) { c.SliceWrites = n })},
	{Name: "ROUND_SLICE_WRITES", Kind: Var, Default: "16", Limit: true, Doc: "stream writes per slice of a heartbeat or probe round, with a yield to the event loop between slices: a round writes to streams that have been idle, each such write wakes workerd's pump, and a live event arriving during the round waits for at most one slice (see \"Sizing\")",
		apply: integer(1, func(c *Config, n int) { c.RoundSliceWrites = n })},
	{Name: "DECODE_SLICE", Kind: Var, Default: "16", Limit: true, Doc: "feed events the hub decodes between yields to the event loop when a burst arrives in one read (the batch still goes out as one fan-out)",
		apply: integer(1, func(c *Config, n int) { c.DecodeSlice = n })},
	{Name: "GOGC", Kind: Var, Default: "100", Limit: true, Doc: "Go's garbage-collection target percentage in each Go instance of the worker, as for a native Go program: higher collects less often at the cost of Wasm memory, which Cloudflare's 128 MB isolate limit counts; `/_edge/stats` shows the hub's collections and heap under `go`",
		apply: integer(10, func(c *Config, n int) { c.GOGC = n })},
	{Name: "RETRY_MS", Kind: Var, Default: "2000", Limit: true, Doc: "reconnection advice: base delay",
		apply: millis(1, func(c *Config) *time.Duration { return &c.Retry })},
	{Name: "RETRY_JITTER_MS", Kind: Var, Default: "8000", Limit: true, Doc: "reconnection advice: random jitter added to `RETRY_MS`",
		apply: millis(1, func(c *Config) *time.Duration { return &c.RetryJitter })},
	{Name: "CORS_ORIGINS", Kind: Var, Default: "*", Doc: "comma-separated origins whose pages may call the hub endpoint and the subscription API (not the demo page), as the origin's `--cors-origins`: `*` allows any origin without credentials; a listed origin (`scheme://host[:port]`) is echoed in `Access-Control-Allow-Origin` with `Access-Control-Allow-Credentials: true`, for the authorization cookie (`credentials: \"include\"`)",
		apply: func(c *Config, v string) (err error) { c.CORSOrigins, err = mercure.ParseCORS(v); return err }},
	{Name: "SUBSCRIPTIONS", Kind: Var, Default: "false", Doc: "presence (Mercure's Active Subscriptions, `true` or `false`): every hub object reports its connections to the origin, which must run with `--subscriptions`, and the front door forwards `GET /.well-known/mercure/subscriptions…` to it",
		apply: boolean(func(c *Config) *bool { return &c.Subscriptions })},
	{Name: "PRESENCE_BATCH_MS", Kind: Var, Default: "1000", Limit: true, Doc: "least time between two presence reports of a hub object carrying connects and disconnects (they are batched); the lease is renewed every third of the origin's `--subscription-lease` besides",
		apply: millis(1, func(c *Config) *time.Duration { return &c.PresenceBatch })},
	{Name: "PRESENCE_MAX_PENDING", Kind: Var, Default: "10000", Limit: true, Doc: "connects and disconnects a hub object keeps for its next presence report (while the origin is unreachable, say); past it the next report is the whole set",
		apply: integer(1, func(c *Config, n int) { c.PresenceMaxPending = n })},
	{Name: "DEV_PUBLISH_TOKEN", Kind: Var, Doc: "publisher token put into the demo page's form, for requests to a loopback address only; dev only (`make dev` sets it)",
		apply: str(func(c *Config) *string { return &c.DevPublishToken })},
}

// Load reads every setting with getenv (the worker passes
// cloudflare.Getenv). An unset or empty variable takes its default; a
// value that does not parse takes its default too and is reported by
// Problems.
func Load(getenv func(string) string) Config {
	c := Config{limits: map[string]int64{}}
	for _, s := range Table {
		if s.apply == nil {
			continue
		}
		v := getenv(s.Name)
		if v != "" {
			if err := s.apply(&c, v); err == nil {
				c.limit(s, v)
				continue
			} else {
				c.problems = append(c.problems, fmt.Errorf("%s=%q: %w; using the default %q", s.Name, v, err, s.Default))
			}
		}
		if err := s.apply(&c, s.Default); err != nil && s.Default != "" {
			panic(fmt.Sprintf("settings: default of %s: %v", s.Name, err)) // a bug in the table; the tests load every default
		}
		c.limit(s, s.Default)
	}
	return c
}

// limit records the value of a Limit setting.
func (c *Config) limit(s Setting, v string) {
	if s.Limit {
		n, _ := strconv.ParseInt(v, 10, 64)
		c.limits[s.Name] = n
	}
}

// Limits returns the configured value of every Limit setting, by name, as
// /_edge/stats shows them.
func (c Config) Limits() map[string]int64 {
	m := make(map[string]int64, len(c.limits))
	for k, v := range c.limits {
		m[k] = v
	}
	return m
}

// Problems returns the values Load could not parse.
func (c Config) Problems() []error { return c.problems }

// Advice returns settings that work but defeat a goal of the design, each
// naming its variables and what to do; the hub logs them at start.
func (c Config) Advice() []string {
	var out []string
	if c.MaxCatchup < c.MaxClients {
		out = append(out, fmt.Sprintf("MAX_CATCHUP=%d is below MAX_CLIENTS=%d: after a restart every stream of a full hub resumes from the origin's history at once, and those past MAX_CATCHUP get a 503, which a native EventSource never retries; raise MAX_CATCHUP to MAX_CLIENTS unless every client retries a 503 (edge-sse.js does)", c.MaxCatchup, c.MaxClients))
	}
	if c.CPUBudget > 0 && c.CPUBudget < 30*time.Second {
		out = append(out, fmt.Sprintf("CPU_BUDGET_MS=%d is below the platform's 30 s default: the hub sheds streams earlier than it must", c.CPUBudget.Milliseconds()))
	}
	return out
}

// FeedProblem returns why this edge may not open the origin's feed, or nil.
// FEED_SECRET must be set; and unless ORIGIN_URL is loopback (the origin
// on this machine, as under `make dev`), it must also pass
// mercure.FeedSecretProblem: at least 32 bytes, not a published value.
// The error names FEED_SECRET and says what to do.
func (c Config) FeedProblem() error {
	u, err := url.Parse(c.OriginURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("ORIGIN_URL %q is not an absolute http(s) URL", c.OriginURL)
	}
	err = mercure.FeedSecretProblem(c.FeedSecret)
	switch {
	case errors.Is(err, mercure.ErrNoFeedSecret):
		return errors.New("FEED_SECRET is not set: set it to the origin's --feed-secret (wrangler secret put FEED_SECRET)")
	case err != nil && !mercure.IsLoopbackHost(u.Hostname()):
		return fmt.Errorf("FEED_SECRET refused: %w, and ORIGIN_URL %s is not loopback: generate one (openssl rand -hex 32), give it to the origin as --feed-secret and to the worker with wrangler secret put FEED_SECRET", err, c.OriginURL)
	}
	return nil
}

// Verifier builds the subscriber token verifier from the configured keys,
// or returns nil when no key is configured.
func (c Config) Verifier() (*auth.Verifier, error) {
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

// str sets a string field.
func str(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		*field(c) = v
		return nil
	}
}

// boolean sets a bool field from "true" or "false".
func boolean(field func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		switch v {
		case "true", "false":
			*field(c) = v == "true"
			return nil
		}
		return errors.New(`want "true" or "false"`)
	}
}

// integer sets an integer of at least min.
func integer(min int, set func(*Config, int)) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < min {
			return fmt.Errorf("want an integer ≥ %d", min)
		}
		set(c, n)
		return nil
	}
}

// percent sets an integer from 1 to 100.
func percent(set func(*Config, int)) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return errors.New("want a percentage from 1 to 100")
		}
		set(c, n)
		return nil
	}
}

// millis sets a duration given in milliseconds, at least min.
func millis(min int, field func(*Config) *time.Duration) func(*Config, string) error {
	return integer(min, func(c *Config, n int) { *field(c) = time.Duration(n) * time.Millisecond })
}

// Row is the setting's row of the README's configuration table.
func (s Setting) Row() string {
	def := "none"
	if s.Default != "" {
		def = "`" + s.Default + "`"
	}
	return "| " + s.Kind + " | `" + s.Name + "` | " + def + " | " + s.Doc + " |"
}
