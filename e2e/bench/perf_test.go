package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Where the object's thread spends a write: with EDGE_BENCH_PERF=1 the
// burst step runs Linux perf on the hub's workerd and the floor's while
// they write, and row 4b splits each one's thread by what its samples
// landed in, over the same windows row 4a reads its CPU in. It needs
// perf(1) and the right to profile those processes (root, or
// kernel.perf_event_paranoid ≤ 1). Code V8 compiled (the JavaScript, and
// Go's Wasm in the hub) shows as one "JIT code" row unless workerd was
// given V8's --perf-basic-prof, which wrangler does not pass on; with it
// (a local edit of miniflare, doc.go) the two are apart.
// EDGE_BENCH_PERF=<file> does the same and keeps the recording in file
// (read it with perf report -i file --time start,end, the windows the
// bench logs); with 1 it goes with the bench's temporary directory.
var (
	perfSet  = os.Getenv("EDGE_BENCH_PERF")
	perfOn   = perfSet != "" && perfSet != "0"
	perfKeep = map[bool]string{true: perfSet}[perfOn && perfSet != "1"]
)

// perfHz is the sampling rate: a sample every ≈ 0.5 ms of a thread's CPU.
const perfHz = 1999

// perfRecord is a running `perf record` of some processes.
type perfRecord struct {
	cmd     *exec.Cmd
	data    string
	stopped bool
}

// startPerf records pids on the real-time clock, so that samples can be
// cut to the wall-clock windows of cpuSample.
func startPerf(dir string, pids []int) (*perfRecord, error) {
	if len(pids) == 0 {
		return nil, fmt.Errorf("perf: no process to record")
	}
	list := make([]string, len(pids))
	for i, p := range pids {
		list[i] = strconv.Itoa(p)
	}
	p := &perfRecord{data: filepath.Join(dir, "perf.data")}
	if perfKeep != "" {
		p.data = perfKeep
	}
	p.cmd = exec.Command("perf", "record", "-q", "-g", "-F", strconv.Itoa(perfHz), "-k", "CLOCK_REALTIME",
		"-p", strings.Join(list, ","), "-o", p.data)
	log, err := os.Create(filepath.Join(dir, "perf.log"))
	if err != nil {
		return nil, err
	}
	p.cmd.Stdout, p.cmd.Stderr = log, log
	if err := p.cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("perf: %w", err)
	}
	time.Sleep(300 * time.Millisecond) // perf attaches
	return p, nil
}

// stop ends the recording and waits for perf to write it.
func (p *perfRecord) stop() error {
	if p.stopped {
		return nil
	}
	p.stopped = true
	p.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
		return nil
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		return fmt.Errorf("perf did not stop")
	}
}

// perfSplit is one process's main-thread samples over some windows,
// sorted two ways: by the code each landed in (its leaf frame: kinds) and
// by what that work was for (its whole stack: purposes).
type perfSplit struct {
	kinds, purposes map[string]int
	total           int
	writes          float64
	named           bool // JIT code had names (workerd ran with --perf-basic-prof)
}

func newPerfSplit() perfSplit {
	return perfSplit{kinds: map[string]int{}, purposes: map[string]int{}}
}

// perWrite returns CPU seconds per write of n samples.
func (s perfSplit) perWrite(n int) float64 {
	if s.writes == 0 {
		return 0
	}
	return float64(n) / perfHz / s.writes
}

// The kinds of code, in the order row 4c prints them.
var perfKinds = []string{
	"kernel",
	"workerd (kj, workerd::api)",
	"V8 runtime and builtins",
	"V8/cppgc collector",
	"malloc, libc",
	"JIT code",
	"JavaScript",
	"Go's Wasm",
	"other",
}

// The purposes, in the order row 4b prints them; the first three need
// named JIT code.
var perfPurposes = []string{
	"Go: its own code, runtime and collector",
	"Go's other calls out (feed reads, timers, answers)",
	"the writes (JS, and workerd taking the chunk)",
	"stream pumps (workerd moving chunks to sockets)",
	"promise reactions and other microtasks",
	"V8/cppgc collector",
	"event loop, I/O and the rest (the kernel's writev included)",
}

var (
	perfHead  = regexp.MustCompile(`^\s*(.+?)\s+(\d+)/(\d+)\s+([\d.]+):\s*$`)
	perfFrame = regexp.MustCompile(`^\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$`)
)

// kindOf sorts a frame by its symbol and the object it is in.
func kindOf(sym, dso string) string {
	switch {
	case strings.Contains(dso, "kernel"):
		return perfKinds[0]
	case strings.Contains(sym, "wasm-function"):
		return perfKinds[7]
	case strings.HasPrefix(sym, "JS:"):
		return perfKinds[6]
	case strings.Contains(dso, "perf-") || strings.Contains(dso, "[unknown]") || strings.Contains(dso, "anon") || dso == "":
		return perfKinds[5]
	case isGC(sym):
		return perfKinds[3]
	case strings.HasPrefix(sym, "Builtins_"), strings.HasPrefix(sym, "v8::"):
		return perfKinds[2]
	case strings.Contains(sym, "tcmalloc") || strings.Contains(dso, "libc"):
		return perfKinds[4]
	case strings.HasPrefix(sym, "kj::"), strings.HasPrefix(sym, "workerd::"), strings.HasPrefix(sym, "capnp::"):
		return perfKinds[1]
	}
	return perfKinds[8]
}

