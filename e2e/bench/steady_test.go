package bench

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// steadyTarget is one set of clients a sustained run follows: a hub's (t
// set, its stats read before and after) or the floor object's.
type steadyTarget struct {
	t    *bench // whose results get the row
	kind string // "" (the hub's held streams), "sized", "floor"
	subs []*subscriber
	hub  string // the hub's base URL, "" for the floor
}

// steady publishes rate events per second for p.steadySecs seconds to the
// streams held since edgeMemory (one hub object; with the main worker, to
// its streams on the same topic at the same time), each event carrying its
// send time, and measures the deliveries per second the clients received
// over the run and the publish→receive latency of every delivery: a rate
// the hub sustains, with the latency it costs, rather than how fast it
// drains a burst.
func (bn *bench) steady(rate int) error {
	if len(bn.heldA) == 0 {
		return fmt.Errorf("no held streams (run the edge memory or burst phase too)")
	}
	var ts []steadyTarget
	for _, t := range bn.targets() {
		ts = append(ts, steadyTarget{t: t, subs: t.heldA, hub: t.edgeURL})
	}
	return bn.steadyRun(rate, ts, bn.scheduled(rate, func(data string) error {
		return publish(bn.originURL, bn.pubToken, bn.topicA, data)
	}))
}

// steadySized is steady with the sizing formula's number of clients for
// the rate (README, "Sizing"; EDGE_BENCH_STEADY_SIZED, default 200 at
// 1,000 events/s): that many new streams on a topic of their own, the
// streams held since edgeMemory staying on the hub, idle.
func (bn *bench) steadySized(rate, clients int) error {
	topic := benchTopic("steady-sized")
	subs, err := dialMany(clients, bn.p.dialParallel, bn.mercure(bn.edgeURL, topic), nil, nil)
	if err != nil {
		closeAll(subs)
		return err
	}
	time.Sleep(time.Second)
	err = bn.steadyRun(rate, []steadyTarget{{t: bn, kind: "sized", subs: subs, hub: bn.edgeURL}}, bn.scheduled(rate, func(data string) error {
		return publish(bn.originURL, bn.pubToken, topic, data)
	}))
	closeAll(subs)
	bn.settle(len(bn.heldA) + 1)
	return err
}

// steadyFloor gives the pure-JS floor object the same sustained pattern
// as the hub: rate events/s for p.steadySecs to as many streams as the
// hub's held ones, fanned out as the hub does (everything queued as one
// chunk, one write per stream, a 0 ms timer every floorSlice writes;
// floor.mjs).
// The object makes the events itself, each stamped with its scheduled
// send time (POST /steady): given one request per event, as a first
// version of this did, the floor's input (1,000 requests/s through the dev
// proxy, each waiting for the busy object) bounded it at ≈ 50 events/s,
// a cost the hub, which reads the events from one feed, does not have.
func (bn *bench) steadyFloor(rate int) error {
	fw := bn.floor
	if fw == nil {
		return fmt.Errorf("the floor worker did not start")
	}
	if err := fw.hold(len(bn.heldA), bn.p.dialParallel); err != nil {
		return err
	}
	return bn.steadyRun(rate, []steadyTarget{{t: bn, kind: "floor", subs: fw.subs}}, func(n int) error {
		resp, err := apiClient.Post(fmt.Sprintf("%s/steady?rate=%d&secs=%d&slice=%d", fw.url, rate, bn.p.steadySecs, floorSlice), "text/plain", nil)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			return fmt.Errorf("floor /steady: %s", resp.Status)
		}
		return nil
	})
}

// scheduled returns a publisher for steadyRun: rate events/s, each a
// call to pub with its send time as data, on a fixed schedule, with up to
// p.publishers in flight so that a slow answer does not delay the next.
func (bn *bench) scheduled(rate int, pub func(data string) error) func(events int) error {
	return func(events int) error {
		t0 := time.Now()
		sem := make(chan struct{}, bn.p.publishers)
		var pubErr atomic.Value
		var wg sync.WaitGroup
		interval := time.Second / time.Duration(rate)
		for i := range events {
			if d := time.Until(t0.Add(time.Duration(i) * interval)); d > 0 {
				time.Sleep(d)
			}
			if pubErr.Load() != nil {
				break
			}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				if err := pub(strconv.FormatInt(time.Now().UnixNano(), 10)); err != nil {
					pubErr.CompareAndSwap(nil, err)
				}
			}()
		}
		wg.Wait()
		err, _ := pubErr.Load().(error)
		return err
	}
}

