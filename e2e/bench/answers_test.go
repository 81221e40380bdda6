package bench

import (
	"os"
	"strconv"
	"sync"
	"time"
)

// The answers during a burst (row 6): one stats request and one new
// subscription at a time go to the hub, each kind in its own loop, the
// next answerEvery after the previous answer, and the burst is repeated,
// after the measured one, until each kind has at least answerMin answers
// or failures (at most answerMaxRounds bursts in all), and at least
// answerMinRounds times: row 4a's CPU per write is read over every burst,
// and the first burst after the memory phase costs more than the later
// ones, so two runs compare only when each read the same number of bursts
// (on 2026-12-04 the runs with smaller fan-out slices collected their
// answers in 2–3 bursts where the defaults took 4, and their CPU per write
// could not be told from the first burst's weight). (Sending them on a
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
