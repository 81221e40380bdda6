# edge-sse: `make dev` runs origin + wrangler dev; `make test` runs every test.
SHELL := /bin/bash
export WRANGLER_SEND_METRICS := false
GO ?= go
BUILD := worker/build
WAZERO := $(shell go env GOPATH)/bin/wazero

.PHONY: build origin dev test test-go test-js test-wasm test-e2e check chaos bench bench-codec bench-origin bench-edge clean deploy

## build: the worker bundle (worker/build: app.wasm, wasm_exec.js, entry.mjs, feedpump.mjs) and bin/origin
build: origin
	@mkdir -p $(BUILD)
	$(GO) run github.com/syumai/workers/cmd/workers-assets-gen -mode=go -o $(BUILD) >/dev/null
	rm -f $(BUILD)/worker.mjs
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags='-s -w' -o $(BUILD)/app.wasm ./worker
	cp worker/entry.mjs worker/feedpump.mjs worker/routing.mjs worker/queue.mjs $(BUILD)/
	@echo "app.wasm: $$(wc -c < $(BUILD)/app.wasm) bytes, $$(gzip -9 < $(BUILD)/app.wasm | wc -c) gzipped"

origin:
	@mkdir -p bin
	$(GO) build -o bin/origin ./origin/cmd/origin

## dev: origin on 127.0.0.1:8080 and wrangler dev on 127.0.0.1:8787; Ctrl-C stops both
dev: build node_modules
	@bash e2e/dev.sh

# A node_modules that is a symlink (a git worktree sharing another
# checkout's) is left alone: npm ci would empty the directory it points to,
# under every other checkout using it.
node_modules: package-lock.json
	@if [ -L node_modules ]; then echo "node_modules is a symlink to $$(readlink node_modules): not reinstalling it (run npm ci there if package-lock.json changed)"; else npm ci --no-audit --no-fund && touch node_modules; fi

## test: every test: Go unit tests, shared/ under wazero, end-to-end through wrangler dev
test: check test-go test-js test-wasm test-e2e chaos

test-go:
	$(GO) test -race -count=1 ./shared/... ./origin/... ./worker/... ./e2e/internal/...

## test-js: the worker's JavaScript (the feed pump) under node's test runner
test-js:
	node --test worker/

$(WAZERO):
	$(GO) install github.com/tetratelabs/wazero/cmd/wazero@v1.12.0

## test-wasm: the shared/ suite compiled to wasip1/wasm, run inside wazero
test-wasm: $(WAZERO)
	GOOS=wasip1 GOARCH=wasm $(GO) test -count=1 -exec "$(CURDIR)/e2e/wazero-exec.sh" ./shared/...

## test-e2e: origin + wrangler dev (real workerd) + Go, npm eventsource and Chromium clients
test-e2e: build node_modules
	$(GO) test -count=1 -timeout 20m -v ./e2e/

## chaos: the fault, leak and bad-input suite, short form (CHAOS_EVENTS, CHAOS_RATE, … lengthen it; see e2e/chaos_helpers_test.go; the report prints after the last test)
chaos: build node_modules
	$(GO) test -tags chaos -count=1 -timeout 60m -v -run Chaos ./e2e/

## check: vet, gofmt, and the js/wasm build of the worker (and of the benchmark's naive baseline worker)
check:
	$(GO) vet ./...
	$(GO) vet -tags chaos ./e2e/
	GOOS=js GOARCH=wasm $(GO) vet ./worker/... ./e2e/bench/naive
	@test -z "$$(gofmt -l shared origin worker e2e)" || { gofmt -l shared origin worker e2e; exit 1; }
	GOOS=js GOARCH=wasm $(GO) build -o /dev/null ./worker

## bench: codec, origin and edge benchmark tables (several minutes; see each package's doc)
bench: bench-codec bench-origin bench-edge

bench-codec:
	$(GO) test -run '^$$' -bench . -benchmem ./shared/sse/ ./shared/frame/ ./shared/topic/
	$(GO) test -count=1 -run TestCompareGoSSE -v ./shared/sse/ -args -sse.compare

bench-origin:
	$(GO) test -count=1 -timeout 20m -run TestBenchReport -bench . -v ./origin/bench/

bench-edge: build node_modules
	$(GO) test -run '^$$' -bench Edge -benchtime 1x -timeout 15m ./e2e/bench/

clean:
	rm -rf $(BUILD) bin

## deploy: build, then wrangler deploy (needs `wrangler login` or CLOUDFLARE_API_TOKEN)
deploy: build node_modules
	npx wrangler deploy
