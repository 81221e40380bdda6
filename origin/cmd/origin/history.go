package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/edge-sse/edge-sse/origin/history"
	"github.com/edge-sse/edge-sse/origin/hub"
)

// historyFlags choose and bound the history store.
type historyFlags struct {
	kind        string // bolt or memory
	path        string
	size        int
	maxAge      time.Duration
	noSync      bool
	redisURL    string
	redisPrefix string
}

// open opens the configured store: the Redis stream when --redis is set
// (several origins then act as one hub), else a bbolt file or a memory ring.
// The caller closes it after closing the hub.
func (f *historyFlags) open(ctx context.Context, logger *slog.Logger) (hub.History, string, error) {
	if f.redisURL != "" {
		r, err := history.DialRedis(ctx, f.redisURL, history.RedisOptions{
			Prefix: f.redisPrefix, MaxLen: int64(f.size), MaxAge: f.maxAge, Logger: logger,
		})
		if err != nil {
			return nil, "", err
		}
		return r, "redis", nil
	}
	switch f.kind {
	case "bolt":
		b, err := history.OpenBolt(f.path, history.BoltOptions{MaxEvents: f.size, MaxAge: f.maxAge, NoSync: f.noSync})
		if err != nil {
			return nil, "", err
		}
		return b, "bolt " + f.path, nil
	case "memory":
		if f.size < 0 {
			return nil, "", fmt.Errorf("--history memory needs a positive --history-size, not %d", f.size)
		}
		return hub.NewMemoryHistoryWithOptions(hub.MemoryOptions{MaxEvents: f.size, MaxAge: f.maxAge}), "memory", nil
	}
	return nil, "", fmt.Errorf("unknown --history %q: use bolt or memory (or --redis URL)", f.kind)
}
