//go:build js && wasm

package main

import (
	"github.com/edge-sse/edge-sse/worker/settings"

	"github.com/syumai/workers/cloudflare"
)

// config is the worker's configuration: the settings table of
// worker/settings, read from wrangler.toml vars and secrets (Limits, for
// /_edge/stats, and Verifier come with it).
type config struct{ settings.Config }

func envConfig() config {
	return config{settings.Load(cloudflare.Getenv)}
}
