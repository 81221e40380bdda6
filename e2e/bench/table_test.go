package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Targets of issue 5.
const (
	targetWasmPerStream = 16 << 10  // bytes of Wasm linear memory per held stream
	targetDeliveries    = 100_000   // deliveries/s per hub object
	targetBundleGzip    = 3_000_000 // bytes: the free plan's compressed size limit ("3 MB")
)

// Targets of issue 12.
const (
	targetFloorRatio  = 1.3                    // hub CPU per client write / the pure-JS floor's
	targetAddedP50    = 5 * time.Millisecond   // publish→receive added by the edge
	targetAddedP99    = 40 * time.Millisecond  //
	targetSteadyRate  = 1000                   // events/s of the sustained row with targets
	targetSteadyShare = 0.99                   // of its deliveries received
	targetSteadyP99   = 100 * time.Millisecond //
	targetAnswerP99   = 50 * time.Millisecond  // stats and a new subscriber's 200 during a burst
)

type row struct{ num, what, value, target, verdict string }

func (bn *bench) table() string {
	r := bn.res
	var rows []row
	add := func(num, what, value, target, verdict string) {
		rows = append(rows, row{num, what, value, target, verdict})
	}
	failed := func(phase string) bool {
		if err := r.errs[phase]; err != nil {
			add("", phase+" FAILED", firstLine(err.Error()), "", "")
			return true
		}
		return false
	}

	for _, w := range r.warnings {
		add("!", "WARNING", w, "", "")
	}

	// 1. Edge memory.
	failed("edge memory")
	for i, m := range r.edgeMem {
		num := ""
		if i == 0 {
			num = "1"
		}
		add(num, fmt.Sprintf("edge: Wasm memory per held stream, N=%d", m.n),
			fmt.Sprintf("%s  (+%s for %d; memory grows in steps)", size(m.wasm), size(m.wasmTot), m.n),
			"≤ "+size(targetWasmPerStream), verdict(m.wasm <= targetWasmPerStream))
		add("", fmt.Sprintf("edge: workerd RSS per held stream, N=%d", m.n),
			fmt.Sprintf("%s  (worker %s + dev proxy %s; +%s for %d)", size(m.rss), size(m.rss-m.rssProxy), size(m.rssProxy), size(m.rssTot), m.n), "", "")
	}

	// 2. Naive relay.
	if bn.p.runs("naive memory") && !failed("naive memory") && r.naiveMem.n > 0 {
		m := r.naiveMem
		add("2", fmt.Sprintf("naive relay: Wasm memory per held stream, N=%d", m.n),
			fmt.Sprintf("%s  (%d instances; idle instance %s)", size(m.wasm), m.subscribers, size(r.naiveFloor)), "", "")
		add("", fmt.Sprintf("naive relay: workerd RSS per held stream, N=%d", m.n),
			fmt.Sprintf("%s  (worker %s + dev proxy %s; +%s for %d)", size(m.rss), size(m.rss-m.rssProxy), size(m.rssProxy), size(m.rssTot), m.n), "", "")
		for _, e := range r.edgeMem {
			if e.rss > 0 {
				add("", fmt.Sprintf("ratio naive/edge RSS per stream (edge N=%d)", e.n), fmt.Sprintf("%.0f×", m.rss/e.rss), "", "")
			}
			if e.wasm > 0 {
				add("", fmt.Sprintf("ratio naive/edge Wasm per stream (edge N=%d)", e.n), fmt.Sprintf("%.0f×", m.wasm/e.wasm), "", "")
			}
		}
	}

	bn.perfRows(add, failed, &bn.res, "")
	if bn.before != nil {
		bfail := func(phase string) bool {
			if err := bn.before.res.errs[phase]; err != nil {
				add("", "main: "+phase+" FAILED", firstLine(err.Error()), "", "")
				return true
			}
			return false
		}
		bn.perfRows(add, bfail, &bn.before.res, "main: ")
	}

	// 5. Bundle.
	if bn.p.runs("bundle") && !failed("bundle") {
		add("5", "worker/build/app.wasm, gzip -9",
			fmt.Sprintf("%s  (%s bytes; raw %s; with entry.mjs + wasm_exec.js %s)",
				mb(r.edgeGz), count(float64(r.edgeGz)), mb(r.edgeRaw), mb(r.edgeBundleGz)),
			"< 3 MB", verdict(r.edgeBundleGz < targetBundleGzip))
		add("", "naive worker app.wasm, gzip -9", fmt.Sprintf("%s  (raw %s)", mb(r.naiveGz), mb(r.naiveRaw)), "", "")
	}

	// 6. Presence (presence_test.go).
	rows = append(rows, bn.presenceRows()...)

	return renderTable("edge-sse bench", "clients and probes reach the workers "+clientsVia(), bn.loadStart, bn.root, rows)
}

