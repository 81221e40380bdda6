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
	"github.com/edge-sse/edge-sse/origin/server"
	"github.com/edge-sse/edge-sse/shared/auth"
)

// defaultFeedSecret is the development feed secret, shared with the
// worker's development configuration; --production refuses it.
const defaultFeedSecret = "dev-feed-secret"

// serveFlags is the configuration of "origin serve".
type serveFlags struct {
	addr, hubURL    string
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
	fs.StringVar(&f.hubURL, "hub-url", "", "public URL of the hub endpoint, e.g. https://hub.example.com/.well-known/mercure: discovery Link target and base URL of relative topics and URL patterns (default: the path alone)")
	fs.BoolVar(&f.production, "production", false, "refuse to start with a generated or published key or the development feed secret")
	fs.BoolVar(&f.allowAnonymous, "allow-anonymous", false, "let subscribers without a token receive public updates (default: on in dev mode, off with --production)")
	fs.StringVar(&f.feedSecret, "feed-secret", defaultFeedSecret, "secret edge hubs present on "+server.FeedPath+" (empty: feed disabled)")
	fs.Var(&f.cors, "cors-origins", `origins allowed by CORS: "*" (no credentials) or comma-separated origins (with credentials)`)
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
	fs.Int64Var(&f.cfg.MaxBodyBytes, "max-body-bytes", server.DefaultMaxBodyBytes, "largest publish body")
	fs.IntVar(&f.cfg.MaxTopics, "max-topics", server.DefaultMaxTopics, "most topics per update")
	fs.IntVar(&f.cfg.MaxFieldBytes, "max-field-bytes", server.DefaultMaxFieldBytes, "longest topic, id or type")
	fs.IntVar(&f.cfg.MaxSelectors, "max-selectors", server.DefaultMaxSelectors, "most topic selectors per subscribe request")
	fs.Int64Var(&f.cfg.MaxSelectorCost, "max-selector-cost", server.DefaultMaxSelectorCost, "largest match cost of one topic selector: --max-field-bytes when an automaton reads each topic byte once, else its regexp size × --max-field-bytes (400 past it)")
	fs.Int64Var(&f.cfg.MaxSubscriptionCost, "max-subscription-cost", server.DefaultMaxSubscriptionCost, "largest match cost of one subscription's selectors together (400 past it)")
	fs.Int64Var(&f.cfg.MaxHubCost, "max-hub-cost", server.DefaultMaxHubCost, "largest match cost of the distinct templates and URL patterns of all subscriptions together, each matched once per event (503 + Retry-After past it)")
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
	h := hub.New(store)
	cfg.History = store
	srv := server.New(h, cfg)

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
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	logger.Info("origin listening", "addr", ln.Addr().String(), "history", storeName,
		"production", f.production, "anonymous", f.allowAnonymous, "feed", f.feedSecret != "")
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
	h.Close() // after every handler returned: no acknowledged publish is cut short
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// checkMode enforces --production, or in dev mode generates the JWT key
// when none is configured and prints it once, with a token for every topic.
func (f *serveFlags) checkMode(stdout io.Writer) error {
	if f.production {
		var problems []string
		if f.feedSecret == defaultFeedSecret {
			problems = append(problems, "the feed secret is the development default: set --feed-secret (or ORIGIN_FEED_SECRET) to a generated secret, or to \"\" to disable the feed")
		}
		problems = append(problems, f.jwt.productionProblems(f.feedSecret)...)
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

// serverConfig builds the server configuration from the flags.
func (f *serveFlags) serverConfig(logger *slog.Logger) (server.Config, error) {
	cfg := f.cfg
	cfg.HubURL = f.hubURL
	cfg.AllowAnonymous = f.allowAnonymous
	cfg.FeedSecret = f.feedSecret
	cfg.CORSOrigins = f.cors
	cfg.PublishOrigins = f.pubOrigin
	cfg.Logger = logger
	var err error
	if cfg.Publishers, cfg.Subscribers, err = f.jwt.verifiers(); err != nil {
		return cfg, err
	}
	if cfg.Publishers == nil {
		logger.Warn("no publisher key: every publish will be refused")
	}
	if cfg.FeedSecret == "" {
		logger.Warn("no feed secret: the edge feed is disabled")
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
