package hub_test

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/shared/mercure"
	"github.com/edge-sse/edge-sse/shared/topic"
	"github.com/edge-sse/edge-sse/shared/topic/topictest"
)

// The matching-cost scenario of the benchmarks: 10,000 subscribers and one
// event of 64 topics of 4 KB each (the origin's default --max-topics and
// --max-field-bytes).
const (
	costSubs      = 10000
	costTopics    = 64
	costTopicSize = 4096
)

// costCase is what the subscribers of a run hold.
type costCase struct {
	name string
	// specs returns subscriber i's selectors.
	specs func(c *topic.Compiler, i int) []topic.Spec
	// shared matches through a Registry as the server does; without it,
	// every subscriber runs its own selectors.
	shared bool
	// subs overrides costSubs (the unshared case is measured on fewer).
	subs int
}

var costCases = []costCase{
	{name: "topic=*", shared: true, specs: func(*topic.Compiler, int) []topic.Spec {
		return []topic.Spec{{Kind: topic.KindTopic, Expr: "*"}}
	}},
	{name: "costliest set, all the same", shared: true, specs: func(c *topic.Compiler, _ int) []topic.Spec {
		return costliest(c, 0)
	}},
	{name: "distinct templates, each its own", shared: true, specs: func(c *topic.Compiler, i int) []topic.Spec {
		// Every template with an automaton reads each byte once, so the
		// cheapest ones let the most distinct selectors into the hub's
		// budget: the most work per event.
		return []topic.Spec{{Kind: topic.KindTopic, Expr: fmt.Sprintf("{+v%d}", i)}}
	}},
	{name: "costliest set, unshared", subs: 2, specs: func(c *topic.Compiler, _ int) []topic.Spec {
		return costliest(c, 0)
	}},
}

// costliestBase caches topictest.CostliestSet for the benchmark's limits.
var costliestBase []topic.Spec

// costliest returns the costliest Set of subscriber i: the same program
// for every i, with variable names of its own so that each is a distinct
// selector.
func costliest(c *topic.Compiler, i int) []topic.Spec {
	if costliestBase == nil {
		costliestBase = topictest.CostliestSet(c, "v00000x")
	}
	specs := make([]topic.Spec, len(costliestBase))
	for j, s := range costliestBase {
		s.Expr = strings.ReplaceAll(s.Expr, "v00000", fmt.Sprintf("v%05d", i))
		specs[j] = s
	}
	return specs
}

// costResult is one measured case.
type costResult struct {
	perEvent time.Duration
	subs     int
	refused  int
	hub      topic.RegistryStats
}

// runCost measures the fan-out of one event to the subscribers of cc
// through the hub's real publish path. A subscriber whose Set the hub's
// budget refuses holds the first subscriber's Set instead: the costliest
// it is allowed.
func runCost(b *testing.B, cc costCase) costResult {
	c, err := topic.NewCompiler(topic.Config{HubURL: "https://example.com/.well-known/mercure", MaxTopicLen: costTopicSize})
	if err != nil {
		b.Fatal(err)
	}
	reg := topic.NewRegistry(0)
	h := hub.New(hub.NewMemoryHistory(16))
	defer h.Close()
	compile := c
	if cc.shared {
		compile = c.Shared(reg)
		h.ShareMatching(c, reg)
	}
	n := cc.subs
	if n == 0 {
		n = costSubs
	}
	admitted := make(map[string][]topic.Spec)
	res := costResult{subs: n}
	subs := make([]*hub.Subscriber, n)
	for i := range subs {
		// Sets already tried are not compiled again: a refused one is
		// not interned.
		want := cc.specs(c, i)
		key := fmt.Sprint(want)
		specs, tried := admitted[key]
		if !tried {
			specs = want
		}
		set, err := compile.NewSet(specs...)
		for !tried && len(specs) > 1 && err != nil {
			// Fill what the hub's budget has left with fewer selectors.
			specs = specs[:len(specs)-1]
			set, err = compile.NewSet(specs...)
		}
		if err != nil {
			// Refused: it holds the first subscriber's Set.
			specs = cc.specs(c, 0)
			set, err = compile.NewSet(specs...)
		}
		if fmt.Sprint(specs) != key {
			res.refused++
		}
		admitted[key] = specs
		if err != nil {
			b.Fatal(err)
		}
		defer set.Release()
		subs[i] = hub.NewSubscriber(4, func(e *hub.Event) bool {
			if t := e.Prepared(); t != nil {
				return mercure.CanReceive(set, nil, t, e.Private)
			}
			return set.MatchAny(e.Topics)
		})
		if _, err := h.Subscribe(subs[i], ""); err != nil {
			b.Fatal(err)
		}
	}
	res.hub = reg.Stats()
	topics := topictest.Topics(costTopics, costTopicSize)
	var delivered uint64
	b.ResetTimer()
	for i := range b.N {
		before := h.Stats().Delivered
		publishAndWaitFanout(b, h, &hub.Event{ID: fmt.Sprint(i), Topics: topics, Data: "x"})
		b.StopTimer()
		delivered = h.Stats().Delivered - before
		for _, s := range subs {
			for len(s.Events()) > 0 {
				<-s.Events()
			}
		}
		b.StartTimer()
	}
	_ = delivered
	res.perEvent = b.Elapsed() / time.Duration(b.N)
	return res
}

