//go:build chaos

package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/e2e/internal/proc"
)

// Presence under faults: edge restart, origin SIGKILL (bolt), two origins
// on Redis with one killed, feed cuts. Clients connect and leave all the
// while, each with a match of its own; a follower reconnecting with
// Last-Event-ID records every subscription event. After each fault,
// within the lease (plus the time to notice), the API lists exactly one
// active subscription per connected client and none else, and no
// subscription has two active:true (or two active:false) without the
// other between.

// churnClient is a subscriber that stays connected while wanted, dialling
// again when its stream ends (a fault), with a match of its own.
type churnClient struct {
	match string
	urls  func() string // where to connect now
	hdr   http.Header

	// fixed clients are left alone by churn.
	fixed bool

	mu     sync.Mutex
	want   bool
	c      *sseClient
	closed bool
}

// presenceChaos is a population of churn clients and a follower.
type presenceChaos struct {
	t       *testing.T
	prefix  string
	clients []*churnClient
	stop    chan struct{}
	wg      sync.WaitGroup

	fmu  sync.Mutex
	docs []presenceDoc
	// followAt is where the follower reads events now.
	followAt func() string
}

func newPresenceChaos(t *testing.T, name string, followAt func() string) *presenceChaos {
	pc := &presenceChaos{t: t, prefix: uniqueTopic(t, name) + "/", stop: make(chan struct{}), followAt: followAt}
	pc.wg.Add(1)
	go pc.follow()
	t.Cleanup(pc.close)
	return pc
}

// follow records every subscription event of the prefix, resuming after
// the newest id it has whenever its stream ends.
func (pc *presenceChaos) follow() {
	defer pc.wg.Done()
	last := ""
	for {
		select {
		case <-pc.stop:
			return
		default:
		}
		h := http.Header{"Authorization": {"Bearer " + watcherToken}}
		if last != "" {
			h.Set("Last-Event-ID", last)
		}
		c, err := dialSSE(pc.followAt()+"/.well-known/mercure?match_urlpattern="+url.QueryEscape(subscriptionsPath+"/*"), h)
		if err != nil {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		done := false
		for !done {
			select {
			case <-pc.stop:
				c.close()
				return
			case e, ok := <-c.events:
				if !ok {
					done = true
					break
				}
				if e.ID != "" {
					last = e.ID
				}
				if e.Type != "mercure" {
					continue
				}
				var d presenceDoc
				if json.Unmarshal([]byte(e.Data), &d) == nil && strings.HasPrefix(d.Match, pc.prefix) {
					pc.fmu.Lock()
					pc.docs = append(pc.docs, d)
					pc.fmu.Unlock()
				}
			case <-c.done:
				done = true
			}
		}
		c.close()
	}
}

// add makes n clients connecting to where(i) with header hdr(i).
func (pc *presenceChaos) add(n int, name string, where func() string, hdr func(i int) http.Header) {
	for i := range n {
		cc := &churnClient{match: fmt.Sprintf("%s%s-%d", pc.prefix, name, i), urls: where, hdr: hdr(i)}
		pc.clients = append(pc.clients, cc)
		pc.wg.Add(1)
		go pc.keep(cc)
	}
}

// keep holds cc's stream open while it is wanted.
func (pc *presenceChaos) keep(cc *churnClient) {
	defer pc.wg.Done()
	for {
		select {
		case <-pc.stop:
			cc.mu.Lock()
			if cc.c != nil {
				cc.c.close()
				cc.c = nil
			}
			cc.mu.Unlock()
			return
		case <-time.After(50 * time.Millisecond):
		}
		cc.mu.Lock()
		want, c := cc.want, cc.c
		cc.mu.Unlock()
		switch {
		case c != nil && !want:
			c.close()
			cc.mu.Lock()
			cc.c = nil
			cc.mu.Unlock()
		case c != nil:
			select {
			case <-c.done: // a fault ended it
				c.close()
				cc.mu.Lock()
				cc.c = nil
				cc.mu.Unlock()
			default:
			}
		case want:
			nc, err := dialSSE(cc.urls()+"/.well-known/mercure?match="+url.QueryEscape(cc.match), cc.hdr)
			if err != nil {
				time.Sleep(200 * time.Millisecond)
				continue
			}
			cc.mu.Lock()
			cc.c = nc
			cc.mu.Unlock()
		}
	}
}

// churn flips random clients between wanted and not for d.
func (pc *presenceChaos) churn(d time.Duration) {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		cc := pc.clients[rand.IntN(len(pc.clients))]
		if cc.fixed {
			continue
		}
		cc.mu.Lock()
		cc.want = !cc.want
		cc.mu.Unlock()
		time.Sleep(time.Duration(20+rand.IntN(80)) * time.Millisecond)
	}
}

