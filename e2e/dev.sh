#!/usr/bin/env bash
# make dev: the origin on 127.0.0.1:8080 and the worker under wrangler's dev
# server on 127.0.0.1:8787, on embedded defaults (bbolt history in
# .dev/origin-history.db, no external services). One JWT key and one feed
# secret, generated for this run, are shared by both (there is no default
# feed secret); a publisher token (also given to the demo page's form) and a
# subscriber token for private updates are printed.
# Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
export WRANGLER_SEND_METRICS=false
ORIGIN_ADDR="${ORIGIN_ADDR:-127.0.0.1:8080}"
EDGE_PORT="${EDGE_PORT:-8787}"
mkdir -p .dev
KEY="${DEV_JWT_KEY:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
FEED_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
STATS_TOKEN="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
PUB_TOKEN="$(bin/origin token --jwt-key "$KEY" --legacy --publish '*' --ttl 720h)"
SUB_TOKEN="$(bin/origin token --jwt-key "$KEY" --legacy --subscribe '*' --ttl 720h)"

bin/origin serve --addr "$ORIGIN_ADDR" --jwt-key "$KEY" --feed-secret "$FEED_SECRET" --allow-anonymous \
  --history-path .dev/origin-history.db &
origin_pid=$!
node e2e/wrangler-dev.mjs --ip 127.0.0.1 --port "$EDGE_PORT" --persist-to .dev/wrangler \
  --var "ORIGIN_URL:http://$ORIGIN_ADDR" --var "FEED_SECRET:$FEED_SECRET" --var "JWT_KEY:$KEY" --var ALLOW_ANONYMOUS:true \
  --var "DEV_PUBLISH_TOKEN:$PUB_TOKEN" --var "STATS_TOKEN:$STATS_TOKEN" &
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

  edge-sse is running (dev mode; JWT key for this run: $KEY).
    demo page (browser):  http://127.0.0.1:$EDGE_PORT/?topic=https://example.com/demo
    subscribe (curl):     curl -N 'http://127.0.0.1:$EDGE_PORT/.well-known/mercure?topic=https://example.com/demo'
    publish:              curl -X POST http://$ORIGIN_ADDR/.well-known/mercure \\
                            -H 'Authorization: Bearer $PUB_TOKEN' \\
                            -d topic=https://example.com/demo -d data='hello from the origin'
    private updates too:  curl -N -H 'Authorization: Bearer $SUB_TOKEN' \\
                            'http://127.0.0.1:$EDGE_PORT/.well-known/mercure?topic=*'
    edge hub stats:       curl -H 'Authorization: Bearer $STATS_TOKEN' http://127.0.0.1:$EDGE_PORT/_edge/stats
  Ctrl-C stops both.

MSG
wait -n "$origin_pid" "$wrangler_pid"
