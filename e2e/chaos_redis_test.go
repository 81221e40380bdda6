//go:build chaos

package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// redisOrigin is an origin process on the shared Redis history that a test
// can kill and start again on the same address.
type redisOrigin struct {
	name, addr, prefix string
	p                  *process
}

// startRedisOriginAt starts an origin on addr sharing Redis history and
// fan-out under prefix, like startRedisOrigin, and stops it when t ends.
func startRedisOriginAt(t *testing.T, name, addr, prefix string) *redisOrigin {
	t.Helper()
	o := &redisOrigin{name: name, addr: addr, prefix: prefix}
	if err := o.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.p.stop() })
	return o
}

func (o *redisOrigin) url() string { return "http://" + o.addr }

func (o *redisOrigin) start() error {
	p, err := startOriginAt(o.name, o.addr, "--jwt-key", jwtKey,
		"--heartbeat", originHeartbeat, "--feed-secret", feedSecret,
		"--redis", "redis://127.0.0.1:6379/0", "--redis-prefix", o.prefix)
	if err != nil {
		return err
	}
	o.p = p
	return nil
}

// kill9 kills the origin's process group with SIGKILL.
func (o *redisOrigin) kill9() {
	syscall.Kill(-o.p.cmd.Process.Pid, syscall.SIGKILL)
	<-o.p.done
}

// TestChaosRedisFailover runs two origin processes on one Redis history
// and publishes a numbered stream with fixed ids at a steady rate, each
// event to one origin and, when it does not answer, to the other (the same
// id again: a 409 on a retry means an earlier attempt stored it), counting
// only acknowledged events. Meanwhile one origin at a time is killed with
// SIGKILL and started again on its address, and subscriber connections are
// cut. The subscribers are direct on both origins and move to the other one
// when theirs is down, resuming with Last-Event-ID. Every subscriber must
// end with exactly the acknowledged sequence: no gap, duplicate or
// reordering.
//
// Knobs (shared with TestChaosNothingLost): CHAOS_EVENTS (half of it is
// published here; default 800), CHAOS_RATE events/s (default 20),
// CHAOS_SUBS per origin (default 3), CHAOS_FAULT_EVERY_MS (default 4000).
func TestChaosRedisFailover(t *testing.T) {
	startSampler()
	report.Lock()
	report.ran = append(report.ran, "RedisFailover")
	report.Unlock()
	nEvents := max(1, chaosEnvInt("CHAOS_EVENTS", 800)/2)
	rate := chaosEnvInt("CHAOS_RATE", 20)
	nSubs := chaosEnvInt("CHAOS_SUBS", 3)
	faultEvery := time.Duration(chaosEnvInt("CHAOS_FAULT_EVERY_MS", 4000)) * time.Millisecond

	prefix := fmt.Sprintf("{chaos-%s}:", chaosRun)
	cleanRedis(t, prefix)
	origins := []*redisOrigin{
		startRedisOriginAt(t, "origin-redis-chaos-a", freeAddr(), prefix),
		startRedisOriginAt(t, "origin-redis-chaos-b", freeAddr(), prefix),
	}
	bases := []string{origins[0].url(), origins[1].url()}
	topic := uniqueTopic(t, "chaos-redis")
	idPrefix := "chaos-redis-" + chaosRun + "-"

	startID := idPrefix + "start"
	if _, err := ackPublishAny(bases, url.Values{"topic": {topic}, "id": {startID}, "data": {"start"}}, time.Now().Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	var subs []*chaosSub
	for i := 0; i < nSubs; i++ {
		for k := range origins {
			urls := []string{chaosTopicURL(bases[k], topic), chaosTopicURL(bases[1-k], topic)}
			subs = append(subs, newFailoverSub(fmt.Sprintf("redis-%c-%d", 'a'+k, i), urls, startID))
		}
	}
	defer func() {
		for _, s := range subs {
			s.close()
		}
	}()

	// The publisher: event n goes to origin n%2 first, then alternates
	// until acknowledged.
	var acked, retries, failovers atomic.Int64
	pubErr := make(chan error, 1)
	go func() {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for n := 0; n < nEvents; n++ {
			<-tick.C
			form := url.Values{"topic": {topic}, "id": {fmt.Sprintf("%s%d", idPrefix, n)}, "data": {fmt.Sprintf("event %d", n)}}
			a, err := ackPublishAny([]string{bases[n%2], bases[1-n%2]}, form, time.Now().Add(120*time.Second))
			retries.Add(int64(a - 1))
			if a > 1 {
				failovers.Add(1)
			}
			if err != nil {
				pubErr <- err
				return
			}
			acked.Add(1)
		}
		pubErr <- nil
	}()

	// Faults, from the test's goroutine: kill one origin (SIGKILL), leave
	// it down for up to 2 s, start it again; subscriber cuts between.
	var perr error
	kills := 0
	for published := false; !published; {
		if perr, published = cutsBetweenFaults(pubErr, subs, faultEvery); published {
			continue
		}
		o := origins[rand.IntN(len(origins))]
		start := time.Now()
		o.kill9()
		time.Sleep(time.Duration(rand.IntN(2000)) * time.Millisecond)
		if err := o.start(); err != nil {
			t.Fatal(err)
		}
		kills++
		reportFault("redis origin SIGKILL")
		t.Logf("fault SIGKILL %s at %d acknowledged events, back after %s", o.name, acked.Load(), time.Since(start).Round(time.Millisecond))
	}
	if perr != nil {
		t.Fatal(perr)
	}
	t.Logf("published %d events (%d retries, %d failed over)", acked.Load(), retries.Load(), failovers.Load())

	want := make([]string, nEvents)
	for n := range want {
		want[n] = fmt.Sprintf("%s%d", idPrefix, n)
	}
	waitSequence(subs, want[len(want)-1], nil, 60*time.Second)
	tally := checkSequence(t, subs, want, nil)
	for _, o := range origins {
		select {
		case <-o.p.done:
			report.Lock()
			report.crashes++
			report.Unlock()
			t.Errorf("%s exited:\n%s", o.name, o.p.tail())
		default:
		}
	}
	faults := tally.addToReport(nEvents)
	reportRow("redis publishes failed over", failovers.Load())
	t.Logf("REPORT redis-failover: faults %s; published %d; subscribers %d; delivered %d (want %d); lost %d; duplicated %d; reordered %d; mercure-missed %d; kills %d",
		faults, nEvents, len(subs), tally.delivered, nEvents*len(subs), tally.lost, tally.duplicated, tally.reordered, tally.missed, kills)
}