// want sets the clients whose match contains name wanted or not, and
// leaves them out of churn.
func (pc *presenceChaos) want(name string, want bool) {
	for _, cc := range pc.clients {
		if strings.Contains(cc.match, name) {
			cc.mu.Lock()
			cc.want, cc.fixed = want, true
			cc.mu.Unlock()
		}
	}
}

// wantAll sets every client wanted or not.
func (pc *presenceChaos) wantAll(want bool) {
	for _, cc := range pc.clients {
		cc.mu.Lock()
		cc.want = want
		cc.mu.Unlock()
	}
}

// connected returns the matches of the clients with an open stream, once
// every client's stream agrees with whether it is wanted.
func (pc *presenceChaos) connected(timeout time.Duration) map[string]bool {
	pc.t.Helper()
	var m map[string]bool
	if !waitFor(timeout, func() bool {
		m = map[string]bool{}
		for _, cc := range pc.clients {
			cc.mu.Lock()
			open := cc.c != nil
			if open {
				select {
				case <-cc.c.done:
					open = false
				default:
				}
			}
			if open != cc.want {
				cc.mu.Unlock()
				return false
			}
			if open {
				m[cc.match] = true
			}
			cc.mu.Unlock()
		}
		return true
	}) {
		pc.t.Fatalf("clients did not settle within %v", timeout)
	}
	return m
}

// settle checks that within the lease plus slack the API at base lists
// exactly one active subscription per connected client, and returns how
// long that took.
func (pc *presenceChaos) settle(step, base string) time.Duration {
	pc.t.Helper()
	truth := pc.connected(30 * time.Second)
	start := time.Now()
	var got map[string]int
	ok := waitFor(presenceLease+5*time.Second, func() bool {
		set, _ := apiListTry(base, pc.prefix)
		if set == nil {
			return false
		}
		got = map[string]int{}
		for _, d := range set {
			got[d.Match]++
		}
		if len(got) != len(truth) {
			return false
		}
		for m, n := range got {
			if n != 1 || !truth[m] {
				return false
			}
		}
		return true
	})
	took := time.Since(start)
	if !ok {
		pc.t.Errorf("%s: the API at %s lists %v (match → active count), want one each of %v", step, base, got, slices.Sorted(maps.Keys(truth)))
	}
	pc.t.Logf("%s: API equals the %d connected clients %v after the clients settled", step, len(truth), took.Round(time.Millisecond))
	reportRow("presence "+step+": API settled", took.Round(time.Millisecond))
	return took
}

// check verifies the follower's events: every subscription alternates.
func (pc *presenceChaos) check() {
	pc.t.Helper()
	time.Sleep(time.Second)
	pc.fmu.Lock()
	docs := slices.Clone(pc.docs)
	pc.fmu.Unlock()
	checkAlternation(pc.t, docs)
	pc.t.Logf("%d subscription events of %d clients checked", len(docs), len(pc.clients))
	if len(docs) == 0 {
		pc.t.Errorf("the follower recorded no subscription event")
	}
}

func (pc *presenceChaos) close() {
	select {
	case <-pc.stop:
		return
	default:
	}
	close(pc.stop)
	pc.wg.Wait()
}

