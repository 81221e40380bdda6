package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/edge-sse/edge-sse/origin/hub"
	opresence "github.com/edge-sse/edge-sse/origin/presence"
	"github.com/edge-sse/edge-sse/origin/server"
	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/mercure"
	"github.com/edge-sse/edge-sse/shared/presence"
)

// serveFlags is the configuration of "origin serve".
type serveFlags struct {
	addr, hubURL    string
	metricsAddr     string
	metricsToken    string
	production      bool
	allowAnonymous  bool
	feedSecret      string
	cors, pubOrigin listFlag
	logLevel        string
	shutdownTimeout time.Duration
	jwt             jwtFlags
	history         historyFlags
	cfg             server.Config
}

// defineServeFlags defines every flag of "origin serve" on fs.
func defineServeFlags(fs *flag.FlagSet, f *serveFlags) {
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", "operator listen address serving "+server.MetricsPath+" and the detail of "+server.HealthPath+" without a token, e.g. 127.0.0.1:9090 (keep it private; default: none)")
	fs.StringVar(&f.metricsToken, "metrics-token", "", "token (Authorization: Bearer) that unlocks "+server.MetricsPath+" and the detail of "+server.HealthPath+" on --addr (default: none: --addr serves no metrics and only the health status)")
	fs.StringVar(&f.hubURL, "hub-url", "", "public URL of the hub endpoint, e.g. https://hub.example.com/.well-known/mercure: discovery Link target, base URL of relative topics and URL patterns, and the metadata's resource (default: none; relative URL patterns are then refused)")
	fs.BoolVar(&f.production, "production", false, "refuse to start with a generated or published key, or a weak feed secret or metrics token")
	fs.BoolVar(&f.allowAnonymous, "allow-anonymous", false, "let subscribers without a token receive public updates (default: on in dev mode, off with --production)")
	fs.StringVar(&f.feedSecret, "feed-secret", "", fmt.Sprintf("secret edge hubs present on %s, at least %d bytes and not a published value unless in development mode on loopback (default: generated and printed in development mode on loopback, else none; empty: feed disabled)", server.FeedPath, mercure.MinFeedSecretBytes))
	fs.Var(&f.cors, "cors-origins", `origins allowed by CORS, comma-separated: "*" (any origin, no credentials) and/or http(s)://host[:port] origins (echoed, with credentials)`)
	fs.Var(&f.pubOrigin, "publish-origins", "comma-separated origins, besides the hub's own, allowed to publish with the authorization cookie")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long a graceful shutdown waits for publishes in flight")

	fs.StringVar(&f.jwt.key, "jwt-key", "", "JWT key for publishers and subscribers: HS256 secret (>= 32 bytes), or PEM public key (inline or file) for RS256/ES256")
	fs.StringVar(&f.jwt.publisherKey, "publisher-jwt-key", "", "JWT key for publishers only (overrides --jwt-key)")
	fs.StringVar(&f.jwt.subscriberKey, "subscriber-jwt-key", "", "JWT key for subscribers only (overrides --jwt-key)")
	fs.StringVar(&f.jwt.alg, "jwt-alg", auth.HS256, "algorithm of the key flags: HS256, RS256 or ES256")
	fs.StringVar(&f.jwt.jwksFile, "jwt-jwks-file", "", "JWK Set file whose RS256/ES256 keys both roles trust")
	fs.StringVar(&f.jwt.audience, "jwt-audience", "", "required aud claim (the hub's resource identifier)")
	fs.StringVar(&f.jwt.issuer, "jwt-issuer", "", "required iss claim")
	fs.DurationVar(&f.jwt.leeway, "jwt-leeway", 0, "clock skew tolerated on exp and nbf")
	fs.BoolVar(&f.jwt.strict, "jwt-require-access-token", false, "enforce the RFC 9068 profile: typ at+jwt, exp, aud and iss, authorization_details only")

	fs.StringVar(&f.history.kind, "history", "bolt", "history store: bolt (durable file) or memory")
	fs.StringVar(&f.history.path, "history-path", "./origin-history.db", "file of the bolt history")
	fs.IntVar(&f.history.size, "history-size", 10000, "events kept for resume (bolt, redis: negative for no count bound)")
	fs.DurationVar(&f.history.maxAge, "history-max-age", 0, "events older than this leave the history (0: no age bound)")
	fs.BoolVar(&f.history.noSync, "history-no-sync", false, "bolt: skip the fsync of each commit (survives a process crash, not a machine crash)")
	fs.StringVar(&f.history.redisURL, "redis", "", "redis://host:port/db: share history and fan-out with every origin on this Redis (overrides --history)")
	fs.StringVar(&f.history.redisPrefix, "redis-prefix", "", `key prefix in Redis (default "{edge-sse}:")`)

	fs.DurationVar(&f.cfg.Heartbeat, "heartbeat", server.DefaultHeartbeat, "keep-alive comment and feed heartbeat interval")
	fs.DurationVar(&f.cfg.Retry, "retry", server.DefaultRetry, "reconnection time advised to subscribers at connect (negative: none)")
	fs.DurationVar(&f.cfg.WriteTimeout, "write-timeout", server.DefaultWriteTimeout, "a stream whose client reads nothing for this long is closed")
	fs.IntVar(&f.cfg.QueueSize, "queue-size", server.DefaultQueueSize, "events queued per subscriber before it is disconnected as too slow")
	fs.IntVar(&f.cfg.FeedQueueSize, "feed-queue-size", server.DefaultFeedQueueSize, "events queued per edge feed before it is disconnected")
	fs.DurationVar(&f.cfg.FeedCoalesce, "feed-coalesce", server.DefaultFeedCoalesce, "least time between two writes of events to an edge feed: events published within it go out together (negative: none)")
	fs.Int64Var(&f.cfg.MaxBodyBytes, "max-body-bytes", server.DefaultMaxBodyBytes, "largest publish body")
	fs.IntVar(&f.cfg.MaxTopics, "max-topics", server.DefaultMaxTopics, "most topics per update")
	fs.IntVar(&f.cfg.MaxFieldBytes, "max-field-bytes", server.DefaultMaxFieldBytes, "longest topic, id or type")
	fs.IntVar(&f.cfg.MaxSelectors, "max-selectors", server.DefaultMaxSelectors, "most topic selectors per subscribe request")
	fs.Int64Var(&f.cfg.MaxSelectorCost, "max-selector-cost", server.DefaultMaxSelectorCost, "largest match cost of one topic selector: --max-field-bytes when an automaton reads each topic byte once, else its regexp size × --max-field-bytes (400 past it)")
	fs.Int64Var(&f.cfg.MaxSubscriptionCost, "max-subscription-cost", server.DefaultMaxSubscriptionCost, "largest match cost of one subscription's selectors together (400 past it)")
	fs.Int64Var(&f.cfg.MaxHubCost, "max-hub-cost", server.DefaultMaxHubCost, "largest match cost of the distinct templates and URL patterns of all subscriptions together, each matched once per event (503 + Retry-After past it)")
	fs.BoolVar(&f.cfg.Subscriptions, "subscriptions", false, "Mercure Active Subscriptions: subscription events for every subscription (direct, or reported by edge hubs on "+server.PresencePath+"), the subscription API under "+server.SubscriptionsPath+", mercure_subscriptions in the metadata")
	fs.DurationVar(&f.cfg.SubscriptionLease, "subscription-lease", opresence.DefaultLease, "with --subscriptions: how long a hub instance's report keeps its subscriptions; an edge hub (or origin) silent for longer has them terminated (active: false)")
	fs.Int64Var(&f.cfg.ReportLimits.MaxBodyBytes, "subscription-report-bytes", presence.DefaultMaxBodyBytes, "with --subscriptions: largest body of an edge hub's report (413 past it)")
	fs.IntVar(&f.cfg.ReportLimits.MaxOps, "subscription-report-ops", presence.DefaultMaxOps, "with --subscriptions: most ops (connections added or removed) in one edge hub report (413 past it)")
	fs.IntVar(&f.cfg.MaxSubscribers, "max-subscribers", server.DefaultMaxSubscribers, "most open subscriptions (negative: no bound)")
	bindEnv(fs, "all")
}

