//go:build chaos

package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestChaosWriteCost measures the terms of the hub's CPU estimate
// (worker/edge/budget.go) through workerd: the CPU of the worker's
// workerd (not wrangler's proxy) over a few seconds of each of three
// loads on one hub object, against the hub's own counts of what it wrote.
//
//   - idle: no events; every client gets a heartbeat comment each probe
//     round (CLIENT_HEARTBEAT_MS=300: a round every 100 ms): CPU per comment;
//   - small: 10 events/s of a few bytes: CPU per event write, the comments
//     of that phase taken out at the idle cost;
//   - big: 10 events/s of CHAOS_COST_KB KiB: the extra CPU per KiB a write
//     carries over a small one.
//
// It asserts only that each load was measured; it prints the numbers.
// Knobs: CHAOS_COST_STREAMS (default 300), CHAOS_COST_SECONDS (default 5),
// CHAOS_COST_KB (default 16).
func TestChaosWriteCost(t *testing.T) {
	n := chaosEnvInt("CHAOS_COST_STREAMS", 300)
	secs := chaosEnvInt("CHAOS_COST_SECONDS", 5)
	kb := chaosEnvInt("CHAOS_COST_KB", 16)
	r := newScaleRun(t, "cost", fmt.Sprintf("MAX_CLIENTS:%d", n+100), "CLIENT_HEARTBEAT_MS:300", "CPU_BUDGET_MS:0")
	r.connect(n, 2*time.Second)

	type sample struct {
		cpuSec                  float64
		writes, comments, bytes float64
		events                  float64
	}
	measure := func(data string) sample {
		t.Helper()
		stop, done := make(chan struct{}), make(chan error, 1)
		if data != "" {
			go func() {
				tick := time.NewTicker(100 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						done <- nil
						return
					case <-tick.C:
					}
					if _, err := soakPublish(r.origin, url.Values{"topic": {r.topic}, "data": {data}}); err != nil {
						done <- err
						return
					}
				}
			}()
		} else {
			close(done)
		}
		time.Sleep(time.Second) // settle
		st0, err := r.stats()
		if err != nil {
			t.Fatal(err)
		}
		cpu0 := r.workerCPU()
		time.Sleep(time.Duration(secs) * time.Second)
		cpu1 := r.workerCPU()
		st1, err := r.stats()
		if err != nil {
			t.Fatal(err)
		}
		if data != "" {
			close(stop)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		return sample{
			cpuSec:   float64(cpu1-cpu0) / 100, // USER_HZ
			writes:   st1["writes"] - st0["writes"],
			comments: st1["comments"] - st0["comments"],
			bytes:    st1["writtenBytes"] - st0["writtenBytes"],
			events:   st1["events"] - st0["events"],
		}
	}
	us := func(s float64) string { return fmt.Sprintf("%.1f µs", s*1e6) }

	idle := measure("")
	if idle.comments == 0 {
		t.Fatalf("idle: no comments written: %+v", idle)
	}
	comment := idle.cpuSec / idle.comments
	t.Logf("REPORT cost idle: %d streams, %.0f comments in %d s, worker CPU %.2f s: %s per comment", n, idle.comments, secs, idle.cpuSec, us(comment))

	small := measure("x")
	ew := small.writes - small.comments
	if ew == 0 {
		t.Fatalf("small: no event writes: %+v", small)
	}
	// Each event read counts as one write in the estimate.
	base := (small.cpuSec - small.comments*comment) / (ew + small.events)
	t.Logf("REPORT cost small: %.0f event writes (%.0f B each) + %.0f comments + %.0f events read, worker CPU %.2f s: %s per event write",
		ew, small.bytes/ew, small.comments, small.events, small.cpuSec, us(base))

	big := measure(strings.Repeat("y", kb<<10))
	bw := big.writes - big.comments
	if bw == 0 {
		t.Fatalf("big: no event writes: %+v", big)
	}
	perWrite := (big.cpuSec - big.comments*comment) / (bw + big.events)
	perKB := (perWrite - base) / (big.bytes / bw / 1024)
	t.Logf("REPORT cost big: %.0f event writes (%.0f B each) + %.0f comments + %.0f events read, worker CPU %.2f s: %s per event write, so %s per KiB over a small one",
		bw, big.bytes/bw, big.comments, big.events, big.cpuSec, us(perWrite), us(perKB))
}