// apiListTry is apiList that reports failure instead of failing the test.
func apiListTry(base, prefix string) (map[string]presenceDoc, error) {
	req, _ := http.NewRequest(http.MethodGet, base+subscriptionsPath, nil)
	req.Header.Set("Authorization", "Bearer "+watcherToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s", resp.Status)
	}
	var coll struct {
		Subscriptions []presenceDoc `json:"subscriptions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&coll); err != nil {
		return nil, err
	}
	set := map[string]presenceDoc{}
	for _, d := range coll.Subscriptions {
		if d.Active && strings.HasPrefix(d.Match, prefix) {
			set[d.ID] = d
		}
	}
	return set, nil
}

// restartableWorker is a presence worker that a test stops and starts
// again on its address and state.
type restartableWorker struct {
	t    *testing.T
	w    proc.Worker
	p    *process
	addr string
}

func startRestartableWorker(t *testing.T, name, origin, hubAddr string, vars ...string) *restartableWorker {
	hubURL := "http://" + hubAddr + "/.well-known/mercure"
	rw := &restartableWorker{t: t, addr: hubAddr, w: proc.Worker{Root: sys.root, LogDir: sys.logDir, Name: name, Addr: hubAddr,
		Snapshot: filepath.Join(sys.logDir, "bundle-"+name), Persist: filepath.Join(sys.logDir, name+"-state"),
		Vars: append([]string{
			"ORIGIN_URL:" + origin, "FEED_SECRET:" + feedSecret, "STATS_TOKEN:" + operatorToken,
			"ALLOW_ANONYMOUS:true", "JWT_KEY:" + jwtKey, "PUBLIC_URL:" + hubURL,
			"SUBSCRIPTIONS:true", "PRESENCE_BATCH_MS:" + presenceBatchMS, "CLIENT_HEARTBEAT_MS:" + clientHeartbeatMS,
			"HUB_SHARDS:2",
		}, vars...)}}
	rw.start()
	t.Cleanup(func() { rw.p.stop() })
	return rw
}

func (rw *restartableWorker) start() {
	s, err := rw.w.Start()
	if err != nil {
		rw.t.Fatal(err)
	}
	rw.p = wrap(s)
}

func (rw *restartableWorker) url() string { return "http://" + rw.addr }

// shardHeader spreads clients over the two shards of a worker.
func shardHeader(i int) http.Header {
	return http.Header{"Cf-Connecting-Ip": {fmt.Sprintf("198.51.100.%d", 1+i%50)}}
}

// TestChaosPresenceEdgeRestart: the worker (every hub object and client
// stream) is stopped and started again while clients churn; the dead hub
// instances' subscriptions end with their lease, the clients' new ones
// start, and the API converges on the connected set.
func TestChaosPresenceEdgeRestart(t *testing.T) {
	edgeAddr := freeAddr()
	ps := startPresenceOrigin(t, "origin-presence-edgerestart", "http://"+edgeAddr+"/.well-known/mercure")
	rw := startRestartableWorker(t, "wrangler-presence-restart", ps.origin.url, edgeAddr)
	pc := newPresenceChaos(t, "presence-edge-restart", func() string { return ps.origin.url })
	pc.add(8, "edge", rw.url, shardHeader)
	pc.add(2, "direct", func() string { return ps.origin.url }, func(int) http.Header { return nil })
	pc.wantAll(true)
	pc.churn(3 * time.Second)
	pc.settle("before the edge restart", rw.url())
	for round := range 2 {
		pc.churn(time.Second)
		rw.p.stop()
		reportFault("presence edge restart")
		rw.start()
		pc.churn(2 * time.Second)
		pc.settle(fmt.Sprintf("edge restart %d", round+1), rw.url())
	}
	pc.close()
	pc.check()
}

// TestChaosPresenceOriginKill: the origin (bolt) is killed with SIGKILL
// and started again on its address and file while clients churn; edge
// hubs re-send their reports, the index survives in the bolt file, the
// direct subscribers' old instance lapses.
func TestChaosPresenceOriginKill(t *testing.T) {
	edgeAddr := freeAddr()
	ps := startPresenceOrigin(t, "origin-presence-kill", "http://"+edgeAddr+"/.well-known/mercure")
	originURL := func() string { return ps.origin.url }
	rw := startRestartableWorker(t, "wrangler-presence-kill", ps.origin.url, edgeAddr)
	pc := newPresenceChaos(t, "presence-origin-kill", originURL)
	pc.add(8, "edge", rw.url, shardHeader)
	pc.add(3, "direct", originURL, func(int) http.Header { return nil })
	pc.wantAll(true)
	pc.churn(3 * time.Second)
	pc.settle("before the origin kill", rw.url())
	for round := range 2 {
		pc.churn(time.Second)
		syscall.Kill(-ps.origin.cmd.Process.Pid, syscall.SIGKILL)
		<-ps.origin.done
		reportFault("presence origin SIGKILL")
		pc.churn(time.Second) // edge clients come and go while the origin is down
		ps.restart(t)
		pc.churn(2 * time.Second)
		pc.settle(fmt.Sprintf("origin SIGKILL %d", round+1), rw.url())
	}
	pc.close()
	pc.check()
}

// TestChaosPresenceRedisFailover: two origins on one Redis; the worker
// reaches them through a proxy that switches to the survivor when one is
// killed with SIGKILL. The survivor takes the edge hubs' reports over and
// ends the dead origin's direct subscriptions when its lease lapses,
// exactly once.
func TestChaosPresenceRedisFailover(t *testing.T) {
	prefix := fmt.Sprintf("{e2e-presence-%d}:", time.Now().UnixNano())
	cleanRedis(t, prefix)
	edgeAddr := freeAddr()
	hubURL := "http://" + edgeAddr + "/.well-known/mercure"
	flags := func() []string {
		return append(presenceOriginFlags(hubURL), "--redis", "redis://127.0.0.1:6379/0", "--redis-prefix", prefix)
	}
	addrs := []string{strings.TrimPrefix(freeAddr(), "http://"), strings.TrimPrefix(freeAddr(), "http://")}
	origins := make([]*process, 2)
	for i := range origins {
		p, err := startOriginAt(fmt.Sprintf("origin-presence-redis-%d", i), addrs[i], flags()...)
		if err != nil {
			t.Fatal(err)
		}
		origins[i] = p
		t.Cleanup(func() { origins[i].stop() })
	}
	proxy, err := startFeedProxy(addrs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.close()
	var live sync.Mutex
	current := 1 // the follower and direct clients use the origin not behind the proxy first
	at := func(i int) func() string {
		return func() string { live.Lock(); defer live.Unlock(); return "http://" + addrs[i] }
	}
	rw := startRestartableWorker(t, "wrangler-presence-redis", proxy.url(), edgeAddr)
	pc := newPresenceChaos(t, "presence-redis", func() string { live.Lock(); defer live.Unlock(); return "http://" + addrs[current] })
	pc.add(6, "edge", rw.url, shardHeader)
	pc.add(2, "direct0", at(0), func(int) http.Header { return nil })
	pc.add(2, "direct1", at(1), func(int) http.Header { return nil })
	pc.wantAll(true)
	pc.churn(3 * time.Second)
	pc.settle("two origins on Redis", "http://"+addrs[1])
	for round, victim := range []int{0, 1} {
		survivor := 1 - victim
		live.Lock()
		current = survivor
		live.Unlock()
		pc.churn(time.Second)
		// The victim's direct clients stay away until it is back (their
		// subscriptions end when the dead origin's lease lapses).
		pc.want(fmt.Sprintf("direct%d-", victim), false)
		syscall.Kill(-origins[victim].cmd.Process.Pid, syscall.SIGKILL)
		<-origins[victim].done
		reportFault("presence redis origin SIGKILL")
		proxy.setTarget(addrs[survivor])
		proxy.cutMidFrame()
		pc.churn(2 * time.Second)
		pc.settle(fmt.Sprintf("redis origin %d SIGKILL (round %d)", victim, round+1), "http://"+addrs[survivor])
		p, err := startOriginAt(fmt.Sprintf("origin-presence-redis-%d", victim), addrs[victim], flags()...)
		if err != nil {
			t.Fatal(err)
		}
		origins[victim] = p
		pc.want(fmt.Sprintf("direct%d-", victim), true)
		pc.churn(2 * time.Second)
		pc.settle(fmt.Sprintf("redis origin %d back (round %d)", victim, round+1), "http://"+addrs[victim])
	}
	pc.close()
	pc.check()
}

// TestChaosPresenceFeedCuts: every connection from the worker to the
// origin (feed, reports, API forwarding) is cut in the middle of its
// bytes, again and again, while clients churn: reports are re-sent with
// their seq and applied once.
func TestChaosPresenceFeedCuts(t *testing.T) {
	edgeAddr := freeAddr()
	ps := startPresenceOrigin(t, "origin-presence-cuts", "http://"+edgeAddr+"/.well-known/mercure")
	proxy, err := startFeedProxy(strings.TrimPrefix(ps.origin.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.close()
	rw := startRestartableWorker(t, "wrangler-presence-cuts", proxy.url(), edgeAddr)
	pc := newPresenceChaos(t, "presence-cuts", func() string { return ps.origin.url })
	pc.add(10, "edge", rw.url, shardHeader)
	pc.wantAll(true)
	pc.churn(2 * time.Second)
	cuts := 0
	end := time.Now().Add(8 * time.Second)
	done := make(chan struct{})
	go func() {
		pc.churn(8 * time.Second)
		close(done)
	}()
	for time.Now().Before(end) {
		cuts += proxy.cutMidFrame()
		time.Sleep(time.Duration(100+rand.IntN(300)) * time.Millisecond)
	}
	<-done
	reportFault("presence feed cuts")
	t.Logf("%d connections marked for a cut", cuts)
	pc.settle("feed cuts", rw.url())
	// What the hubs' reporters went through.
	var requests, retries, resyncs float64
	for _, ip := range shardIPs(t, rw.url()) {
		_, st := hubOfIP(t, rw.url(), ip)
		if p, ok := st["presence"].(map[string]any); ok {
			requests += p["requests"].(float64)
			retries += p["retries"].(float64)
			resyncs += p["resyncs"].(float64)
		}
	}
	t.Logf("hub reporters: %.0f requests, %.0f re-sent after a cut, %.0f resyncs", requests, retries, resyncs)
	reportRow("presence feed cuts: reports/re-sent/resyncs", fmt.Sprintf("%.0f/%.0f/%.0f", requests, retries, resyncs))
	pc.close()
	pc.check()
}