// serve is "origin serve": it runs the hub until ctx is done, then shuts
// down gracefully. ready, when not nil, receives the listening address.
func serve(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer, ready func(net.Addr)) error {
	fs := newFlagSet("serve", "serve [flags]", stderr)
	var f serveFlags
	defineServeFlags(fs, &f)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := applyEnv(fs, env); err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}
	f.cors.splitCommas()
	f.pubOrigin.splitCommas()
	if !isSet(fs, "allow-anonymous") {
		f.allowAnonymous = !f.production
	}
	logger, err := newLogger(f.logLevel, stderr)
	if err != nil {
		return err
	}
	if err := f.checkFeedSecret(isSet(fs, "feed-secret"), stdout); err != nil {
		return err
	}
	if err := f.checkMode(stdout); err != nil {
		return err
	}
	cfg, err := f.serverConfig(logger)
	if err != nil {
		return err
	}

	store, storeName, err := f.history.open(ctx, logger)
	if err != nil {
		return err
	}
	defer store.Close()
	if cfg.Subscriptions {
		if cfg.SubscriptionStore, err = presenceStore(store, server.HubPath(cfg.HubURL)); err != nil {
			return err
		}
	}
	h := hub.New(store)
	cfg.History = store
	srv := server.New(h, cfg)
	pctx, stopPresence := context.WithCancel(context.Background())
	presenceDone := make(chan struct{})
	go func() {
		defer close(presenceDone)
		srv.RunSubscriptions(pctx)
	}()
	defer func() { stopPresence(); <-presenceDone }()

	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		h.Close()
		return err
	}
	httpSrv := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	httpSrv.RegisterOnShutdown(srv.Drain)
	opSrv, err := f.serveOperator(srv, logger)
	if err != nil {
		ln.Close()
		h.Close()
		return err
	}
	if opSrv != nil {
		defer opSrv.Close()
	}
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	logger.Info("origin listening", "addr", ln.Addr().String(), "history", storeName,
		"production", f.production, "anonymous", f.allowAnonymous, "feed", f.feedSecret != "",
		"metrics", f.metricsAddr != "" || f.metricsToken != "", "subscriptions", cfg.Subscriptions)
	if ready != nil {
		ready(ln.Addr())
	}

	select {
	case err = <-errc:
	case <-ctx.Done():
		logger.Info("shutting down: closing streams, finishing publishes")
		sctx, cancel := context.WithTimeout(context.Background(), f.shutdownTimeout)
		err = httpSrv.Shutdown(sctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			httpSrv.Close()
		}
		<-errc
	}
	// After every handler returned: the tracker reports the disconnections
	// of the drained streams, then no acknowledged publish is cut short.
	stopPresence()
	<-presenceDone
	h.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// serveOperator starts the --metrics-addr listener, if configured, with
