// Summarizes a V8 CPU profile from cpuprofile.mjs: the thread's idle
// share, the longest stretches without an idle sample (what a request or
// an event arriving at the wrong moment waits for), and the functions by
// self and inclusive time.
//
// Usage: node e2e/bench/profile/summarize.mjs PROFILE.json [NAMES.txt]
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
const self = new Map();
const total = new Map();
let idle = 0;
let all = 0;
let stretch = 0;
let stretchStart = 0; // sample index where the current stretch began
const stretches = [];
const spans = []; // [duration, first sample, end sample, start time]
let at = 0;
for (let i = 0; i < p.samples.length; i++) {
  const n = byId.get(p.samples[i]);
  const d = p.timeDeltas[i + 1] ?? 0;
  all += d;
  const name = label(n.callFrame);
  if (name === "(idle)") {
    idle += d;
    if (stretch) {
      stretches.push(stretch);
      spans.push([stretch, stretchStart, i, at - stretch]);
    }
    stretch = 0;
  } else {
    if (!stretch) stretchStart = i;
    stretch += d;
  }
  at += d;
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
if (stretch) {
  stretches.push(stretch);
  spans.push([stretch, stretchStart, p.samples.length, at - stretch]);
}
stretches.sort((a, b) => b - a);
const ms = (us) => (us / 1e3).toFixed(1);
const pc = (us) => ((100 * us) / all).toFixed(1) + " %";
console.log(`profile ${ms(all)} ms; idle ${ms(idle)} ms (${pc(idle)})`);
console.log(`longest busy stretches (ms): ${stretches.slice(0, 10).map(ms).join(" ")}`);
const top = (m, k) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, k)
    .map(([n, v]) => `${ms(v).padStart(9)} ms ${pc(v).padStart(7)}  ${n}`)
    .join("\n");
console.log("--- self\n" + top(self, 25));
console.log("--- inclusive\n" + top(total, 25));
const k = parseInt(process.env.STRETCHES || "0", 10);
for (const [dur, from, to, start] of spans.sort((a, b) => b[0] - a[0]).slice(0, k)) {
  const m = new Map();
  for (let i = from; i < to; i++) {
    const name = label(byId.get(p.samples[i]).callFrame);
    m.set(name, (m.get(name) || 0) + (p.timeDeltas[i + 1] ?? 0));
  }
  const share = (us) => ((100 * us) / dur).toFixed(1) + " %";
  console.log(`--- stretch of ${ms(dur)} ms at ${ms(start)} ms`);
  for (const [n, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, 10)) console.log(`${ms(v).padStart(9)} ms ${share(v).padStart(7)}  ${n}`);
}
