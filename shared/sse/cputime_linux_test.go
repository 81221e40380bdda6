//go:build linux

package sse_test

import (
	"syscall"
	"time"
)

// cpuClock names what processCPUTime measures.
const cpuClock = "CPU time"

// processCPUTime returns the user and system CPU time of the whole process,
// GC threads included.
func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
