//go:build chaos

package e2e

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ackPublish publishes one event with a fixed id and retries the SAME id
// until the origin acknowledges it: 200 with the id, or 409 on a retry (the
// event was stored by an earlier attempt whose answer was lost). It gives up
// after deadline.
func ackPublish(base string, form url.Values, deadline time.Time) (attempts int, err error) {
	return ackPublishAny([]string{base}, form, deadline)
}

// ackPublishAny is ackPublish over origins that share one history: each
// attempt after a failure goes to the next origin in bases, so that the
// publisher fails over when one does not answer. A 409 on a retry means an
// earlier attempt, on whichever origin, stored the event.
func ackPublishAny(bases []string, form url.Values, deadline time.Time) (attempts int, err error) {
	id := form.Get("id")
	client := http.Client{Timeout: 5 * time.Second}
	for {
		base := bases[attempts%len(bases)]
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
		if attempts%len(bases) == 0 {
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// TestChaosNothingLost publishes a numbered stream at a steady rate while
// the origin is restarted (SIGTERM and SIGKILL), wrangler dev is restarted,
// the origin→edge feed is cut in the middle of a frame (sys.feed) and
// subscriber connections are cut; meanwhile a stalling pair, one edge and
// one direct subscriber, stops reading now and then until the servers drop
// it (see staller). Every subscriber, through the edge or direct to the
// origin, must end with exactly the acknowledged sequence.
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
	// The stalling pair also takes a ballast topic each (see staller).
	st := &staller{
		edge:      newStallingSub("edge-stall", chaosTopicURL(edgeURL, topic, topic+"/ballast-edge"), nil, startID),
		origin:    newStallingSub("origin-stall", chaosTopicURL(originURL, topic, topic+"/ballast-origin"), nil, startID),
		edgeURL:   edgeURL,
		originURL: originURL,
		topics:    [2]string{topic + "/ballast-edge", topic + "/ballast-origin"},
	}
	subs = append(subs, st.edge, st.origin)
	defer func() {
		for _, s := range subs {
			s.close()
		}
	}()
	stallStop, stallDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stallDone)
		st.run(stallStop)
	}()
	var stopStalls sync.Once
	stopStalling := func() {
		stopStalls.Do(func() {
			close(stallStop)
			<-stallDone
		})
	}
	defer stopStalling()

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
	kinds := []string{"origin SIGTERM restart", "origin SIGKILL restart", "wrangler restart", "feed cut mid-frame", "client stall until dropped"}
	feedCutsBefore := sys.feed.cuts.Load()
	var perr error
	published := false
	for round := 0; !published; round++ {
		if round%len(kinds) == 0 {
			rand.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
		}
		kind := kinds[round%len(kinds)]
		if perr, published = cutsBetweenFaults(pubErr, subs, faultEvery); published {
			continue
		}
		start := time.Now()
		note := ""
		switch kind {
		case "client stall until dropped":
			note = " (" + st.longStall() + ")"
		case "origin SIGTERM restart":
			restartOrigin(t)
		case "origin SIGKILL restart":
			killOrigin9(t)
		case "wrangler restart":
			restartWrangler(t)
		case "feed cut mid-frame":
			marked, cut := cutFeed()
			note = fmt.Sprintf(" (%d connections marked, %d cut)", marked, cut)
		}
		reportFault(kind)
		t.Logf("fault %-24s at %d acknowledged events, back after %s%s", kind, acked.Load(), time.Since(start).Round(time.Millisecond), note)
	}
	stopStalling()
	if perr != nil {
		t.Fatal(perr)
	}
	t.Logf("published %d events (%d retries); ballast %d events, %.1f MiB", acked.Load(), retries.Load(), st.ballast, float64(st.ballastBytes)/(1<<20))

	// Every subscriber must converge to the acknowledged sequence.
	want := make([]string, nEvents)
	for n := range want {
		want[n] = fmt.Sprintf("%s%d", prefix, n)
	}
	isBallast := func(id string) bool { return strings.HasPrefix(id, ballastPrefix) }
	waitSequence(subs, want[len(want)-1], isBallast, 90*time.Second)
	tally := checkSequence(t, subs, want, isBallast)
	if err := healthy(); err != nil {
		report.Lock()
		report.crashes++
		report.Unlock()
		t.Error(err)
	}
	st.edge.mu.Lock()
	edgeStalls := st.edge.stalls
	st.edge.mu.Unlock()
	st.origin.mu.Lock()
	originStalls := st.origin.stalls
	st.origin.mu.Unlock()
	edgeDropped, originDropped := st.dropped[0], st.dropped[1]
	feedCuts := sys.feed.cuts.Load() - feedCutsBefore
	faults := tally.addToReport(nEvents)
	reportRow("feed connections cut mid-frame", feedCuts)
	reportRow("client stalls edge/origin", fmt.Sprintf("%d/%d", edgeStalls, originStalls))
	reportRow("stall drops edge/origin", fmt.Sprintf("%d/%d", edgeDropped, originDropped))
	reportRow("ballast for stalls (MiB)", fmt.Sprintf("%.1f", float64(st.ballastBytes)/(1<<20)))
	t.Logf("REPORT nothing-lost: faults %s; published %d; subscribers %d; delivered %d (want %d); lost %d; duplicated %d; reordered %d; mercure-missed %d; feed cuts %d; stalls edge/origin %d/%d, dropped %d/%d",
		faults, nEvents, len(subs), tally.delivered, nEvents*len(subs), tally.lost, tally.duplicated, tally.reordered, tally.missed, feedCuts, edgeStalls, originStalls, edgeDropped, originDropped)
}

