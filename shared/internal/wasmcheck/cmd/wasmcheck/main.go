// Command wasmcheck writes the transcript of wasmcheck.Run to stdout:
//
//	wasmcheck SEED N
//
// Built for GOOS=wasip1 GOARCH=wasm, it is the Wasm side of the
// cross-target equivalence test of package wasmcheck, which runs it inside
// wazero and compares its output with Run computed natively.
package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/edge-sse/edge-sse/shared/internal/wasmcheck"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: wasmcheck SEED N")
		os.Exit(2)
	}
	seed, err := strconv.ParseInt(os.Args[1], 10, 64)
	if err != nil {
		fmt.Fprintf(os.Stderr, "wasmcheck: parse seed: %v\n", err)
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < 0 {
		fmt.Fprintf(os.Stderr, "wasmcheck: N must be a count of cases, not %q\n", os.Args[2])
		os.Exit(2)
	}
	if _, err := os.Stdout.Write(wasmcheck.Run(seed, n)); err != nil {
		fmt.Fprintf(os.Stderr, "wasmcheck: write transcript: %v\n", err)
		os.Exit(1)
	}
}