// publishAndWaitFanout publishes e and waits until the fan-out has offered
// it to every shard.
func publishAndWaitFanout(tb testing.TB, h *hub.Hub, e *hub.Event) {
	if err := h.Publish(e); err != nil {
		tb.Fatal(err)
	}
	for h.LastEventID() != e.ID {
		time.Sleep(10 * time.Microsecond)
	}
}

// BenchmarkFanoutMatchCost is one event to 10,000 subscribers per case.
func BenchmarkFanoutMatchCost(b *testing.B) {
	for _, cc := range costCases {
		b.Run(cc.name, func(b *testing.B) { runCost(b, cc) })
	}
}

// TestMatchCostReport prints the origin's fan-out cost of one event with 64
// topics of 4 KB to 10,000 subscribers holding the costliest selectors the
// default limits allow, against the same with topic=*, measured in this
// run. Run it with
//
//	go test -run TestMatchCostReport -bench . -v ./origin/hub
//
// or EDGE_SSE_BENCH=1. It fails when a shared case costs 10× topic=* or
// more.
func TestMatchCostReport(t *testing.T) {
	if f := flag.Lookup("test.bench"); (f == nil || f.Value.String() == "") && os.Getenv("EDGE_SSE_BENCH") == "" {
		t.Skip("benchmark report: run with -bench or EDGE_SSE_BENCH=1")
	}
	results := make([]costResult, len(costCases))
	for round := 0; round < 3; round++ {
		// Rounds interleave the cases; each keeps its best, so a noisy
		// neighbour slows no case more than the others.
		for i, cc := range costCases {
			var r costResult
			testing.Benchmark(func(b *testing.B) { r = runCost(b, cc) })
			if results[i].perEvent == 0 || r.perEvent < results[i].perEvent {
				results[i] = r
			}
		}
	}
	base := results[0].perEvent
	t.Logf("origin fan-out, one event of %d topics × %d bytes", costTopics, costTopicSize)
	t.Logf("%-32s %8s %8s %10s %14s %12s %9s", "case", "subs", "refused", "distinct", "hub cost", "per event", "× topic=*")
	for i, cc := range costCases {
		r := results[i]
		per := r.perEvent
		note := ""
		if r.subs != costSubs {
			// Unshared matching costs the same for every subscriber.
			per = per * time.Duration(costSubs) / time.Duration(r.subs)
			note = fmt.Sprintf(" (measured on %d, ×%d)", r.subs, costSubs/r.subs)
		}
		t.Logf("%-32s %8d %8d %10d %14d %12v %9.1f%s", cc.name, costSubs, r.refused, r.hub.Selectors, r.hub.Cost, per.Round(time.Microsecond), float64(per)/float64(base), note)
		if cc.shared && i > 0 && per >= 10*base {
			t.Errorf("%s: %v per event, %.1f× topic=* (%v); want < 10×", cc.name, per, float64(per)/float64(base), base)
		}
	}
}
