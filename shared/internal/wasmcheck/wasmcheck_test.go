//go:build !wasip1 && !js

package wasmcheck_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/edge-sse/edge-sse/shared/internal/wasmcheck"
)

// wasmSeeds are the seeds both builds run, wasmCases the cases per seed.
var wasmSeeds = []int64{1, 2, 3, 20260101, -7}

const wasmCases = 1000

// TestWasmMatchesNative builds cmd/wasmcheck for wasip1/wasm, runs it inside
// wazero for several seeds, and requires its transcript to equal Run's,
// computed natively, byte for byte: the SSE encoder and parser, the frame
// codec and topic matching behave the same on both targets (issue 3).
func TestWasmMatchesNative(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a Wasm module; skipped with -short")
	}
	start := time.Now()
	wasmPath := buildWasm(t)
	t.Logf("go build for wasip1/wasm: %v", time.Since(start).Round(time.Millisecond))

	ctx := context.Background()
	rtConfig := wazero.NewRuntimeConfig()
	// Compiling the module takes seconds, and twenty under -race, which
	// instruments wazero's compiler: keep the machine code where
	// e2e/wazero-exec.sh keeps it, keyed by the module's hash.
	if cache, err := wazero.NewCompilationCacheWithDir(filepath.Join(os.TempDir(), "wazero-cache")); err == nil {
		defer cache.Close(ctx)
		rtConfig = rtConfig.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rtConfig)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	code, err := os.ReadFile(wasmPath)
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	mod, err := rt.CompileModule(ctx, code)
	if err != nil {
		t.Fatalf("compile %s with wazero: %v", wasmPath, err)
	}
	t.Logf("wazero compile of %d bytes: %v", len(code), time.Since(start).Round(time.Millisecond))

	for _, seed := range wasmSeeds {
		t.Run("seed="+strconv.FormatInt(seed, 10), func(t *testing.T) {
			start := time.Now()
			var stdout, stderr bytes.Buffer
			cfg := wazero.NewModuleConfig().
				WithName("").
				WithArgs("wasmcheck", strconv.FormatInt(seed, 10), strconv.Itoa(wasmCases)).
				WithStdout(&stdout).WithStderr(&stderr).
				WithSysWalltime().WithSysNanotime().WithSysNanosleep().WithRandSource(rand.Reader)
			m, err := rt.InstantiateModule(ctx, mod, cfg)
			if err != nil {
				t.Fatalf("run wasmcheck %d %d in wazero: %v\nstderr:\n%s", seed, wasmCases, err, stderr.Bytes())
			}
			if m != nil {
				m.Close(ctx)
			}
			wasmTime := time.Since(start)

			start = time.Now()
			native := wasmcheck.Run(seed, wasmCases)
			t.Logf("transcript %d bytes; wasm %v, native %v", len(native), wasmTime.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
			if !bytes.Equal(stdout.Bytes(), native) {
				t.Fatal(firstDifference(t, seed, stdout.Bytes(), native))
			}
		})
	}
}

// buildWasm builds cmd/wasmcheck for wasip1/wasm into a temporary directory
// with the go command that runs this test.
func buildWasm(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go") // go test puts its GOROOT/bin first in PATH
	if err != nil {
		t.Fatalf("find the go command: %v", err)
	}
	out := filepath.Join(t.TempDir(), "wasmcheck.wasm")
	cmd := exec.Command(goBin, "build", "-o", out, "./cmd/wasmcheck")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=wasip1 GOARCH=wasm go build ./cmd/wasmcheck: %v\n%s", err, b)
	}
	return out
}

// firstDifference describes the first line where the transcripts differ,
// with the case it belongs to, and keeps both transcripts in files for a
// closer look.
func firstDifference(t *testing.T, seed int64, wasm, native []byte) string {
	t.Helper()
	w, n := bytes.Split(wasm, []byte("\n")), bytes.Split(native, []byte("\n"))
	caseLine := []byte("(before the first case)")
	i := 0
	for ; i < len(w) && i < len(n) && bytes.Equal(w[i], n[i]); i++ {
		if bytes.HasPrefix(n[i], []byte("case ")) {
			caseLine = n[i]
		}
	}
	line := func(ls [][]byte) string {
		if i < len(ls) {
			return fmt.Sprintf("%.2000s", ls[i])
		}
		return "(end of transcript)"
	}
	msg := fmt.Sprintf("seed %d: transcripts differ at line %d, in %s\nwasm:   %s\nnative: %s", seed, i+1, caseLine, line(w), line(n))
	if dir, err := os.MkdirTemp("", "wasmcheck-"); err == nil {
		wp, np := filepath.Join(dir, "wasm.txt"), filepath.Join(dir, "native.txt")
		if os.WriteFile(wp, wasm, 0o644) == nil && os.WriteFile(np, native, 0o644) == nil {
			msg += fmt.Sprintf("\nfull transcripts: diff %s %s", wp, np)
		}
	}
	return msg
}
