package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// procStat is one process's line of /proc/<pid>/stat, split after the
// command name (which may contain spaces).
func procStat(path string) (comm string, fields []string, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", nil, false
	}
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return "", nil, false
	}
	// fields[0] is field 3 of proc(5) (state).
	return string(b[open+1 : end]), strings.Fields(string(b[end+1:])), true
}

// workerdPIDs returns the workerd processes descended from root (the
// launcher: node → workerd, wrangler's proxy and the user worker).
func workerdPIDs(root int) []int {
	ents, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	comm := map[int]string{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		c, f, ok := procStat(filepath.Join("/proc", e.Name(), "stat"))
		if !ok || len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		parent[pid], comm[pid] = ppid, c
	}
	var out []int
	for pid, c := range comm {
		if c != "workerd" {
			continue
		}
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == root {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// rssBytes sums VmRSS of pids.
func rssBytes(pids []int) int64 {
	var sum int64
	for _, pid := range pids {
		f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				sum += kb << 10
			}
		}
		f.Close()
	}
	return sum
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc (100 on
// every Linux architecture Go supports).
const clockTicks = 100

// threadTicks is the unit of cpuTicks' readings, per second: nanoseconds,
// the time on a CPU that the kernel keeps for each thread exactly
// (schedstat). utime and stime (stat) count clockTicks, 10 ms: on a
// burst's 0.15 s of CPU that is ±7 % a reading, and the CPU ratio of row
// 4a moved by ±10 % between runs of one build with it.
const threadTicks = 1e9

// cpuTicks returns the CPU time of every thread of pids, in threadTicks,
// keyed "pid/tid".
func cpuTicks(pids []int) map[string]uint64 {
	out := map[string]uint64{}
	for _, pid := range pids {
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		for _, t := range tasks {
			key := fmt.Sprintf("%d/%s", pid, t.Name())
			// schedstat's first field: time on a CPU, in ns (proc(5)).
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name())); err == nil {
				if f := strings.Fields(string(b)); len(f) > 0 {
					if ns, err := strconv.ParseUint(f[0], 10, 64); err == nil {
						out[key] = ns
						continue
					}
				}
			}
			// A kernel without schedstat: utime and stime, fields 14 and
			// 15 of stat.
			_, f, ok := procStat(fmt.Sprintf("/proc/%d/task/%s/stat", pid, t.Name()))
			if !ok || len(f) < 13 {
				continue
			}
			u, _ := strconv.ParseUint(f[11], 10, 64)
			st, _ := strconv.ParseUint(f[12], 10, 64)
			out[key] = (u + st) * (threadTicks / clockTicks)
		}
	}
	return out
}

// cpuSecs returns the CPU seconds between two cpuTicks readings.
func cpuSecs(before, after map[string]uint64) float64 {
	cores, _ := cpuUse(before, after, time.Second)
	return cores
}

// cpuSample is the CPU one process spent on some stream writes: in all,
// and on its busiest thread (the object's, which runs its JavaScript and
// Wasm; the others are V8's background threads and workerd's own).
type cpuSample struct {
	secs, hot, writes float64
	// from, to: when it began and ended (perf's windows).
	from, to time.Time
	// batches: the hub's fan-outs in it (the floor repeats each burst's
	// own pattern: fan-outs, writes, chunk sizes).
	batches float64
	// plan, planDeliveries: the hub's fan-outs in it as the floor's plan
	// (fanoutPlan), and the deliveries it makes.
	plan           string
	planDeliveries int
}

// cpuOver returns the CPU seconds between two cpuTicks readings, in all
// and of the busiest thread, for writes made from from to to.
func cpuOver(before, after map[string]uint64, writes float64, from, to time.Time) cpuSample {
	all, hot := cpuUse(before, after, time.Second)
	return cpuSample{secs: all, hot: hot, writes: writes, from: from, to: to}
}

// logWindow logs when a CPU sample began and ended, by the clock of day
// to the microsecond, with what it read: a profile recorded on the
// machine's real-time clock (perf record -k CLOCK_REALTIME) can be cut to
// exactly the bursts and the floor's runs with it.
func (bn *bench) logWindow(what string, c cpuSample) {
	bn.tb.Logf("cpu window %s: %s – %s (%.6f – %.6f), %.0f writes, %.3f s CPU (busiest thread %.3f)",
		what, c.from.Format("15:04:05.000000"), c.to.Format("15:04:05.000000"),
		float64(c.from.UnixNano())/1e9, float64(c.to.UnixNano())/1e9, c.writes, c.secs, c.hot)
}

// hotPerWrite sums samples: the busiest thread's CPU seconds per write,
// and the other threads'.
func hotPerWrite(samples []cpuSample) (hot, rest float64) {
	var h, secs, writes float64
	for _, c := range samples {
		h, secs, writes = h+c.hot, secs+c.secs, writes+c.writes
	}
	if writes == 0 {
		return 0, 0
	}
	return h / writes, (secs - h) / writes
}

// perWrite sums samples: CPU seconds per write over all of them, and the
// lowest and highest of each sample's own.
func perWrite(samples []cpuSample) (all, lo, hi float64) {
	var secs, writes float64
	lo = math.Inf(1)
	for _, c := range samples {
		secs += c.secs
		writes += c.writes
		if c.writes > 0 {
			lo, hi = min(lo, c.secs/c.writes), max(hi, c.secs/c.writes)
		}
	}
	if writes == 0 {
		return 0, 0, 0
	}
	return secs / writes, lo, hi
}

// cpuUse summarises the CPU used between two cpuTicks snapshots over d: the
// cores used by all threads and by the busiest thread.
func cpuUse(before, after map[string]uint64, d time.Duration) (total, hottest float64) {
	var sum, top uint64
	for k, a := range after {
		delta := a - before[k]
		if a < before[k] {
			delta = 0
		}
		sum += delta
		top = max(top, delta)
	}
	sec := d.Seconds() * threadTicks
	return float64(sum) / sec, float64(top) / sec
}

// listenerPIDs returns those of pids that listen on TCP port (the workerd
// that accepts the clients' connections: wrangler's dev proxy).
func listenerPIDs(pids []int, port int) map[int]bool {
	listening := listenSockets()
	out := map[int]bool{}
	for _, pid := range pids {
		for _, inode := range socketInodes(pid) {
			if listening[inode] == port {
				out[pid] = true
				break
			}
		}
	}
	return out
}

// listenPorts returns the TCP ports pids listen on.
func listenPorts(pids []int) []int {
	listening := listenSockets()
	var out []int
	for _, pid := range pids {
		for _, inode := range socketInodes(pid) {
			if p, ok := listening[inode]; ok && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// listenSockets maps the inode of every listening TCP socket of the
// machine (/proc/net/tcp and tcp6, state 0A) to its port.
func listenSockets() map[string]int {
	out := map[string]int{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(l)
			if len(fs) < 10 || fs[3] != "0A" { // 0A: LISTEN
				continue
			}
			_, hexPort, _ := strings.Cut(fs[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil {
				out[fs[9]] = int(p)
			}
		}
	}
	return out
}

// socketInodes returns the inodes of the sockets pid has open.
func socketInodes(pid int) []string {
	var out []string
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, fd := range fds {
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil && strings.HasPrefix(l, "socket:[") {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]"))
		}
	}
	return out
}

// loadAverage returns the first field of /proc/loadavg.
func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// machineBusyTicks returns the busy and total ticks of all CPUs from
// /proc/stat, to tell how much of the machine other processes used.
func machineBusyTicks() (busy, total uint64) {
	b, _ := os.ReadFile("/proc/stat")
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i, v := range f[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		if i >= 8 { // guest time is already counted in user
			break
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

// procTicks returns utime+stime of every process, with its command name.
func procTicks() map[int]procCPU {
	out := map[int]procCPU{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		c, f, ok := procStat(filepath.Join("/proc", e.Name(), "stat"))
		if !ok || len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseUint(f[11], 10, 64)
		s, _ := strconv.ParseUint(f[12], 10, 64)
		ppid, _ := strconv.Atoi(f[1])
		out[pid] = procCPU{comm: c, ppid: ppid, ticks: u + s}
	}
	return out
}

type procCPU struct {
	comm  string
	ppid  int
	ticks uint64
}

// otherCPU returns the cores used over d by processes that are neither
// in mine nor descendants of them, and the busiest of those.
func otherCPU(before, after map[int]procCPU, mine []int, d time.Duration) (cores float64, top string, topCores float64) {
	own := map[int]bool{}
	for _, p := range mine {
		own[p] = true
	}
	isOwn := func(pid int) bool {
		for p := pid; p > 1; p = after[p].ppid {
			if own[p] {
				return true
			}
		}
		return false
	}
	sec := d.Seconds() * clockTicks
	var sum uint64
	for pid, a := range after {
		b, ok := before[pid]
		if !ok || a.ticks < b.ticks || isOwn(pid) {
			continue
		}
		delta := a.ticks - b.ticks
		sum += delta
		if c := float64(delta) / sec; c > topCores {
			top, topCores = a.comm, c
		}
	}
	return float64(sum) / sec, top, topCores
}