// renderTable lays rows out in aligned columns under a heading naming the
// run: title, date, Go, CPUs, the load average at start (loadStart) and
// now, and the wrangler and workerd of the checkout at root.
func renderTable(title, note, loadStart, root string, rows []row) string {
	w := [4]int{1, 0, 0, 0}
	for _, x := range rows {
		w[0] = max(w[0], len([]rune(x.num)))
		w[1] = max(w[1], len([]rune(x.what)))
		w[2] = max(w[2], len([]rune(x.value)))
		w[3] = max(w[3], len([]rune(x.target)))
	}
	pad := func(s string, n int) string { return s + strings.Repeat(" ", max(0, n-len([]rune(s)))) }
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s: %s, %s, %d CPUs (load average %s at start, %s at end), wrangler %s, workerd %s\n",
		title, time.Now().Format("2006-01-02 15:04"), runtime.Version(), runtime.NumCPU(), loadStart, loadAverage(),
		npmVersion(root, "wrangler"), npmVersion(root, "workerd"))
	if note != "" {
		b.WriteString(note + "\n")
	}
	line := strings.Repeat("─", w[0]+w[1]+w[2]+w[3]+16)
	b.WriteString(line + "\n")
	fmt.Fprintf(&b, "%s  %s  %s  %s  %s\n", pad("#", w[0]), pad("measurement", w[1]), pad("value", w[2]), pad("target", w[3]), "")
	b.WriteString(line + "\n")
	for _, x := range rows {
		fmt.Fprintf(&b, "%s  %s  %s  %s  %s\n", pad(x.num, w[0]), pad(x.what, w[1]), pad(x.value, w[2]), pad(x.target, w[3]), x.verdict)
	}
	b.WriteString(line + "\n")
	return b.String()
}

