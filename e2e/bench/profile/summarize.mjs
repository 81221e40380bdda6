// Summarizes a V8 CPU profile from cpuprofile.mjs: the thread's idle
// share, the longest stretches without an idle sample (what a request or
// an event arriving at the wrong moment waits for), and the functions by
// self and inclusive time.
//
// Usage: node e2e/bench/profile/summarize.mjs PROFILE.json [NAMES.txt]
//
// Sampling gaps: V8 records a sample only when its sampler thread gets
// to run and the isolate's thread is in V8; on a loaded 2-core machine
// the deltas between samples reach seconds (a 22 s profile of a burst
// had 8,215 samples instead of 110,000, and 283 deltas over 5 ms held
// 17.6 s of it). Credited whole to the sample before them, a gap makes
// whatever function happened to be sampled there look like it ran for
// seconds. So each sample is credited at most GAP_US (default 5 × the
// median delta) and the rest is reported as "(unsampled)": what the
// thread did then is not known from the profile.
//
// With STRETCHES=K in the environment it also prints, for each of the K
// longest busy stretches, when it began (ms into the profile) and the
// functions that took its time (self).
//
// Go's functions show as wasm-function[N] (the build strips the name
// section); NAMES.txt, from `go run ./e2e/bench/profile/wasmnames
// app.wasm` on a build of the same code without -s, gives their names.
// Go runs on its own stack in linear memory, so V8 sees only the Go
// function running, under wasm_pc_f_loop: the self times are right, Go's
// callers are not in the profile. Frames without a script are workerd's
// own machinery (its stream pumps, for example); (program) is native
// work inside the isolate.
import { readFileSync } from "node:fs";

const p = JSON.parse(readFileSync(process.argv[2]));
const names = new Map();
if (process.argv[3]) {
  for (const l of readFileSync(process.argv[3], "utf8").split("\n")) {
    const [i, n] = l.split(" ");
    if (n) names.set(`wasm-function[${i}]`, n);
  }
}
const label = (f) => {
  const n = f.functionName || `(no script${f.url ? " " + f.url.split("/").pop() : ""})`;
  return names.get(n) || n;
};
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children || []) parent.set(c, n.id);
const deltas = p.timeDeltas.slice(1).filter((d) => d > 0).sort((a, b) => a - b);
const median = deltas[deltas.length >> 1] || 0;
const gapUs = parseInt(process.env.GAP_US || "0", 10) || 5 * median;
let unsampled = 0;
let gaps = 0;
// credit is the part of sample i's delta the profile can vouch for.
const credit = (i) => {
  const d = p.timeDeltas[i + 1] ?? 0;
  return Math.min(d, gapUs);
};
const self = new Map();
const total = new Map();
let idle = 0;
let all = 0;
let stretch = 0;
let stretchStart = 0; // sample index where the current stretch began
const spans = []; // busy stretches: [duration, first sample, end sample, start time]
let at = 0;
for (let i = 0; i < p.samples.length; i++) {
  const n = byId.get(p.samples[i]);
  const raw = p.timeDeltas[i + 1] ?? 0;
  const d = credit(i);
  if (raw > d) {
    unsampled += raw - d;
    gaps++;
  }
  all += raw;
  const name = label(n.callFrame);
  if (name === "(idle)") {
    idle += d;
    if (stretch) spans.push([stretch, stretchStart, i, at - stretch]);
    stretch = 0;
  } else {
    if (!stretch) stretchStart = i;
    stretch += d;
  }
  at += raw;
  self.set(name, (self.get(name) || 0) + d);
  const seen = new Set();
  for (let id = n.id; id !== undefined; id = parent.get(id)) {
    const nm = label(byId.get(id).callFrame);
    if (!seen.has(nm)) {
      seen.add(nm);
      total.set(nm, (total.get(nm) || 0) + d);
    }
  }
}
if (stretch) spans.push([stretch, stretchStart, p.samples.length, at - stretch]);
spans.sort((a, b) => b[0] - a[0]);
const ms = (us) => (us / 1e3).toFixed(1);
const pc = (us) => ((100 * us) / all).toFixed(1) + " %";
console.log(`profile ${ms(all)} ms, ${p.samples.length} samples (median delta ${median} µs); unsampled ${ms(unsampled)} ms (${pc(unsampled)}) in ${gaps} gaps over ${gapUs} µs; idle ${ms(idle)} ms (${pc(idle)})`);
console.log("(shares below are of the whole profile; the unsampled time is in none of them)");
console.log(`longest busy stretches (ms): ${spans.slice(0, 10).map((s) => ms(s[0])).join(" ")}`);
const top = (m, k) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, k)
    .map(([n, v]) => `${ms(v).padStart(9)} ms ${pc(v).padStart(7)}  ${n}`)
    .join("\n");
console.log("--- self\n" + top(self, 25));
console.log("--- inclusive\n" + top(total, 25));
const k = parseInt(process.env.STRETCHES || "0", 10);
for (const [dur, from, to, start] of spans.slice(0, k)) {
  const m = new Map();
  for (let i = from; i < to; i++) {
    const name = label(byId.get(p.samples[i]).callFrame);
    m.set(name, (m.get(name) || 0) + credit(i));
  }
  const share = (us) => ((100 * us) / dur).toFixed(1) + " %";
  console.log(`--- stretch of ${ms(dur)} ms at ${ms(start)} ms`);
  for (const [n, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, 10)) console.log(`${ms(v).padStart(9)} ms ${share(v).padStart(7)}  ${n}`);
}
