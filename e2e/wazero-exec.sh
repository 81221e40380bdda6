#!/usr/bin/env bash
# go test -exec helper: runs a wasip1 test binary inside wazero with the
# package directory mounted, as `go test` runs native binaries in it.
set -euo pipefail
wasm="$1"; shift
exec "$(go env GOPATH)/bin/wazero" run -mount=/:/ -env=PWD="$PWD" -cachedir="${TMPDIR:-/tmp}/wazero-cache" "$wasm" "$@"