// cutFeed cuts every connection between the worker and the origin inside
// the next bytes the origin sends on it. If none is open (the feed is
// reconnecting), it tries again for a few seconds. It returns how many
// connections it marked and how many were cut within 10 s.
func cutFeed() (marked int, cut int64) {
	before := sys.feed.cuts.Load()
	for deadline := time.Now().Add(5 * time.Second); marked == 0 && time.Now().Before(deadline); {
		if marked = sys.feed.cutMidFrame(); marked == 0 {
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitFor(10*time.Second, func() bool { return sys.feed.cuts.Load()-before >= int64(marked) })
	return marked, sys.feed.cuts.Load() - before
}

// ballastPrefix starts the id of every ballast event.
var ballastPrefix = "ballast-" + chaosRun + "-"

// staller stalls the stalling pair of TestChaosNothingLost.
//
// Short stalls (0.3–3 s, of either subscriber or both, at random times from
// run) are back-pressure the servers should ride out. A long stall (a fault
// of the rotation, so that no restart ends the stalled streams meanwhile)
// stops both until each server has dropped its stalled client: the edge
// hub drops a client with more than CLIENT_QUEUE chunks waiting, the origin
// one whose write blocks for --write-timeout (10 s) or whose queue fills.
//
// Loopback sockets autotune their send buffers to megabytes (and workerd
// buffers more), so the numbered events alone (a few KiB/s) would take many
// minutes to back up. A long stall therefore publishes ballast, on a topic
// of each subscriber's own: for the origin's, 5 MiB at once, which blocks
// its writes, after which its write timeout runs; for the edge's, 64 KiB
// events at about 1 MiB/s until the hub drops it (a few seconds once the
// buffers are full).
type staller struct {
	edge, origin       *chaosSub
	edgeURL, originURL string
	topics             [2]string // of the ballast: the edge's, the origin's

	mu           sync.Mutex // held during a stall: one at a time
	short, long  int
	dropped      [2]int // long stalls that ended with the edge's, the origin's stream dropped
	ballast      int    // ballast events acknowledged
	ballastBytes int64
	ballastSeq   int // ids used
}

const (
	maxLongStall = 30 * time.Second
	// edgeBuffers is what must be in flight before the edge can drop a
	// stalled client: kernel send buffers (4 MiB at most) and workerd's.
	edgeBuffers = 4 << 20
)

// run stalls one or both subscribers briefly now and then until stop closes.
func (st *staller) run(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(1000+rand.IntN(3000)) * time.Millisecond):
		}
		pair := []*chaosSub{st.edge, st.origin}
		if k := rand.IntN(3); k < 2 {
			pair = pair[k : k+1]
		}
		st.mu.Lock()
		st.short++
		reportFault("client stall, short")
		for _, s := range pair {
			s.stall()
		}
		select {
		case <-stop:
		case <-time.After(time.Duration(300+rand.IntN(2700)) * time.Millisecond):
		}
		for _, s := range pair {
			s.resume()
		}
		st.mu.Unlock()
	}
}