func isGC(sym string) bool {
	for _, s := range []string{"Scaveng", "MarkCompact", "cppgc", "::Heap::", "Marking", "Sweep"} {
		if strings.Contains(sym, s) {
			return true
		}
	}
	return false
}

// purposeOf sorts a sample by its stack, leaf first: Go's Wasm anywhere
// on it, the write call (the hub's enqueueMany and write, the floor's
// enqueue), workerd's pump, the microtask queue, the collector.
func purposeOf(syms []string) string {
	has := func(subs ...string) bool {
		for _, f := range syms {
			for _, s := range subs {
				if strings.Contains(f, s) {
					return true
				}
			}
		}
		return false
	}
	writes := has("enqueueMany", "write entry.js", "enqueue floor.js", "self.enqueue")
	switch {
	case has("wasm-function") && strings.Contains(syms[0], "wasm-function"):
		return perfPurposes[0]
	case writes:
		return perfPurposes[2]
	case has("wasm-function"):
		return perfPurposes[1]
	case has("pumpTo", "writeLoop", "Pump"):
		return perfPurposes[3]
	case has("RunMicrotasks"):
		return perfPurposes[4]
	case isGC(syms[0]) || has("CollectGarbage", "cppgc"):
		return perfPurposes[5]
	}
	return perfPurposes[6]
}

// split reads the samples of pid's main thread (the isolate's: the
// object's JavaScript and Wasm, and workerd's I/O for it) that fall in the
// windows of samples.
func (p *perfRecord) split(pid int, samples []cpuSample) (perfSplit, error) {
	out := newPerfSplit()
	if len(samples) == 0 {
		return out, nil
	}
	cmd := exec.Command("perf", "script", "-i", p.data, "--pid", strconv.Itoa(pid), "-F", "comm,pid,tid,time,ip,sym,dso")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("perf script: %v: %s", err, stderr.String())
	}
	return parsePerfScript(raw, samples)
}

// parsePerfScript sorts the main-thread samples of `perf script -F
// comm,pid,tid,time,ip,sym,dso` output (with call stacks) that fall in the
// windows of samples.
func parsePerfScript(raw []byte, samples []cpuSample) (perfSplit, error) {
	out := newPerfSplit()
	type span struct{ from, to float64 }
	var spans []span
	for _, c := range samples {
		spans = append(spans, span{float64(c.from.UnixNano()) / 1e9, float64(c.to.UnixNano()) / 1e9})
		out.writes += c.writes
	}
	inWindow := func(t float64) bool {
		for _, s := range spans {
			if t >= s.from && t <= s.to {
				return true
			}
		}
		return false
	}
	var syms, dsos []string
	keep := false
	flush := func() {
		if keep && len(syms) > 0 {
			out.kinds[kindOf(syms[0], dsos[0])]++
			out.purposes[purposeOf(syms)]++
			out.total++
		}
		syms, dsos, keep = syms[:0], dsos[:0], false
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := perfHead.FindStringSubmatch(line); m != nil {
			flush()
			t, _ := strconv.ParseFloat(m[4], 64)
			keep = m[2] == m[3] && inWindow(t) // the process's main thread only
			continue
		}
		if m := perfFrame.FindStringSubmatch(line); m != nil && keep {
			syms, dsos = append(syms, m[1]), append(dsos, m[2])
			if strings.HasPrefix(m[1], "JS:") {
				out.named = true
			}
		}
	}
	flush()
	return out, sc.Err()
}

// splitAll is split over several processes' main threads, summed.
func (p *perfRecord) splitAll(pids []int, samples []cpuSample) (perfSplit, error) {
	out := newPerfSplit()
	for _, c := range samples {
		out.writes += c.writes
	}
	for _, pid := range pids {
		one, err := p.split(pid, samples)
		if err != nil {
			return out, err
		}
		for k, n := range one.kinds {
			out.kinds[k] += n
		}
		for k, n := range one.purposes {
			out.purposes[k] += n
		}
		out.total += one.total
		out.named = out.named || one.named
	}
	return out, nil
}

// perfRow formats hub against floor, by names (perfPurposes or
// perfKinds) of counts, in µs per write.
func perfRow(hub, floor perfSplit, names []string, count func(perfSplit) map[string]int) string {
	var parts []string
	for _, k := range names {
		h, f := count(hub)[k], count(floor)[k]
		if h+f == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.1f / %.1f", k, hub.perWrite(h)*1e6, floor.perWrite(f)*1e6))
	}
	return fmt.Sprintf("hub %.1f / floor %.1f µs a write (%d / %d samples at %d Hz): %s",
		hub.perWrite(hub.total)*1e6, floor.perWrite(floor.total)*1e6, hub.total, floor.total, perfHz, strings.Join(parts, "; "))
}
