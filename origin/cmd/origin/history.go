package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/edge-sse/edge-sse/origin/history"
	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/origin/presence"
	"github.com/edge-sse/edge-sse/origin/presence/boltstore"
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

// presenceStore returns the index of Active Subscriptions kept where the
// history is: in the bolt file, in Redis (under the history's prefix +
// "presence:", shared by every origin on it), or in memory.
func presenceStore(store hub.History, hubPath string) (presence.Store, error) {
	switch h := store.(type) {
	case *history.Redis:
		client, prefix := h.Client()
		return presence.NewRedis(client, prefix+"presence:", hubPath), nil
	case *history.Bolt:
		return boltstore.Open(h.DB(), hubPath)
	}
	return presence.NewMemory(hubPath), nil
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
