package bench

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/edge-sse/edge-sse/worker/edge"
)

// eventLegs is where one event's time to its first edge client went:
// to the hub (origin, the feed's connection and workerd's read of it, up
// to the feed pump), in the pump (the object's thread busy elsewhere),
// Go's take and decode up to its fan-out, the fan-out itself, and from
// the fan-out's start to the first client's receipt (the write's way out
// of workerd's stream pump and the socket).
type eventLegs struct {
	sent                   int64 // UnixNano
	total                  time.Duration
	toPump, inPump, decode time.Duration
	fanout, toClient       time.Duration
	events, writes         int
}

// traceLegs splits each published event's delay to its first client (lo,
// by send time) along the hub's trace. ids maps send time to event id;
// the events were published in send order, one at a time, so a fan-out
// whose newest event is the k-th covers the Events before it too.
// Events the trace no longer holds are left out.
func traceLegs(trace []edge.BatchTrace, ids map[int64]string, lo map[int64]time.Duration) []eventLegs {
	sent := slices.Sorted(maps.Keys(ids))
	index := make(map[string]int, len(sent))
	for i, s := range sent {
		index[ids[s]] = i
	}
	dur := func(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
	var out []eventLegs
	for _, b := range trace {
		k, ok := index[b.LastID]
		if !ok {
			continue
		}
		for i := max(0, k-b.Events+1); i <= k; i++ {
			s := sent[i]
			first, ok := lo[s]
			if !ok {
				continue
			}
			sentMs := float64(s) / 1e6
			arrived := max(b.ArrivedMs, sentMs)
			out = append(out, eventLegs{
				sent:     s,
				total:    first,
				toPump:   dur(arrived - sentMs),
				inPump:   dur(b.TakenMs - arrived),
				decode:   dur(b.StartMs - b.TakenMs),
				fanout:   dur(b.DoneMs - b.StartMs),
				toClient: first - dur(b.StartMs-sentMs),
				events:   b.Events,
				writes:   b.Writes,
			})
		}
	}
	return out
}

// legsSummary prints the p50 and p99 of each leg over every traced event.
func legsSummary(legs []eventLegs) string {
	if len(legs) == 0 {
		return ""
	}
	var parts []string
	for _, l := range []struct {
		name string
		get  func(eventLegs) time.Duration
	}{
		{"to the pump", func(e eventLegs) time.Duration { return e.toPump }},
		{"in the pump", func(e eventLegs) time.Duration { return e.inPump }},
		{"take+decode", func(e eventLegs) time.Duration { return e.decode }},
		{"fan-out", func(e eventLegs) time.Duration { return e.fanout }},
		{"fan-out start→first client", func(e eventLegs) time.Duration { return e.toClient }},
	} {
		var d []time.Duration
		for _, e := range legs {
			d = append(d, l.get(e))
		}
		slices.Sort(d)
		parts = append(parts, fmt.Sprintf("%s %s / %s", l.name, ms(pct(d, 50)), ms(pct(d, 99))))
	}
	return fmt.Sprintf("%s  (%d events traced)", strings.Join(parts, ", "), len(legs))
}

// slowestLegs prints the legs of the k events whose first client waited
// longest, in send order, seconds since start into the run.
func slowestLegs(legs []eventLegs, k int, start int64) string {
	l := slices.Clone(legs)
	slices.SortFunc(l, func(a, b eventLegs) int { return int(b.total - a.total) })
	l = l[:min(k, len(l))]
	slices.SortFunc(l, func(a, b eventLegs) int { return int(a.sent - b.sent) })
	var parts []string
	for _, e := range l {
		parts = append(parts, fmt.Sprintf("%.2f s (%s): %s = %s + %s + %s, then %s to the first client (fan-out of %d events, %d writes, %s)",
			float64(e.sent-start)/1e9, time.Unix(0, e.sent).Format("15:04:05.000"), ms(e.total), ms(e.toPump), ms(e.inPump), ms(e.decode), ms(e.toClient), e.events, e.writes, ms(e.fanout)))
	}
	return strings.Join(parts, "; ")
}

// writeLegs writes every traced event's legs to path as tab-separated
// milliseconds, one event a line in send order, for lining them up with
// other records of the run (a perf profile with wall-clock times).
func writeLegs(path string, legs []eventLegs) error {
	var b strings.Builder
	b.WriteString("sent\ttotal_ms\tto_pump_ms\tin_pump_ms\tdecode_ms\tfanout_ms\tto_client_ms\tevents\twrites\n")
	f := func(d time.Duration) float64 { return float64(d) / 1e6 }
	for _, e := range legs {
		fmt.Fprintf(&b, "%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%d\n", time.Unix(0, e.sent).Format("15:04:05.000"),
			f(e.total), f(e.toPump), f(e.inPump), f(e.decode), f(e.fanout), f(e.toClient), e.events, e.writes)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
