//go:build !linux

package sse_test

import "time"

// cpuClock names what processCPUTime measures.
const cpuClock = "wall time"

var processStart = time.Now()

// processCPUTime falls back to wall time where there is no getrusage.
func processCPUTime() time.Duration { return time.Since(processStart) }
