// Reads a worker isolate's heap through the DevTools inspector of
// wrangler's dev server (e2e/wrangler-dev.mjs --inspector-port PORT):
// HeapProfiler.collectGarbage, then Runtime.getHeapUsage, once for every
// line read on standard input, printing one JSON line each: V8's answer
// {usedSize, totalSize, embedderHeapUsedSize, backingStorageSize} in
// bytes. It stays connected until standard input ends (one reading:
// `echo | node e2e/bench/heapusage.mjs PORT POKE_URL`).
//
// Usage: [HEAPUSAGE_BEARER=token] node e2e/bench/heapusage.mjs PORT POKE_URL
//
// One connection for all the readings of a run, because wrangler's
// inspector proxy turns the Network domain on for every new connection,
// and with it on, workerd reports every chunk a stream sends to DevTools;
// after 100 events written to 500 streams that way the proxy no longer
// answered a new connection (2026-12-04).
//
// workerd runs an inspector command that needs the isolate (a garbage
// collection) only when the isolate next runs something: the script
// requests POKE_URL (with the bearer token, if given: /_edge/stats is
// cheap and starts no Go instance) until each command is answered.
// It also turns off the Network domain that wrangler's proxy enables on
// every connection, so that the isolate does not record requests for
// DevTools while it is measured.
//
// e2e/internal/proc's HeapReader runs it for the benchmark
// (isolate_test.go) and e2e's TestEdgeWritesKeepNoHeap; it is a script of its own so that the Go side needs no WebSocket
// client. It uses the ws package that wrangler installs (node's own
// WebSocket sends an Origin header, which wrangler's inspector proxy
// refuses), else node's global one.
const port = parseInt(process.argv[2], 10);
const poke = process.argv[3];
if (!port || !poke) {
  console.error("usage: node heapusage.mjs PORT POKE_URL");
  process.exit(2);
}

async function webSocketClass() {
  try {
    return (await import("ws")).default;
  } catch {
    return globalThis.WebSocket;
  }
}

const timeoutMs = parseInt(process.env.HEAPUSAGE_TIMEOUT_MS || "60000", 10);
// giveUp ends the script when the inspector takes longer than timeoutMs.
function giveUp() {
  console.error(`inspector did not answer within ${timeoutMs / 1000} s`);
  process.exit(1);
}
const timer = setTimeout(giveUp, timeoutMs);
const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
if (!targets.length) {
  console.error(`no inspector target at 127.0.0.1:${port}`);
  process.exit(1);
}
const WS = await webSocketClass();
const ws = new WS(targets[0].webSocketDebuggerUrl);
// Ids far above those wrangler's proxy uses for its own calls on the same
// session (their answers come to this connection too).
let nextId = 900_000_001;
const waiting = new Map();
ws.onmessage = (ev) => {
  const msg = JSON.parse(typeof ev.data === "string" ? ev.data : ev.data.toString());
  const w = waiting.get(msg.id);
  if (!w) return; // an event, or an answer to the proxy
  waiting.delete(msg.id);
  if (msg.error) w.reject(new Error(`${w.method}: ${JSON.stringify(msg.error)}`));
  else w.resolve(msg.result);
};
function call(method, params = {}) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject, method });
    ws.send(JSON.stringify({ id, method, params }));
  });
}
await new Promise((resolve, reject) => {
  ws.onopen = resolve;
  ws.onerror = (e) => reject(new Error(`inspector websocket: ${e.message || e.type}`));
});
const headers = process.env.HEAPUSAGE_BEARER ? { authorization: `Bearer ${process.env.HEAPUSAGE_BEARER}` } : {};
// poked sends an inspector command and requests POKE_URL until it is
// answered: any command may wait for the isolate to run something.
async function poked(method) {
  let done = false;
  const answer = call(method).finally(() => (done = true));
  while (!done) {
    const res = await fetch(poke, { headers });
    await res.arrayBuffer();
    await Promise.race([answer, new Promise((r) => setTimeout(r, 300))]);
  }
  return answer;
}
// measure collects garbage and reads the heap's usage.
async function measure() {
  // Twice: objects that finalizers of the first collection released go
  // in the second.
  await poked("HeapProfiler.collectGarbage");
  await poked("HeapProfiler.collectGarbage");
  return poked("Runtime.getHeapUsage");
}
await poked("Network.disable");
// Connected: from here the timeout bounds each measurement, not the wait
// between them.
clearTimeout(timer);
const { createInterface } = await import("node:readline");
for await (const _ of createInterface({ input: process.stdin })) {
  const t = setTimeout(giveUp, timeoutMs);
  console.log(JSON.stringify(await measure()));
  clearTimeout(t);
}
ws.close();
process.exit(0);
