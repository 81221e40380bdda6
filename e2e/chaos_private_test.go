//go:build chaos

package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/shared/auth"
)

// TestChaosPrivateNeverLeaks: subscribers through the edge and direct to the
// origin, each with random selectors and a random grant (header, cookie or
// anonymous), receive random public and private events on random topics
// while their connections are cut at random (so replay, from the edge's ring,
// from the origin's history and the origin's own, is exercised too). No
// private event may reach a subscriber whose token does not grant one of the
// event's topics, and every event it may see must arrive, once, in order.
//
// Knobs: CHAOS_PRIV_EVENTS (default 300), CHAOS_PRIV_SUBS (default 16).
func TestChaosPrivateNeverLeaks(t *testing.T) {
	startSampler()
	report.Lock()
	report.ran = append(report.ran, "PrivateNeverLeaks")
	report.Unlock()
	nEvents := chaosEnvInt("CHAOS_PRIV_EVENTS", 300)
	nSubs := chaosEnvInt("CHAOS_PRIV_SUBS", 16)
	originURL, edgeURL := sys.originURL, sys.edgeURL
	base := uniqueTopic(t, "chaos-private")
	topics := make([]string, 5)
	for i := range topics {
		topics[i] = fmt.Sprintf("%s/%d", base, i)
	}
	prefix := "priv-" + chaosRun + "-"
	pick := func(min int) []string {
		var out []string
		for len(out) < min {
			out = out[:0]
			for _, tp := range topics {
				if rand.IntN(2) == 0 {
					out = append(out, tp)
				}
			}
		}
		return out
	}

	startID := prefix + "start"
	if _, err := ackPublish(originURL, url.Values{"topic": {base + "/start"}, "id": {startID}}, time.Now().Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}

	type sub struct {
		*chaosSub
		selectors []string // "*" or exact topics
		grants    []string // "*" or exact topics; nil for anonymous or a grantless token
		how       string
	}
	var subs []*sub
	for i := 0; i < nSubs; i++ {
		s := &sub{selectors: pick(1)}
		if rand.IntN(5) == 0 {
			s.selectors = []string{"*"}
		}
		var tok string
		switch r := rand.IntN(10); {
		case r < 2:
			s.how = "anonymous"
		case r < 3:
			s.grants = []string{"*"}
			tok = mustToken(auth.Claims{Form: auth.FormLegacy, Subscribe: []auth.Matcher{{Match: "*", Type: auth.MatchSelector}}}, time.Hour)
		default:
			s.grants = pick(0)
			tok = subscriberToken(time.Hour, s.grants...)
		}
		h := http.Header{}
		if tok != "" {
			if rand.IntN(2) == 0 {
				s.how = "header"
				h.Set("Authorization", "Bearer "+tok)
			} else {
				s.how = "cookie"
				h.Set("Cookie", auth.LegacyCookieName+"="+tok)
			}
		}
		hub, side := originURL, "origin"
		if i%2 == 0 {
			hub, side = edgeURL, "edge"
		}
		name := fmt.Sprintf("%s-%d(%s)", side, i, s.how)
		s.chaosSub = newChaosSub(name, chaosTopicURL(hub, s.selectors...), h, startID)
		subs = append(subs, s)
	}
	defer func() {
		for _, s := range subs {
			s.close()
		}
	}()

	type event struct {
		topics  []string
		private bool
	}
	events := map[string]event{}
	var order []string
	stopCuts := make(chan struct{})
	cutsDone := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stopCuts:
				cutsDone <- n
				return
			case <-time.After(time.Duration(100+rand.IntN(400)) * time.Millisecond):
				subs[rand.IntN(len(subs))].cut()
				n++
			}
		}
	}()
	tick := time.NewTicker(20 * time.Millisecond)
	for i := 0; i < nEvents; i++ {
		<-tick.C
		ts := pick(1)
		rand.Shuffle(len(ts), func(i, j int) { ts[i], ts[j] = ts[j], ts[i] })
		e := event{topics: ts[:min(len(ts), 1+rand.IntN(2))], private: rand.IntN(2) == 0}
		id := fmt.Sprintf("%s%d", prefix, i)
		form := url.Values{"topic": e.topics, "id": {id}, "data": {fmt.Sprintf("private=%v topics=%v", e.private, e.topics)}}
		if e.private {
			form.Set("private", "on")
		}
		via := originURL
		if rand.IntN(5) == 0 {
			via = edgeURL // the worker forwards publishes to the origin
		}
		if _, err := ackPublish(via, form, time.Now().Add(30*time.Second)); err != nil {
			t.Fatal(err)
		}
		events[id] = e
		order = append(order, id)
	}
	tick.Stop()
	// A public end marker on every topic: every subscriber sees it.
	endID := prefix + "end"
	if _, err := ackPublish(originURL, url.Values{"topic": topics, "id": {endID}}, time.Now().Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	close(stopCuts)
	cuts := <-cutsDone
	reportFault("subscriber connection cut")
	report.Lock()
	report.faults["subscriber connection cut"] += cuts - 1
	report.Unlock()
	waitFor(60*time.Second, func() bool {
		for _, s := range subs {
			ev := s.snapshot()
			if len(ev) == 0 || ev[len(ev)-1].ID != endID {
				return false
			}
		}
		return true
	})
	time.Sleep(time.Second)

	matches := func(sels []string, ts []string) bool {
		for _, sel := range sels {
			for _, tp := range ts {
				if sel == "*" || sel == tp {
					return true
				}
			}
		}
		return false
	}
	var leaked, missing, delivered, privDelivered, extra int
	for _, s := range subs {
		var want []string
		for _, id := range order {
			e := events[id]
			if matches(s.selectors, e.topics) && (!e.private || matches(s.grants, e.topics)) {
				want = append(want, id)
			}
		}
		want = append(want, endID)
		got := s.snapshot()
		var ids []string
		for _, g := range got {
			ids = append(ids, g.ID)
			e, ok := events[g.ID]
			if !ok {
				if g.ID != endID {
					extra++
					t.Errorf("%s: unexpected event %+v", s.name, g)
				}
				continue
			}
			if e.private {
				privDelivered++
				if !matches(s.grants, e.topics) {
					leaked++
					t.Errorf("LEAK: %s (grants %v) received private event %s on %v", s.name, s.grants, g.ID, e.topics)
				}
			}
			if !matches(s.selectors, e.topics) {
				extra++
				t.Errorf("%s (selectors %v) received %s on %v", s.name, s.selectors, g.ID, e.topics)
			}
		}
		delivered += len(ids)
		if strings.Join(ids, ",") != strings.Join(want, ",") {
			have := map[string]bool{}
			for _, id := range ids {
				have[id] = true
			}
			m := 0
			for _, id := range want {
				if !have[id] {
					m++
				}
			}
			missing += m
			t.Errorf("%s (selectors %v, grants %v): got %d events, want %d (%d allowed events missing, or duplicates/order)", s.name, s.selectors, s.grants, len(ids), len(want), m)
		}
	}
	if err := healthy(); err != nil {
		report.Lock()
		report.crashes++
		report.Unlock()
		t.Error(err)
	}
	report.Lock()
	report.published += nEvents + 1
	report.delivered += delivered
	report.leaked += leaked
	report.allowedMissing += missing
	report.Unlock()
	t.Logf("REPORT private: subscribers %d, events %d, connection cuts %d, delivered %d (private %d), leaked private %d, allowed missing %d, misdelivered %d",
		len(subs), nEvents, cuts, delivered, privDelivered, leaked, missing, extra)
}
