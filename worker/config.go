//go:build js && wasm

package main

import (
	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/worker/settings"

	"github.com/syumai/workers/cloudflare"
)

// config is the worker's configuration: the settings table of
// worker/settings, read from wrangler.toml vars and secrets.
type config struct{ settings.Config }

func envConfig() config {
	return config{settings.Load(cloudflare.Getenv)}
}

// limits are the settings /_edge/stats shows, so that an operator (and a
// test) can see what the hub runs with.
func (c config) limits() map[string]int64 { return c.Limits() }

// verifier builds the subscriber token verifier from the configured keys,
// or returns nil when no key is configured.
func (c config) verifier() (*auth.Verifier, error) { return c.Verifier() }
