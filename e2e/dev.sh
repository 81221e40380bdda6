#!/usr/bin/env bash
# make dev: the origin on 127.0.0.1:8080 and the worker under wrangler dev on
# 127.0.0.1:8787, on embedded defaults (no external services). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
export WRANGLER_SEND_METRICS=false
ORIGIN_ADDR="${ORIGIN_ADDR:-127.0.0.1:8080}"
EDGE_PORT="${EDGE_PORT:-8787}"

bin/origin serve --addr "$ORIGIN_ADDR" &
origin_pid=$!
node e2e/wrangler-dev.mjs --ip 127.0.0.1 --port "$EDGE_PORT" --var "ORIGIN_URL:http://$ORIGIN_ADDR" &
wrangler_pid=$!
cleanup() {
  kill "$wrangler_pid" "$origin_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

for _ in $(seq 1 120); do
  curl -fs "http://127.0.0.1:$EDGE_PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done
cat <<MSG

  edge-sse is running.
    demo page (browser):  http://127.0.0.1:$EDGE_PORT/?topic=https://example.com/demo
    subscribe (curl):     curl -N 'http://127.0.0.1:$EDGE_PORT/.well-known/mercure?topic=https://example.com/demo'
    publish:              curl -X POST http://$ORIGIN_ADDR/.well-known/mercure \\
                            -d topic=https://example.com/demo -d data='hello from the origin'
  Ctrl-C stops both.

MSG
wait -n "$origin_pid" "$wrangler_pid"
