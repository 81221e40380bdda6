//go:build chaos

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/shared/sse"
	"github.com/edge-sse/edge-sse/shared/topic"
	"github.com/edge-sse/edge-sse/shared/topic/topictest"
)

// Issue 15 §1: a subscriber's selectors must not slow anyone else down.
// Attackers hold the costliest selectors the hub's default limits allow
// (the same Set many times, and as many distinct templates as the hub's
// budget takes; the rest are refused with 503) while a normal subscriber's
// publish→receive latency stays within 2× of its baseline, measured in the
// same test without attackers, at the origin and through the edge. Every
// event has 64 topics of 4 KB that the attackers' templates read to the
// last byte. Before the fix one such attacker cost a tenth of a second per
// topic of every event.
const (
	mcAttackersSame     = 40
	mcAttackersDistinct = 10
	mcEvents            = 15
	mcTopics            = 64
	mcTopicBytes        = 4096
)

func TestChaosMatchCost(t *testing.T) {
	c, err := topic.NewCompiler(topic.Config{HubURL: "http://localhost/.well-known/mercure"})
	if err != nil {
		t.Fatal(err)
	}
	costliest := topictest.CostliestSet(c, "v")
	long := topictest.Topics(mcTopics-1, mcTopicBytes)
	for _, target := range []struct{ name, base, limit string }{
		{"origin", sys.originURL, "--max-hub-cost"},
		{"edge", sys.edgeURL, "MAX_HUB_COST"},
	} {
		t.Run(target.name, func(t *testing.T) {
			normal := fmt.Sprintf("https://example.com/matchcost/%s/%s", chaosRun, target.name)
			l := openLatencySub(t, target.base+"/.well-known/mercure?topic="+url.QueryEscape(normal))
			defer l.close()
			base := l.measure(t, normal, long, target.name+"-base")

			var attackers []*drainSub
			defer func() {
				for _, a := range attackers {
					a.close()
				}
			}()
			statuses := map[int]int{}
			refusal := ""
			q := url.Values{}
			for _, s := range costliest {
				q.Add("topic", s.Expr)
			}
			open := func(query string) {
				a, status, body := openDrainSub(target.base + "/.well-known/mercure?" + query)
				statuses[status]++
				if a != nil {
					attackers = append(attackers, a)
				} else if status == http.StatusServiceUnavailable {
					refusal = body
				}
			}
			for range mcAttackersSame {
				open(q.Encode())
			}
			for i := range mcAttackersDistinct {
				open("topic=" + url.QueryEscape(fmt.Sprintf("{+%s%d}", chaosRun, i)))
			}
			if statuses[http.StatusOK] < mcAttackersSame || statuses[http.StatusServiceUnavailable] == 0 || !strings.Contains(refusal, target.limit) {
				t.Fatalf("attackers: statuses %v, refusal %q; want the %d identical ones in and distinct ones past the budget refused naming %s",
					statuses, refusal, mcAttackersSame, target.limit)
			}
			attack := l.measure(t, normal, long, target.name+"-attack")
			t.Logf("%s: %d attackers held (%v), normal subscriber's median latency %v without, %v with",
				target.name, len(attackers), statuses, base, attack)
			reportRow("matchcost "+target.name+" latency base/attacked", fmt.Sprintf("%v / %v (%d attackers)", base, attack, len(attackers)))
			if attack > 2*base {
				t.Errorf("%s: median latency %v with attackers, %v without: want within 2×", target.name, attack, base)
			}
		})
	}
}

// latencySub is the normal subscriber: it notes when each event arrives.
type latencySub struct {
	cancel context.CancelFunc
	mu     sync.Mutex
	got    map[string]time.Time
	done   chan struct{}
}

func openLatencySub(t *testing.T, u string) *latencySub {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("normal subscriber: %v %v", err, resp)
	}
	l := &latencySub{cancel: cancel, got: map[string]time.Time{}, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		defer resp.Body.Close()
		p := sse.NewParser(resp.Body, sse.Config{})
		for p.Next() {
			if p.Kind() == sse.KindEvent {
				l.mu.Lock()
				l.got[p.Event().ID] = time.Now()
				l.mu.Unlock()
			}
		}
	}()
	return l
}

func (l *latencySub) close() { l.cancel(); <-l.done }

// measure publishes mcEvents events, one at a time, each to the normal
// topic and the long ones, and returns the median time from publish to
// arrival.
func (l *latencySub) measure(t *testing.T, normal string, long []string, prefix string) time.Duration {
	t.Helper()
	var lat []time.Duration
	for i := range mcEvents {
		id := fmt.Sprintf("%s-%s-%d", chaosRun, prefix, i)
		form := url.Values{"topic": append([]string{normal}, long...), "id": {id}, "data": {"x"}}
		sent := time.Now()
		if _, err := tryPublish(sys.originURL, form); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			l.mu.Lock()
			at, ok := l.got[id]
			l.mu.Unlock()
			if ok {
				lat = append(lat, at.Sub(sent))
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: event %s not received within 20 s", prefix, id)
			}
			time.Sleep(time.Millisecond)
		}
	}
	slices.Sort(lat)
	return lat[len(lat)/2]
}

// drainSub is an attacker: it holds its stream and discards what comes.
type drainSub struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// openDrainSub opens a stream; on a refusal it returns nil, the status
// and the body.
func openDrainSub(u string) (*drainSub, int, string) {
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, 0, err.Error()
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		return nil, resp.StatusCode, string(b)
	}
	d := &drainSub{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(d.done)
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
	}()
	return d, resp.StatusCode, ""
}

func (d *drainSub) close() { d.cancel(); <-d.done }