// report adds the headline numbers to the benchmark's result line.
func (bn *bench) report(b *testing.B) {
	r := bn.res
	b.ReportMetric(0, "ns/op")
	if n := len(r.edgeMem); n > 0 {
		m := r.edgeMem[n-1]
		b.ReportMetric(m.wasm, "edge-wasm-B/stream")
		b.ReportMetric(m.rss, "edge-rss-B/stream")
	}
	if r.naiveMem.n > 0 {
		b.ReportMetric(r.naiveMem.rss, "naive-rss-B/stream")
	}
	if len(r.latEdge) == 2 {
		b.ReportMetric(float64(r.latEdge[0]-r.latDirect[0])/1e6, "edge-added-p50-ms")
		b.ReportMetric(float64(r.latEdge[1]-r.latDirect[1])/1e6, "edge-added-p99-ms")
	}
	if r.burstRate > 0 {
		b.ReportMetric(r.burstRate, "deliveries/s")
	}
	if r.edgeGz > 0 {
		b.ReportMetric(float64(r.edgeGz), "wasm-gzip-B")
	}
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func size(b float64) string {
	switch {
	case b < 0:
		return "-" + size(-b)
	case b < 10<<10:
		return fmt.Sprintf("%.0f B", b)
	case b < 10<<20:
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	default:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	}
}

func mb(b int64) string { return fmt.Sprintf("%.2f MB", float64(b)/1e6) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// count formats n with thousands separators.
func count(n float64) string {
	s := fmt.Sprintf("%.0f", n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 110 {
		s = s[:110] + "…"
	}
	return s
}

func npmVersion(root, pkg string) string {
	var v struct{ Version string }
	b, err := os.ReadFile(filepath.Join(root, "node_modules", pkg, "package.json"))
	if err != nil || json.Unmarshal(b, &v) != nil {
		return "?"
	}
	return v.Version
}

// perfRows adds the rows of the latency, burst, floor, sustained and
// answering measurements of r, each row's name prefixed with tag.
func (bn *bench) perfRows(add func(num, what, value, target, verdict string), failed func(string) bool, r *results, tag string) {
	// 3. Latency.
	if bn.p.runs("latency") && (!failed("latency") || len(r.latEdge) == 2) {
		if len(r.latEdge) == 2 {
			load := fmt.Sprintf("%d subscribers per path × %d events", r.latN, r.latEvents)
			add("3", tag+"publish→receive, direct from origin, p50 / p99",
				fmt.Sprintf("%s / %s  (%s)", ms(r.latDirect[0]), ms(r.latDirect[1]), load), "", "")
			add("", tag+"publish→receive, through the edge, p50 / p99",
				fmt.Sprintf("%s / %s", ms(r.latEdge[0]), ms(r.latEdge[1])), "", "")
			pp := func(d []time.Duration) string {
				if len(d) != 2 {
					return "?"
				}
				return ms(d[0]) + " / " + ms(d[1])
			}
			if len(r.latFirst) == 2 {
				leg := "origin → hub → one write"
				if viaProxy() {
					leg += " → proxy"
				}
				add("", tag+"  per event: first edge client; last − first",
					fmt.Sprintf("%s (feed leg: %s; first direct client %s); %s (fan-out leg)",
						pp(r.latFirst), leg, pp(r.latDirectFirst), pp(r.latSpread)), "", "")
			}
			if r.latSlowest != "" {
				add("", tag+"  slowest events at the first edge client", fmt.Sprintf("%s  (the hub's Go collected %d times during the run; live heap %.1f MiB; JS values held by Go %.0f → %.0f)", r.latSlowest, r.latGC, r.latHeapLive/(1<<20), r.latJSValues[0], r.latJSValues[1]), "", "")
			}
			if r.latLegs != "" {
				add("", tag+"  legs from the hub's trace, p50 / p99", r.latLegs, "", "")
				add("", tag+"  slowest traced events: total = to pump + in pump + take/decode", r.latSlowLegs, "", "")
			}
			if w := r.latFeedWaits; w != nil {
				add("", tag+"  feed pump: event's wait for the hub's thread", w.String(), "", "")
			}
			if len(r.latFloor) == 2 {
				add("", tag+"publish→receive, pure-JS floor object, p50 / p99",
					fmt.Sprintf("%s  (at the same ticks: a POST to the floor object, written at once to %d streams, %d of them read here %s; %d other streams held)",
						pp(r.latFloor), r.latN, r.latFloorN, clientsVia(), r.latFloorHeld), "", "")
				if len(r.latFloorDirect) == 2 {
					add("", tag+"  floor streams straight from its workerd (no dev proxy)", pp(r.latFloorDirect), "", "")
				}
				if len(r.latFloorFirst) == 2 {
					add("", tag+"  floor per event: first client; last − first", pp(r.latFloorFirst)+"; "+pp(r.latFloorSpread), "", "")
					add("", tag+"  floor's slowest events at the first client", r.latFloorSlowest, "", "")
				}
				add("", tag+"edge minus floor, p50 / p99", fmt.Sprintf("%s / %s", ms(r.latEdge[0]-r.latFloor[0]), ms(r.latEdge[1]-r.latFloor[1])), "", "")
			}
			p50, p99 := r.latEdge[0]-r.latDirect[0], r.latEdge[1]-r.latDirect[1]
			add("", tag+"edge minus direct, p50 / p99", fmt.Sprintf("%s / %s", ms(p50), ms(p99)),
				fmt.Sprintf("≤ %s / %s", ms(targetAddedP50), ms(targetAddedP99)), verdict(p50 <= targetAddedP50 && p99 <= targetAddedP99))
		}
	}

	// 4. Deliveries per second.
	if bn.p.runs("burst") && (!failed("burst") || r.burstDur > 0) {
		if r.burstDur > 0 {
			add("4", tag+"deliveries/s, one hub object",
				fmt.Sprintf("%s/s  (%d clients × %d events = %s received in %s; best 1 s: %s/s)",
					count(r.burstRate), r.burstClients, r.burstEvents, count(float64(r.burstReceived)), secs(r.burstDur), count(r.burstPeak)),
				"≥ "+count(targetDeliveries)+"/s", verdict(r.burstDone && r.burstRate >= targetDeliveries))
			add("", tag+"  hub deliveries counter over the burst",
				fmt.Sprintf("+%s incl. heartbeats, dropped %.0f; hub answered %d of %d stats polls during the burst; publishing took %s",
					count(r.burstDeliveries), r.burstDropped, r.hubAnswers, r.hubPolls, secs(r.burstPublish)), "", "")
			if r.burstBatches > 0 {
				add("", tag+"  hub fan-outs over the burst",
					fmt.Sprintf("%s events in %s fan-out rounds (%.1f events per round); %s stream writes (%.1f deliveries per write)",
						count(r.burstEventsHub), count(r.burstBatches), r.burstEventsHub/r.burstBatches,
						count(r.burstWrites), r.burstDeliveries/max(r.burstWrites, 1)), "", "")
			}
			add("", tag+"  CPU during the burst (cores, of "+fmt.Sprint(runtime.NumCPU())+")",
				fmt.Sprintf("worker's workerd %.2f (busiest thread %.2f), dev proxy %.2f, wrangler node %.2f, origin %.2f, bench %.2f",
					r.cpuWorkerd, r.cpuHottest, r.cpuProxy, r.cpuLauncher, r.cpuOrigin, r.cpuBench), "", "")
			add("", tag+"  CPU of the whole machine during the burst",
				fmt.Sprintf("%.2f busy; processes this run did not start %.2f (busiest: %s %.2f)",
					r.cpuMachine, r.cpuOther, r.cpuOtherTop, r.cpuOtherTopCores), "", "")
			// 4a. CPU per client write against the pure-JS floor.
			if f := r.floor; f.writes > 0 && r.burstWrites > 0 {
				hub := r.cpuWorkerSecs / r.burstWrites
				ratio := hub / f.perWrite()
				add("4a", tag+"CPU per client write, hub / pure-JS floor",
					fmt.Sprintf("%.2f×  (hub %s: %.2f s of the worker's workerd / %s writes, %s per delivery; floor %s: %.2f s / %s writes, %d fan-outs %s apart, each %d chunks × %d clients, %d events × %d B a chunk)",
						ratio, us(hub), r.cpuWorkerSecs, count(r.burstWrites), us(r.cpuWorkerSecs/max(r.burstDeliveries, 1)), us(f.perWrite()), f.cpuSecs, count(f.writes),
						f.fanouts, ms(f.interval), f.writes1, f.clients, f.events, f.eventBytes),
					"", "")
				// The target is read over the CPU rounds: the bursts after
				// the first, each beside the floor's run of its fan-outs,
				// no answer probes in either (answers_test.go).
				hubAll, hubLo, hubHi := perWrite(r.cpuBursts)
				floorAll, floorLo, floorHi := perWrite(f.cpuRuns)
				if hubAll > 0 && floorAll > 0 {
					add("", tag+"  over every burst and floor run",
						fmt.Sprintf("%.2f×  (hub %s over %d bursts, each %s–%s; floor %s over %d runs, each %s–%s; the first of each with answer probes)",
							hubAll/floorAll, us(hubAll), len(r.cpuBursts), us(hubLo), us(hubHi), us(floorAll), len(f.cpuRuns), us(floorLo), us(floorHi)), "", "")
				}
				if hubWarm, _, _ := perWrite(afterFirst(r.cpuBursts)); hubWarm > 0 {
					floorWarm, _, _ := perWrite(afterFirst(f.cpuRuns))
					ratio := hubWarm / floorWarm
					add("", tag+"  the CPU rounds (target)",
						fmt.Sprintf("%.2f×  (hub %s over %d bursts after the first, floor %s over its %d runs of the same fan-outs, each run right after its burst; no answer probes)",
							ratio, us(hubWarm), len(r.cpuBursts)-1, us(floorWarm), len(f.cpuRuns)-1),
						fmt.Sprintf("≤ %.1f×", targetFloorRatio), verdict(ratio <= targetFloorRatio))
					if r.perfHub.total > 0 && r.perfFloor.total > 0 {
						if r.perfHub.named {
							add("", tag+"  by what for, the object's thread (perf stacks)",
								perfRow(r.perfHub, r.perfFloor, perfPurposes, func(s perfSplit) map[string]int { return s.purposes }), "", "")
						}
						add("", tag+"  by code, the object's thread (perf)",
							perfRow(r.perfHub, r.perfFloor, perfKinds, func(s perfSplit) map[string]int { return s.kinds }), "", "")
					}
					hubHot, hubRest := hotPerWrite(afterFirst(r.cpuBursts))
					floorHot, floorRest := hotPerWrite(afterFirst(f.cpuRuns))
					add("", tag+"  the CPU rounds: the object's thread; the others",
						fmt.Sprintf("hub %s; %s a write, floor %s; %s  (the busiest thread of the worker's workerd: the object's JavaScript and Wasm, and the front door's; the others: V8's background threads and workerd's own)",
							us(hubHot), us(hubRest), us(floorHot), us(floorRest)), "", "")
				}
			}
			// 6. Answering during the burst.
			if len(r.answerStats) > 0 || len(r.answerSubs) > 0 {
				p := func(d []time.Duration) (string, time.Duration) {
					if len(d) == 0 {
						return "none", time.Hour
					}
					return fmt.Sprintf("p50 %s, p99 %s (%d)", ms(pct(d, 50)), ms(pct(d, 99)), len(d)), pct(d, 99)
				}
				st, st99 := p(r.answerStats)
				sb, sb99 := p(r.answerSubs)
				add("6", tag+"during the burst: stats answer; new subscriber's 200",
					fmt.Sprintf("%s; %s; %d failed  (n in brackets; one of each at a time, %s apart, over %d bursts)", st, sb, r.answerFail, ms(answerEvery), r.answerRounds),
					"p99 ≤ "+ms(targetAnswerP99), verdict(st99 <= targetAnswerP99 && sb99 <= targetAnswerP99 && r.answerFail == 0))
				if len(r.answerHealth) > 0 {
					h, _ := p(r.answerHealth)
					add("", tag+"  /healthz beside them (the isolate, not the hub object)", h, "", "")
				}
				if f := r.floor; len(f.answerStats) > 0 || len(f.answerSubs) > 0 {
					fst, _ := p(f.answerStats)
					fsb, _ := p(f.answerSubs)
					bound := "no byte bound"
					if f.sliceBytes > 0 {
						bound = fmt.Sprintf("or %d KiB", f.sliceBytes>>10)
					}
					add("", tag+"  the same for the pure-JS floor object (row 4a's writes)",
						fmt.Sprintf("%s; %s; %d failed  (slices of %d writes %s, a 0 ms timer between; over %d runs)", fst, fsb, f.answerFail, f.slice, bound, f.probed), "", "")
				}
			}
		}
	}

	// 4b. Sustained deliveries/s at a fixed publish rate.
	if bn.p.runs("steady") {
		failed("steady")
		for i, st := range r.steadies {
			if len(st.lat) == 0 {
				continue
			}
			num := ""
			if i == 0 {
				num = "4b"
			}
			share := float64(st.received) / float64(max(1, st.events*st.clients))
			target, v := "≥ "+count(targetDeliveries)+"/s", verdict(st.done && st.delivered >= targetDeliveries)
			if st.rate == targetSteadyRate {
				target = fmt.Sprintf("≥ %.0f%%, p99 ≤ %s", targetSteadyShare*100, ms(targetSteadyP99))
				v = verdict(share >= targetSteadyShare && st.lat[1] <= targetSteadyP99)
			}
			what := map[string]string{
				"":      "sustained deliveries/s, one hub object",
				"sized": "  the hub at the sizing formula's clients",
				"floor": "  the pure-JS floor object, same pattern",
			}[st.kind]
			add(num, tag+what,
				fmt.Sprintf("%s/s delivered of %s/s offered, %.1f%% received  (%d events/s × %d clients for %d s; publish→receive p50 %s, p99 %s, max %s; load %s)",
					count(st.delivered), count(st.offered), share*100, st.rate, st.clients, bn.p.steadySecs,
					ms(st.lat[0]), ms(st.lat[1]), ms(st.lat[2]), st.load), target, v)
			if st.fanouts > 0 {
				add("", tag+"  hub fan-outs over the run",
					fmt.Sprintf("%s events in %s fan-out rounds (%.1f events per round), %s stream writes",
						count(float64(st.events)), count(st.fanouts), float64(st.events)/st.fanouts, count(st.writes)), "", "")
			}
		}
	}
}

func us(sec float64) string { return fmt.Sprintf("%.1f µs", sec*1e6) }

// clientsVia says how the bench's clients reach the workers.
func clientsVia() string {
	if viaProxy() {
		return "through wrangler's dev proxy"
	}
	return "straight from the worker's workerd"
}