// the server's OperatorHandler; nil when not configured.
func (f *serveFlags) serveOperator(srv *server.Server, logger *slog.Logger) (*http.Server, error) {
	if f.metricsAddr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", f.metricsAddr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	op := &http.Server{Handler: srv.OperatorHandler(), ReadHeaderTimeout: 10 * time.Second}
	go op.Serve(ln)
	logger.Info("operator endpoints listening", "addr", ln.Addr().String(), "paths", server.MetricsPath+" "+server.HealthPath)
	return op, nil
}

// devLoopback reports whether the origin runs in development mode on
// loopback: without --production and listening on a loopback address
// only (127.0.0.0/8, ::1 or localhost; not 0.0.0.0, not an empty host).
// Only there can nobody but this machine reach the feed, so only there is
// a weak or published feed secret tolerated.
func (f *serveFlags) devLoopback() bool {
	host, _, err := net.SplitHostPort(f.addr)
	return !f.production && err == nil && mercure.IsLoopbackHost(host)
}

// checkFeedSecret decides the edge feed's secret. Without --feed-secret,
// development mode on loopback generates one for this run and prints it
// (give it to the worker as FEED_SECRET), and elsewhere the feed stays
// disabled. A secret that is short or published (mercure.FeedSecretProblem)
// is refused, with the reason, outside development mode on loopback; an
// explicitly empty one disables the feed.
func (f *serveFlags) checkFeedSecret(given bool, stdout io.Writer) error {
	if !given {
		if !f.devLoopback() {
			return nil // no secret: the feed is disabled, and serverConfig logs it
		}
		secret := randomHex(32)
		f.feedSecret = secret
		_, err := fmt.Fprintf(stdout, `origin: dev mode on loopback, no feed secret configured: generated one for this run.
  feed secret (give it to the worker as FEED_SECRET; pass --feed-secret or ORIGIN_FEED_SECRET to keep it):
    %s
`, secret)
		return err
	}
	if f.feedSecret == "" {
		return nil
	}
	if err := mercure.FeedSecretProblem(f.feedSecret); err != nil && !f.devLoopback() && !f.production { // checkMode lists it with --production
		return fmt.Errorf("refusing to open the edge feed: --feed-secret (ORIGIN_FEED_SECRET): %w; generate one (openssl rand -hex 32), or set it to \"\" to disable the feed (only development mode on loopback, without --production and with --addr on 127.0.0.1, ::1 or localhost, accepts such a secret)", err)
	}
	return nil
}

