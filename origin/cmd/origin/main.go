// Command origin is the origin hub: app backends publish to it, browsers and
// edge hubs subscribe to it.
//
//	origin serve [flags]   run the hub
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/origin/server"
)

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "help", "-h", "--help":
		usage()
		return
	default:
		fmt.Fprintf(os.Stderr, "origin: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "origin:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `usage: origin <command> [flags]

commands:
  serve     run the hub (origin serve -h for flags)
`)
}

// envOr returns the environment variable name, or def when it is unset.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	addr := fs.String("addr", envOr("ORIGIN_ADDR", "127.0.0.1:8080"), "listen address (env ORIGIN_ADDR)")
	feedSecret := fs.String("feed-secret", envOr("ORIGIN_FEED_SECRET", "dev-feed-secret"), "shared secret edge hubs present on the edge feed (env ORIGIN_FEED_SECRET)")
	heartbeat := fs.Duration("heartbeat", 15*time.Second, "interval of keep-alive comments and feed heartbeats")
	historySize := fs.Int("history-size", 10000, "events kept for resume")
	queueSize := fs.Int("queue-size", 1024, "events queued per subscriber before it is disconnected as too slow")
	fs.Parse(args)

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	h := hub.New(hub.NewMemoryHistory(*historySize))
	srv := server.New(h, server.Config{
		FeedSecret: *feedSecret,
		Heartbeat:  *heartbeat,
		QueueSize:  *queueSize,
		Logger:     logger,
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	httpSrv := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	logger.Info("origin listening", "addr", ln.Addr().String(), "feed", server.FeedPath)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	h.Close()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := httpSrv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
