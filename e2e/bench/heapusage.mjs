// Reads a worker isolate's heap through the DevTools inspector of
// wrangler's dev server (e2e/wrangler-dev.mjs --inspector-port PORT):
// HeapProfiler.collectGarbage, then Runtime.getHeapUsage. Prints one JSON
// line: V8's answer {usedSize, totalSize, embedderHeapUsedSize,
// backingStorageSize} in bytes.
//
// Usage: [HEAPUSAGE_BEARER=token] node e2e/bench/heapusage.mjs PORT POKE_URL
//
// workerd runs an inspector command that needs the isolate (a garbage
// collection) only when the isolate next runs something: the script
// requests POKE_URL (with the bearer token, if given: /_edge/stats is
// cheap and starts no Go instance) until the collection is answered.
// It also turns off the Network domain that wrangler's proxy enables on
// every connection, so that the isolate does not record requests for
// DevTools while it is measured.
//
// The benchmark (isolate_test.go) runs it; it is a script of its own so
// that the Go side needs no WebSocket client. It uses the ws package that
// wrangler installs (node's own WebSocket sends an Origin header, which
// wrangler's inspector proxy refuses), else node's global one.
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

const timer = setTimeout(() => {
  console.error("inspector did not answer within 60 s");
  process.exit(1);
}, 60_000);
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
async function collect() {
  let done = false;
  const gc = call("HeapProfiler.collectGarbage").then(() => (done = true));
  while (!done) {
    const res = await fetch(poke, { headers });
    await res.arrayBuffer();
    await Promise.race([gc, new Promise((r) => setTimeout(r, 300))]);
  }
}
await call("Network.disable");
// Twice: objects that finalizers of the first collection released go in
// the second.
await collect();
await collect();
const usage = await call("Runtime.getHeapUsage");
clearTimeout(timer);
console.log(JSON.stringify(usage));
ws.close();
process.exit(0);
