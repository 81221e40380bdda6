// Takes a CPU profile of the worker's isolate through the DevTools
// inspector of wrangler's dev server (started with
// `node e2e/wrangler-dev.mjs ... --inspector-port PORT`) and writes V8's
// profile JSON (open it in Chrome DevTools, or summarize it with
// summarize.mjs).
//
// Usage: node e2e/bench/profile/cpuprofile.mjs PORT SECONDS OUT.json
//    or: node e2e/bench/profile/cpuprofile.mjs ws://HOST:PORT/PATH SECONDS OUT.json
//
// INTERVAL_US sets the sampling interval (default 200 µs).
//
// It turns off the Network domain first: wrangler's inspector proxy
// enables it on every connection, and an isolate recording every request
// for DevTools under load stops answering. Sampling is every 200 µs.
// Locally the hub object and the front door share one isolate (one
// inspector target), so the profile holds both.
import { writeFileSync } from "node:fs";

const [port, secs, out] = [parseInt(process.argv[2], 10), parseFloat(process.argv[3]), process.argv[4]];
if (!(port || process.argv[2]?.startsWith("ws:")) || !secs || !out) {
  console.error("usage: node cpuprofile.mjs PORT SECONDS OUT.json");
  process.exit(2);
}
let WS;
try {
  WS = (await import("ws")).default; // wrangler's; node's own sends an Origin the proxy refuses
} catch {
  WS = globalThis.WebSocket;
}
let url = process.argv[2];
if (!url.startsWith("ws:")) {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  if (!targets.length) {
    console.error(`no inspector target at 127.0.0.1:${port}`);
    process.exit(1);
  }
  url = targets[0].webSocketDebuggerUrl;
}
const ws = new WS(url);
let nextId = 900_000_001; // far above the ids wrangler's proxy uses
const waiting = new Map();
ws.onmessage = (ev) => {
  const msg = JSON.parse(typeof ev.data === "string" ? ev.data : ev.data.toString());
  const w = waiting.get(msg.id);
  if (!w) return;
  waiting.delete(msg.id);
  if (msg.error) w.reject(new Error(JSON.stringify(msg.error)));
  else w.resolve(msg.result);
};
const call = (method, params = {}) =>
  new Promise((resolve, reject) => {
    const id = nextId++;
    waiting.set(id, { resolve, reject });
    ws.send(JSON.stringify({ id, method, params }));
  });
await new Promise((resolve, reject) => {
  ws.onopen = resolve;
  ws.onerror = (e) => reject(new Error(`inspector websocket: ${e.message || e.type}`));
});
await call("Network.disable");
await call("Profiler.enable");
await call("Profiler.setSamplingInterval", { interval: parseInt(process.env.INTERVAL_US || "200", 10) });
await call("Profiler.start");
await new Promise((r) => setTimeout(r, secs * 1000));
const { profile } = await call("Profiler.stop");
writeFileSync(out, JSON.stringify(profile));
console.error(`saved ${out}`);
process.exit(0);
