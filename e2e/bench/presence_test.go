package bench

import (
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edge-sse/edge-sse/e2e/internal/proc"
)

// The cost of presence (issue 13, "Bench"): one hub object under 5,000
// connects and 5,000 disconnects a minute, with SUBSCRIPTIONS on and off,
// against an origin run with --subscriptions.
//
// The phase "presence" starts its own origin (--subscriptions, memory
// history) and two workers in front of it, one with SUBSCRIPTIONS=true
// (PRESENCE_BATCH_MS at its default, 1000) and one without, each with one
// hub object (HUB_SHARDS=1). On each, in turn, it opens
// EDGE_BENCH_PRESENCE_RATE streams a minute (default 5000), each held
// EDGE_BENCH_PRESENCE_HOLD_MS (default 3000) and then closed, for
// EDGE_BENCH_PRESENCE_SECONDS (default 30), and reads:
//
//   - requests to the origin: the hub's presence reports (its roster's
//     counters in /_edge/stats), per minute and per connect;
//   - CPU of the worker's workerd (the one running the hub object, not
//     wrangler's dev proxy) per connect, with presence and without; the
//     difference is what presence adds at the edge;
//   - CPU of the origin per connect, with presence and without.
//
// Both workers run the same churn one after the other, off first, twice
// (off, on, off, on), and the CPU figures are the means of the two runs
// of each, so a drift in the machine's load hits both.
//
// EDGE_BENCH_PRESENCE_ORIGIN_OFF=1 runs the origin without --subscriptions:
// it answers the reports 404 (the hub then tries once a lease) and
// publishes no subscription events, so the "on" figure is the edge's own
// bookkeeping (ids, subscriptions, roster) alone.

// presenceResult is what the phase measured.
type presenceResult struct {
	rate, seconds, holdMS int
	// per worker: "on", "off"
	connects  map[string]int64
	cpuWorker map[string]float64 // seconds of CPU, summed over the runs
	cpuOrigin map[string]float64
	// reports is the requests the "on" hub sent the origin; ops the
	// ops they carried (connects + disconnects reported); full how many
	// were full; window the runs' total duration.
	reports, full float64
	// events counts the feed events the "on" hub received over its runs:
	// the subscription events of its own clients, which the origin
	// publishes like any update and the feed brings back to every hub.
	events float64
	window time.Duration
	// originOff: the origin ran without --subscriptions.
	originOff bool
	failed    error
}

func presenceParams() (rate, seconds, holdMS int) {
	rate, seconds, holdMS = 5000, 30, 3000
	for name, p := range map[string]*int{"EDGE_BENCH_PRESENCE_RATE": &rate, "EDGE_BENCH_PRESENCE_SECONDS": &seconds, "EDGE_BENCH_PRESENCE_HOLD_MS": &holdMS} {
		if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
			*p = v
		}
	}
	return
}

// presence runs the phase.
func (bn *bench) presence() error {
	r := &presenceResult{connects: map[string]int64{}, cpuWorker: map[string]float64{}, cpuOrigin: map[string]float64{}}
	r.rate, r.seconds, r.holdMS = presenceParams()
	bn.pres = r
	originBin, err := proc.OriginBinary(bn.root, bn.dir)
	if err != nil {
		return err
	}
	b := make([]byte, 32)
	crand.Read(b)
	secret := hex.EncodeToString(b)
	flags := []string{"--jwt-key", jwtKey, "--feed-secret", secret, "--history", "memory", "--allow-anonymous"}
	if r.originOff = os.Getenv("EDGE_BENCH_PRESENCE_ORIGIN_OFF") == "1"; !r.originOff {
		flags = append(flags, "--subscriptions")
	}
	origin, err := proc.Origin{Bin: originBin, Dir: bn.dir, LogDir: bn.dir, Name: "origin-presence", Flags: flags}.Start()
	if err != nil {
		return err
	}
	defer origin.Process.Stop()

	workers := map[string]*proc.Server{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var errs []error
	for _, mode := range []string{"on", "off"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := proc.Worker{Root: bn.root, Dir: bn.dir, LogDir: bn.dir, Name: "edge-presence-" + mode,
				Snapshot: filepath.Join(bn.dir, "edge-presence-"+mode), Persist: filepath.Join(bn.dir, "edge-presence-"+mode+"-state"),
				Timeout: 150 * time.Second,
				Vars: []string{"ORIGIN_URL:" + origin.URL, "FEED_SECRET:" + secret, "STATS_TOKEN:" + statsToken, "JWT_KEY:" + jwtKey,
					"ALLOW_ANONYMOUS:true", "CLIENT_HEARTBEAT_MS:" + clientHeartbeatMS(), "SUBSCRIPTIONS:" + strconv.FormatBool(mode == "on")}}.Start()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			workers[mode] = s
		}()
	}
	wg.Wait()
	for _, s := range workers {
		defer s.Process.Stop()
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}

	// A stream to each hub object first: the object, its Go instance and
	// (with presence on) its roster exist before the counters are read.
	for _, w := range workers {
		s, err := dialSubscriber(bn.mercure(w.URL, benchTopic("presence-warm")), nil, nil)
		if err != nil {
			return err
		}
		defer s.close()
	}
	time.Sleep(time.Second)
	st0, err := rosterStats(workers["on"].URL)
	if err != nil {
		return err
	}
	hub0, err := getStats(workers["on"].URL + "/_edge/stats")
	if err != nil {
		return err
	}
	for _, mode := range []string{"off", "on", "off", "on"} {
		w := workers[mode]
		n, cpuW, cpuO, d, err := bn.churn(w, origin.Process, r.rate, time.Duration(r.seconds)*time.Second, time.Duration(r.holdMS)*time.Millisecond)
		if err != nil {
			return fmt.Errorf("%s: %w", mode, err)
		}
		r.connects[mode] += n
		r.cpuWorker[mode] += cpuW
		r.cpuOrigin[mode] += cpuO
		if mode == "on" {
			r.window += d
		}
	}
	st1, err := rosterStats(workers["on"].URL)
	if err != nil {
		return err
	}
	r.reports, r.full = st1.Requests-st0.Requests, st1.Full-st0.Full
	hub1, err := getStats(workers["on"].URL + "/_edge/stats")
	if err != nil {
		return err
	}
	r.events = hub1.Events - hub0.Events
	return nil
}