// checkMode enforces --production, or in dev mode generates the JWT key
// when none is configured and prints it once, with a token for every topic.
func (f *serveFlags) checkMode(stdout io.Writer) error {
	if f.production {
		problems := f.jwt.productionProblems(f.feedSecret)
		if f.feedSecret != "" {
			if err := mercure.FeedSecretProblem(f.feedSecret); err != nil {
				problems = append(problems, fmt.Sprintf("--feed-secret (ORIGIN_FEED_SECRET): %v: generate one (openssl rand -hex 32), or set it to \"\" to disable the feed", err))
			}
		}
		problems = append(problems, f.metricsTokenProblems()...)
		if len(problems) > 0 {
			return fmt.Errorf("refusing to start in production mode:\n  - %s", strings.Join(problems, "\n  - "))
		}
		return nil
	}
	if f.jwt.configured() {
		return nil
	}
	key, tok, err := devKey()
	if err != nil {
		return err
	}
	f.jwt.key, f.jwt.alg = key, auth.HS256
	_, err = fmt.Fprintf(stdout, `origin: dev mode, no JWT key configured: generated one for this run (HS256).
  key (pass --jwt-key or ORIGIN_JWT_KEY to keep it):
    %s
  token publishing to and reading every topic ("*"), valid until this key changes:
    %s
`, key, tok)
	return err
}

// metricsTokenProblems lists why --metrics-token may not be used with
// --production: it unlocks /metrics and the detailed /healthz on the
// public --addr, so it is held to the feed secret's rule (at least
// mercure.MinFeedSecretBytes bytes, not a published value) and must differ
// from the other secrets. None is fine: --addr then serves no metrics.
func (f *serveFlags) metricsTokenProblems() []string {
	const name = "--metrics-token (ORIGIN_METRICS_TOKEN)"
	tok := f.metricsToken
	if tok == "" {
		return nil
	}
	var p []string
	err := mercure.FeedSecretProblem(tok)
	switch {
	case errors.Is(err, mercure.ErrKnownFeedSecret):
		p = append(p, name+" is a published value: generate one (openssl rand -hex 32), or drop it and serve metrics on --metrics-addr")
	case errors.Is(err, mercure.ErrShortFeedSecret):
		p = append(p, fmt.Sprintf("%s is shorter than %d bytes (it has %d): generate one (openssl rand -hex 32), or drop it and serve metrics on --metrics-addr", name, mercure.MinFeedSecretBytes, len(tok)))
	}
	if tok == f.feedSecret {
		p = append(p, name+" equals the feed secret: use distinct secrets")
	}
	for _, k := range []string{f.jwt.key, f.jwt.publisherKey, f.jwt.subscriberKey} {
		if tok == k {
			p = append(p, name+" equals a JWT key: use distinct secrets")
			break
		}
	}
	return p
}

// serverConfig builds the server configuration from the flags.
func (f *serveFlags) serverConfig(logger *slog.Logger) (server.Config, error) {
	cfg := f.cfg
	cfg.HubURL = f.hubURL
	cfg.AllowAnonymous = f.allowAnonymous
	cfg.FeedSecret = f.feedSecret
	cfg.MetricsToken = f.metricsToken
	cfg.CORSOrigins = f.cors
	cfg.PublishOrigins = f.pubOrigin
	cfg.Logger = logger
	if cfg.Subscriptions {
		switch {
		case cfg.SubscriptionLease < time.Second:
			return cfg, fmt.Errorf("--subscription-lease %v: use at least 1s (edge hubs renew every third of it)", cfg.SubscriptionLease)
		case cfg.ReportLimits.MaxBodyBytes <= 0:
			return cfg, fmt.Errorf("--subscription-report-bytes %d: use a positive size", cfg.ReportLimits.MaxBodyBytes)
		case cfg.ReportLimits.MaxOps <= 0:
			return cfg, fmt.Errorf("--subscription-report-ops %d: use a positive count", cfg.ReportLimits.MaxOps)
		}
	}
	var err error
	if cfg.Publishers, cfg.Subscribers, err = f.jwt.verifiers(); err != nil {
		return cfg, err
	}
	if cfg.Publishers == nil {
		logger.Warn("no publisher key: every publish will be refused")
	}
	if cfg.FeedSecret == "" {
		logger.Warn("no feed secret: the edge feed is disabled (set --feed-secret; only development mode on loopback generates one)")
	} else if err := mercure.FeedSecretProblem(cfg.FeedSecret); err != nil {
		logger.Warn("weak feed secret accepted in development mode on loopback only", "reason", err)
	}
	return cfg, cfg.Validate()
}

func newLogger(level string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}