// steadyRun has rate events/s published for p.steadySecs seconds by
// publish (given their number) and follows the targets' clients.
func (bn *bench) steadyRun(rate int, targets []steadyTarget, publish func(events int) error) error {
	secs := bn.p.steadySecs
	events := rate * secs
	type follow struct {
		steadyTarget
		lat    [][]time.Duration
		last   []time.Time
		before []int64
		st0    stats
	}
	fs := make([]*follow, len(targets))
	for k, t := range targets {
		f := &follow{steadyTarget: t, lat: make([][]time.Duration, len(t.subs)), last: make([]time.Time, len(t.subs)), before: make([]int64, len(t.subs))}
		fs[k] = f
		for i, s := range t.subs {
			f.before[i] = s.events.Load()
			f.lat[i] = make([]time.Duration, 0, events)
			s.onData(func(data []byte, at time.Time) {
				if ns, err := strconv.ParseInt(string(data), 10, 64); err == nil {
					f.lat[i] = append(f.lat[i], at.Sub(time.Unix(0, ns)))
					f.last[i] = at
				}
			})
		}
		if t.hub != "" {
			var err error
			if f.st0, err = getStats(t.hub + "/_edge/stats"); err != nil {
				return err
			}
		}
	}
	unhook := func() {
		for _, t := range targets {
			for _, s := range t.subs {
				s.onData(nil)
			}
		}
	}
	defer unhook()

	t0 := time.Now()
	if err := publish(events); err != nil {
		return err
	}
	complete := waitFor(60*time.Second, 50*time.Millisecond, func() bool {
		for _, f := range fs {
			for i, s := range f.subs {
				if s.events.Load()-f.before[i] < int64(events) {
					return false
				}
			}
		}
		return true
	})
	unhook()                           // the slices are ours from here on
	time.Sleep(100 * time.Millisecond) // a handler call in progress ends
	var errs []error
	for _, f := range fs {
		t := f.t
		t.res.steadies = append(t.res.steadies, steadyResult{kind: f.kind, rate: rate, clients: len(f.subs), events: events, offered: float64(rate * len(f.subs)), load: loadAverage()})
		res := &t.res.steadies[len(t.res.steadies)-1]
		var all []time.Duration
		end := t0
		for i := range f.subs {
			all = append(all, f.lat[i]...)
			if f.last[i].After(end) {
				end = f.last[i]
			}
		}
		what := t.labelPrefix() + f.kind
		if len(all) == 0 {
			errs = append(errs, fmt.Errorf("%s: no event received", what))
			continue
		}
		slices.Sort(all)
		res.received = len(all)
		res.delivered = float64(len(all)) / end.Sub(t0).Seconds()
		res.lat = []time.Duration{pct(all, 50), pct(all, 99), all[len(all)-1]}
		if f.hub != "" {
			if st1, err := getStats(f.hub + "/_edge/stats"); err == nil {
				res.fanouts = st1.Batches - f.st0.Batches
				res.writes = st1.Writes - f.st0.Writes
			}
		}
		res.done = complete
		if !complete {
			errs = append(errs, fmt.Errorf("%s: clients received %d of %d deliveries within 60 s of the last publish", what, len(all), events*len(f.subs)))
		}
	}
	return errors.Join(errs...)
}

// steadyAll runs the sustained measurement at each rate of p.steadyRates;
// at the target's rate (1,000 events/s) also, for the worker under test,
// the pure-JS floor object with the same pattern and the hub with the
// sizing formula's number of clients (EDGE_BENCH_STEADY_SIZED, 200; "0"
// skips both).
func (bn *bench) steadyAll() error {
	sized := 200
	if v := os.Getenv("EDGE_BENCH_STEADY_SIZED"); v != "" {
		sized, _ = strconv.Atoi(v)
	}
	var errs []error
	for _, rate := range bn.p.steadyRates {
		if err := bn.steady(rate); err != nil {
			return fmt.Errorf("%d events/s: %w", rate, err)
		}
		time.Sleep(2 * time.Second)
		if rate != targetSteadyRate || bn.label != "" || sized <= 0 {
			continue
		}
		if bn.floor != nil {
			if err := bn.steadyFloor(rate); err != nil {
				errs = append(errs, fmt.Errorf("floor, %d events/s: %w", rate, err))
			}
			time.Sleep(2 * time.Second)
		}
		if err := bn.steadySized(rate, sized); err != nil {
			errs = append(errs, fmt.Errorf("%d clients, %d events/s: %w", sized, rate, err))
		}
		time.Sleep(2 * time.Second)
	}
	return errors.Join(errs...)
}