// rosterCounters is the presence part of a hub's /_edge/stats.
type rosterCounters struct {
	Requests float64 `json:"requests"`
	Full     float64 `json:"full"`
}

func rosterStats(base string) (rosterCounters, error) {
	req, _ := http.NewRequest(http.MethodGet, base+"/_edge/stats", nil)
	req.Header.Set("Authorization", "Bearer "+statsToken)
	resp, err := apiClient.Do(req)
	if err != nil {
		return rosterCounters{}, err
	}
	defer resp.Body.Close()
	var st struct {
		Presence *rosterCounters `json:"presence"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return rosterCounters{}, err
	}
	if st.Presence == nil {
		return rosterCounters{}, errors.New("the hub shows no presence counters: is SUBSCRIPTIONS on?")
	}
	return *st.Presence, nil
}

// churn opens rate streams a minute to w for d, each closed after hold,
// waits for the last to close and the hub to report, and returns the
// connects made and the CPU seconds of w's worker workerd and of the
// origin over the whole run.
func (bn *bench) churn(w *proc.Server, origin *proc.Process, rate int, d, hold time.Duration) (int64, float64, float64, time.Duration, error) {
	u, _ := url.Parse(w.URL)
	port, _ := strconv.Atoi(u.Port())
	all := workerdPIDs(w.Process.Pid())
	proxy := listenerPIDs(all, port)
	var worker []int
	for _, pid := range all {
		if !proxy[pid] {
			worker = append(worker, pid)
		}
	}
	topic := bn.mercure(w.URL, benchTopic("presence"))
	// A warm-up stream: the hub object, its Go instance and feed exist.
	warm, err := dialSubscriber(topic, nil, nil)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	defer warm.close()
	time.Sleep(time.Second)

	cw0, co0, t0 := cpuTicks(worker), cpuTicks([]int{origin.Pid()}), time.Now()
	every := time.Minute / time.Duration(rate)
	var connects, failures atomic.Int64
	var wg sync.WaitGroup
	tick := time.NewTicker(every)
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := dialSubscriber(topic, nil, nil)
			if err != nil {
				failures.Add(1)
				return
			}
			connects.Add(1)
			time.Sleep(hold)
			s.close()
		}()
	}
	tick.Stop()
	wg.Wait()
	// The departures reach the hub within two heartbeats, its reports
	// within a batch interval.
	hb, _ := strconv.Atoi(clientHeartbeatMS())
	time.Sleep(time.Duration(2*hb)*time.Millisecond + 2*time.Second)
	elapsed := time.Since(t0)
	cw, _ := cpuUse(cw0, cpuTicks(worker), time.Second)
	co, _ := cpuUse(co0, cpuTicks([]int{origin.Pid()}), time.Second)
	if f := failures.Load(); f > connects.Load()/100 {
		return 0, 0, 0, 0, fmt.Errorf("%d of %d connects failed", f, f+connects.Load())
	}
	return connects.Load(), cw, co, elapsed, nil
}

// presenceRows are the phase's rows of the table.
func (bn *bench) presenceRows() []row {
	r := bn.pres
	if r == nil {
		return nil
	}
	if err := bn.res.errs["presence"]; err != nil {
		return []row{{"", "presence FAILED", firstLine(err.Error()), "", ""}}
	}
	on, off := r.connects["on"], r.connects["off"]
	if on == 0 || off == 0 {
		return nil
	}
	perMin := r.reports / r.window.Minutes()
	usOn := r.cpuWorker["on"] / float64(on) * 1e6
	usOff := r.cpuWorker["off"] / float64(off) * 1e6
	oOn := r.cpuOrigin["on"] / float64(on) * 1e6
	oOff := r.cpuOrigin["off"] / float64(off) * 1e6
	load := fmt.Sprintf("%d connects + disconnects/min, each held %d ms, 2 × %d s per mode", r.rate, r.holdMS, r.seconds)
	if r.originOff {
		load += "; origin WITHOUT --subscriptions: reports refused, no events"
	}
	return []row{
		{"6", "presence: reports to the origin, one hub object", fmt.Sprintf("%.0f requests/min, %.3f per connect  (%.0f reports, %.0f full, for %d connects; %s)",
			perMin, r.reports/float64(on), r.reports, r.full, on, load), "", ""},
		{"", "presence: edge CPU per connect (worker's workerd)", fmt.Sprintf("%.0f µs on, %.0f µs off: +%.0f µs (%.2f×); the hub's feed brought %.1f subscription events per connect",
			usOn, usOff, usOn-usOff, usOn/usOff, r.events/float64(on)), "", ""},
		{"", "presence: origin CPU per connect", fmt.Sprintf("%.0f µs on, %.0f µs off: +%.0f µs", oOn, oOff, oOn-oOff), "", ""},
	}
}
