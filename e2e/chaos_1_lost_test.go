//go:build chaos

package e2e

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// ackPublish publishes one event with a fixed id and retries the SAME id
// until the origin acknowledges it: 200 with the id, or 409 on a retry (the
// event was stored by an earlier attempt whose answer was lost). It gives up
// after deadline.
func ackPublish(base string, form url.Values, deadline time.Time) (attempts int, err error) {
	id := form.Get("id")
	client := http.Client{Timeout: 5 * time.Second}
	for {
		attempts++
		req, _ := http.NewRequest(http.MethodPost, base+"/.well-known/mercure", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+publisherToken)
		resp, rerr := client.Do(req)
		if rerr == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode == 200 && string(body) == id:
				return attempts, nil
			case resp.StatusCode == 200:
				return attempts, fmt.Errorf("publish %s: acknowledged as %q", id, body)
			case resp.StatusCode == http.StatusConflict && attempts > 1:
				return attempts, nil
			case resp.StatusCode == http.StatusConflict:
				return attempts, fmt.Errorf("publish %s: 409 on the first attempt: %s", id, body)
			}
			rerr = fmt.Errorf("%s: %s", resp.Status, body)
		}
		if time.Now().After(deadline) {
			return attempts, fmt.Errorf("publish %s: not acknowledged: %v", id, rerr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestChaosNothingLost publishes a numbered stream at a steady rate while
// the origin is restarted (SIGTERM and SIGKILL), wrangler dev is restarted
// and subscriber connections are cut; every subscriber, through the edge or
// direct to the origin, must end with exactly the acknowledged sequence.
//
// Knobs: CHAOS_EVENTS (default 800), CHAOS_RATE events/s (default 20),
// CHAOS_SUBS per side (default 3), CHAOS_FAULT_EVERY_MS (default 4000).
func TestChaosNothingLost(t *testing.T) {
	startSampler()
	report.Lock()
	report.ran = append(report.ran, "NothingLost")
	report.Unlock()
	nEvents := chaosEnvInt("CHAOS_EVENTS", 800)
	rate := chaosEnvInt("CHAOS_RATE", 20)
	nSubs := chaosEnvInt("CHAOS_SUBS", 3)
	faultEvery := time.Duration(chaosEnvInt("CHAOS_FAULT_EVERY_MS", 4000)) * time.Millisecond
	originURL, edgeURL := sys.originURL, sys.edgeURL
	topic := uniqueTopic(t, "chaos-lost")
	prefix := "chaos-" + chaosRun + "-"

	// A start event: every subscriber resumes after it from its first
	// connection on, so none depends on when its first stream opened.
	startID := prefix + "start"
	if _, err := ackPublish(originURL, url.Values{"topic": {topic}, "id": {startID}, "data": {"start"}}, time.Now().Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	var subs []*chaosSub
	for i := 0; i < nSubs; i++ {
		subs = append(subs,
			newChaosSub(fmt.Sprintf("edge-%d", i), chaosTopicURL(edgeURL, topic), nil, startID),
			newChaosSub(fmt.Sprintf("origin-%d", i), chaosTopicURL(originURL, topic), nil, startID))
	}
	defer func() {
		for _, s := range subs {
			s.close()
		}
	}()

	// The publisher: one event at a time, in order, each retried by id
	// until acknowledged.
	var acked atomic.Int64
	var retries atomic.Int64
	pubErr := make(chan error, 1)
	go func() {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for n := 0; n < nEvents; n++ {
			<-tick.C
			form := url.Values{"topic": {topic}, "id": {fmt.Sprintf("%s%d", prefix, n)}, "data": {fmt.Sprintf("event %d", n)}}
			a, err := ackPublish(originURL, form, time.Now().Add(120*time.Second))
			retries.Add(int64(a - 1))
			if err != nil {
				pubErr <- err
				return
			}
			acked.Add(1)
		}
		pubErr <- nil
	}()

	// Faults, from the test's goroutine (the restart helpers call t.Fatal):
	// every kind at least once, in a shuffled order, subscriber cuts between.
	kinds := []string{"origin SIGTERM restart", "origin SIGKILL restart", "wrangler restart"}
	var perr error
	published := false
	for round := 0; !published; round++ {
		if round%len(kinds) == 0 {
			rand.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
		}
		kind := kinds[round%len(kinds)]
		select {
		case perr = <-pubErr:
			published = true
			continue
		case <-time.After(faultEvery / 2):
		}
		// A few abrupt client disconnects.
		for k := 1 + rand.IntN(3); k > 0; k-- {
			subs[rand.IntN(len(subs))].cut()
			reportFault("subscriber connection cut")
		}
		select {
		case perr = <-pubErr:
			published = true
			continue
		case <-time.After(faultEvery / 2):
		}
		start := time.Now()
		switch kind {
		case "origin SIGTERM restart":
			restartOrigin(t)
		case "origin SIGKILL restart":
			killOrigin9(t)
		case "wrangler restart":
			restartWrangler(t)
		}
		reportFault(kind)
		t.Logf("fault %-24s at %d acknowledged events, back after %s", kind, acked.Load(), time.Since(start).Round(time.Millisecond))
	}
	if perr != nil {
		t.Fatal(perr)
	}
	t.Logf("published %d events (%d retries)", acked.Load(), retries.Load())

	// Every subscriber must converge to the acknowledged sequence.
	want := make([]string, nEvents)
	for n := range want {
		want[n] = fmt.Sprintf("%s%d", prefix, n)
	}
	lastWant := want[len(want)-1]
	waitFor(90*time.Second, func() bool {
		for _, s := range subs {
			ev := s.snapshot()
			if len(ev) == 0 || ev[len(ev)-1].ID != lastWant {
				return false
			}
		}
		return true
	})
	time.Sleep(time.Second) // anything extra would arrive now

	var delivered, lost, dup, reord, missed int
	for _, s := range subs {
		ev := s.snapshot()
		seen := map[string]int{}
		var got []string
		for _, e := range ev {
			if e.Type == "mercure-missed" {
				missed++
				t.Errorf("%s: received mercure-missed %q after id %q", s.name, e.Data, e.ID)
				continue
			}
			seen[e.ID]++
			got = append(got, e.ID)
		}
		delivered += len(got)
		l, d := 0, 0
		for _, id := range want {
			if seen[id] == 0 {
				l++
			}
		}
		for id, c := range seen {
			if c > 1 {
				d += c - 1
				_ = id
			}
		}
		extra := 0
		for id := range seen {
			if !strings.HasPrefix(id, prefix) || id == startID {
				extra++
			}
		}
		firstDiff := -1
		for i := 0; i < len(want) || i < len(got); i++ {
			if i >= len(want) || i >= len(got) || got[i] != want[i] {
				firstDiff = i
				break
			}
		}
		if l == 0 && d == 0 && firstDiff >= 0 {
			reord++
		}
		lost += l
		dup += d
		s.mu.Lock()
		t.Logf("%-9s connections %3d, dial errors %3d, statuses %v, events %d, lost %d, duplicated %d, extra %d",
			s.name, s.conns, s.dialErrs, s.statuses, len(got), l, d, extra)
		s.mu.Unlock()
		if firstDiff >= 0 {
			lo := max(0, firstDiff-2)
			t.Errorf("%s: sequence differs at index %d: got %v…, want %v…", s.name, firstDiff,
				got[lo:min(len(got), firstDiff+3)], want[lo:min(len(want), firstDiff+3)])
		}
	}
	if err := healthy(); err != nil {
		report.Lock()
		report.crashes++
		report.Unlock()
		t.Error(err)
	}
	report.Lock()
	report.published += nEvents
	report.delivered += delivered
	report.lost += lost
	report.duplicated += dup
	report.reordered += reord
	report.missed += missed
	faults := fmt.Sprint(report.faults)
	report.Unlock()
	t.Logf("REPORT nothing-lost: faults %s; published %d; subscribers %d; delivered %d (want %d); lost %d; duplicated %d; reordered %d; mercure-missed %d",
		faults, nEvents, len(subs), delivered, nEvents*len(subs), lost, dup, reord, missed)
}
