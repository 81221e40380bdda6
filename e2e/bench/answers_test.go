package bench

import (
	"os"
	"strconv"
	"sync"
	"time"
)

// The answers during a burst (row 6): one stats request and one new
// subscription at a time go to the hub, each kind in its own loop, the
// next answerEvery after the previous answer, during the first burst and
// then during more bursts, after the CPU rounds, until each kind has at
// least answerMin answers or failures (at most answerMaxRounds bursts in
// all). The CPU rounds are the answerMinRounds-1 bursts after the first,
// each followed by the floor's run of the same fan-outs, with no probe on
// either: row 4a's target reads the CPU per write over them. A probe is a
// request, not a write, and the hub answers it in Go where the floor
// answers in a few lines of JavaScript: perf stacks of probed bursts put
// ≈ 8 µs a write of the hub's Go in its stats, subscribe and /healthz
// answers (2026-12-05). The first burst after the memory phase costs more
// than the later ones (the kernel's socket buffers grow in it), so two
// runs compare only when each read the same number of bursts. (Sending them on a
// fixed clock instead, whether or not the previous had been answered,
// piled hundreds of subscriptions onto a stalled hub on a loaded machine
// and stalled it further.) EDGE_BENCH_ANSWER_MS, EDGE_BENCH_ANSWER_MIN and
// EDGE_BENCH_BURSTS override the pace, the minimum of answers and the
// minimum of bursts.
var (
	answerEvery     = envDuration("EDGE_BENCH_ANSWER_MS", 20*time.Millisecond)
	answerMin       = envInt("EDGE_BENCH_ANSWER_MIN", 20)
	answerMinRounds = min(envInt("EDGE_BENCH_BURSTS", 4), answerMaxRounds)
)

const answerMaxRounds = 8

func envDuration(name string, def time.Duration) time.Duration {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return time.Duration(n) * time.Millisecond
	}
	return def
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// probeAnswers sends the probes of row 6 until stop closes: GETs of
// statsURL and new subscriptions to subURL, one of each at a time, and,
// if healthURL is set, GETs of it (a request the isolate answers without
// the hub object: does the wait come from the isolate or from the hub?).
// onStats, if set, is called with each stats outcome. It closes done when
// both loops have ended.
func probeAnswers(a *answerLog, statsURL, subURL, healthURL string, onStats func(ok bool), stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	if a == nil { // a burst measured without probes
		return
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	loop := func(probe func()) {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(answerEvery):
			}
			probe()
		}
	}
	wg.Add(2)
	go loop(func() {
		ok := a.stats(statsURL)
		if onStats != nil {
			onStats(ok)
		}
	})
	go loop(func() { a.subscribe(subURL) })
	if healthURL != "" {
		wg.Add(1)
		go loop(func() { a.health(healthURL) })
	}
}

// enough reports whether a holds answerMin of each kind (failures count:
// a probe that failed was sent during the burst all the same).
func (a *answerLog) enough() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.statsD)+a.fail >= answerMin && len(a.subsD)+a.fail >= answerMin
}