// longStall stalls both subscribers and publishes ballast until each
// server's count of dropped clients has moved (or maxLongStall), then
// checks that each stalled stream did end; it says how that went.
func (st *staller) longStall() string {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.long++
	pair := []*chaosSub{st.edge, st.origin}
	drops := []func() (int64, bool){
		func() (int64, bool) { return edgeDrops(st.edgeURL) },
		func() (int64, bool) { return originDrops(st.originURL) },
	}
	// Stall live streams only: one that a fault ended just before, which
	// the subscriber has not read to its end yet, could not be dropped.
	for i, s := range pair {
		id := st.publish(st.topics[i], "probe", 10*time.Second)
		if id == "" {
			return "probe not acknowledged: no stall"
		}
		if !waitFor(10*time.Second, func() bool { return s.has(id) }) {
			return s.name + " did not receive its probe in 10 s: no stall"
		}
	}
	var before [2]int64
	var known [2]bool
	var ended [2]int
	var resumed [2]time.Time
	for i, s := range pair {
		before[i], known[i] = drops[i]()
		s.mu.Lock()
		ended[i] = s.ended
		s.mu.Unlock()
		s.stall()
	}
	mb := st.ballastBytes
	start := time.Now()
	st.pump(st.topics[1], 5<<20, 128<<10)
	edgeBallast := 0
	for (resumed[0].IsZero() || resumed[1].IsZero()) && time.Since(start) < maxLongStall {
		if resumed[0].IsZero() {
			edgeBallast += st.pump(st.topics[0], 256<<10, 64<<10)
		}
		time.Sleep(250 * time.Millisecond)
		for i, s := range pair {
			if !resumed[i].IsZero() {
				continue
			}
			n, ok := drops[i]()
			switch {
			case !ok:
			case !known[i]:
				before[i], known[i] = n, true
			// The edge's count also moves when it finds a cut client
			// gone; it cannot have dropped the stalled one before the
			// buffers in between are full.
			case n != before[i] && (i == 1 || edgeBallast >= edgeBuffers):
				s.resume()
				resumed[i] = time.Now()
			}
		}
	}
	st.edge.resume()
	st.origin.resume()
	// A dropped stream ends once the subscriber has read what the server
	// had sent; nothing else ends streams during a long stall.
	var out []string
	for i, s := range pair {
		if resumed[i].IsZero() {
			out = append(out, s.name+" not dropped")
			continue
		}
		if waitFor(10*time.Second, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.ended > ended[i] }) {
			st.dropped[i]++
			out = append(out, fmt.Sprintf("%s dropped after %s", s.name, resumed[i].Sub(start).Round(100*time.Millisecond)))
		} else {
			out = append(out, fmt.Sprintf("%s: server counted a drop after %s, but the stream goes on", s.name, resumed[i].Sub(start).Round(100*time.Millisecond)))
		}
	}
	return fmt.Sprintf("%s; ballast %.1f MiB", strings.Join(out, ", "), float64(st.ballastBytes-mb)/(1<<20))
}

// pump publishes n bytes of ballast to topic in events of size bytes, one
// at a time, and returns how many bytes were acknowledged; a failure is
// skipped, ballast is not part of any sequence.
func (st *staller) pump(topic string, n, size int) int {
	// Lines under the SSE parser's 64 KiB limit.
	data := strings.Repeat(strings.Repeat("b", 1023)+"\n", size/1024)
	acked := 0
	for sent := 0; sent < n; sent += len(data) {
		if st.publish(topic, data, 10*time.Second) != "" {
			acked += len(data)
		}
	}
	return acked
}

// publish publishes one ballast event and returns its id, or "" if it was
// not acknowledged.
func (st *staller) publish(topic, data string, timeout time.Duration) string {
	st.ballastSeq++
	id := fmt.Sprintf("%s%d", ballastPrefix, st.ballastSeq)
	form := url.Values{"topic": {topic}, "id": {id}, "data": {data}}
	req, _ := http.NewRequest(http.MethodPost, st.originURL+"/.well-known/mercure", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+publisherToken)
	client := http.Client{Timeout: timeout}
	resp, err := client.Do(req)
	if err != nil {
		return ""
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	st.ballast++
	st.ballastBytes += int64(len(data))
	return id
}
