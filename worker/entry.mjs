// Worker entry: the JavaScript side of the edge. It is deliberately thin.
//
// - The default export is the stateless front door. Subscriptions
//   (GET /.well-known/mercure) pass to an EdgeHub Durable Object without
//   starting Go, and the front door returns the hub's response as it is
//   (see subscribe). Other requests (publish forwarding, the demo page,
//   health) go to the isolate's one resident front-door Go instance
//   (see frontDoor), which answers them without starting Go per request.
// - EdgeHub is the Durable Object: ONE resident Go instance per object holds
//   every client stream of that object and the single upstream feed. Client
//   streams are IdentityTransformStreams whose writers Go writes to directly
//   (queue.mjs, worker/bridge.go); a stream that errors tells Go the client
//   went away.
import "./wasm_exec.js";
import mod from "./app.wasm";
import { DurableObject } from "cloudflare:workers";
import { feeds, feedWaits } from "./feedpump.mjs";
import { hubName, statsTarget } from "./routing.mjs";
import { BYTE_UNIT, clientStream, close, write } from "./queue.mjs";

// syumai/workers' Go code calls tryCatch to turn JS exceptions into errors.
globalThis.tryCatch = (fn) => {
  try {
    return { result: fn() };
  } catch (e) {
    return { error: e };
  }
};

// CONTRACT_VERSION is the version of the calls between this file,
// feedpump.mjs and Go, described in worker/jsapi/jsapi.go (whose test
// checks this file against it). Go reports its own as
// binding.contractVersion; on a mismatch nothing runs.
const CONTRACT_VERSION = 11;

// goOf maps a started instance's binding to its Go runtime object.
const goOf = new WeakMap();

// jsValuesHeld is how many JS values binding's Go instance holds
// references to: wasm_exec.js frees one only when Go's collector
// finalizes its js.Value, so they keep JS objects alive until then.
function jsValuesHeld(binding) {
  const go = goOf.get(binding);
  return go ? go._values.length - go._idPool.length : 0;
}

// startGo runs app.wasm with a runtime context; Go reads context.mode to
// decide whether it is the front door ("front") or a hub ("hub").
async function startGo(context) {
  const go = new Go();
  // GOGC (a worker var, validated with the others by Go) reaches Go's
  // runtime the way a native program gets it: in its environment.
  if (context.env?.GOGC) go.env = { GOGC: String(context.env.GOGC) };
  let ready;
  const readyPromise = new Promise((resolve) => {
    ready = resolve;
  });
  const instance = new WebAssembly.Instance(mod, {
    ...go.importObject,
    workers: { ready: () => ready() },
  });
  go.run(instance, context);
  await readyPromise;
  if (context.binding.contractVersion !== CONTRACT_VERSION) {
    throw new Error(
      `app.wasm speaks contract version ${context.binding.contractVersion}, entry.mjs ${CONTRACT_VERSION}: build both together (make build)`,
    );
  }
  context.binding.memory = instance.exports.mem;
  goOf.set(context.binding, go);
  return context.binding;
}

const MERCURE_PATH = "/.well-known/mercure";

// Stream helpers the hub's Go code calls for every write. They catch every
// exception: a client may cancel its stream at any moment, and a JS error
// thrown into a resident Go instance panics it and kills every stream of
// the object (seen under wrangler dev with syumai's own response bridge:
// one client leaving ended its object's other streams with "This
// ReadableStream is closed").
//
// What waits for each client is counted in chunks and bytes by its Sink
// (queue.mjs); a write past either bound is refused, and Go drops the
// client, which resumes with Last-Event-ID.
const streams = {
  enqueue(sink, chunk, limit, limitBytes) {
    return write(sink, chunk, limit, limitBytes);
  },
  // enqueueMany writes one chunk to many streams in ONE call from Go: a
  // fan-out costs one Go→JS crossing per slice of clients, not one per
  // client (README, "Design in brief"). bound is the hub's array of
  // sinks by slot and triples an Int32Array of [slot, limit,
  // limitBytes] triples, both Go's (one hub per Go instance; several may
  // share this isolate); each triple's limits are replaced with what waits
  // afterwards, [chunks, bytes], chunks -1 when the chunk was not written.
  // pause resolves on the next turn of the event loop (a 0 ms timer):
  // the hub yields with it between the slices of a fan-out, so workerd
  // moves the chunks written so far out and other requests get in. Go's
  // own shortest sleep is a 1 ms timer.
  pause() {
    return new Promise((resolve) => setTimeout(resolve, 0));
  },
  // settle hands promise's outcome to Go: wake(n, value) once it
  // resolves, wake(n, undefined, message) once it rejects. wake is one
  // function Go made once and n tells Go which of its waits this is, so an
  // await (a yield between slices, a take from the feed) costs Go one call
  // out and one callback, not two functions made and released each time
  // (Go's side: await in worker/upstream.go).
  settle(promise, wake, n) {
    promise.then(
      (v) => wake(n, v),
      (e) => wake(n, undefined, String(e)),
    );
  },
  enqueueMany(bound, triples, chunk, n) {
    for (let i = 0; i < 3 * n; i += 3) {
      const sink = bound[triples[i]];
      const q = sink === undefined ? -1 : write(sink, chunk, triples[i + 1], triples[i + 2]);
      if (q < 0) {
        triples[i + 1] = -1;
        continue;
      }
      triples[i + 1] = q % BYTE_UNIT;
      triples[i + 2] = Math.floor(q / BYTE_UNIT);
    }
  },
  close(sink) {
    close(sink);
  },
};

function hubStub(env, name) {
  return env.EDGE_HUB.get(env.EDGE_HUB.idFromName(name));
}

// subscribe hands a subscription to its hub object and returns the hub's
// response as it is.
//
// The hub's client stream is a native IdentityTransformStream (fact 24 of
// docs/PLATFORM.md), and workerd errors it when the client is gone, also
// when the client gave up before the response began: measured under
// wrangler dev, 2,000 subscribers that left 0–30 ms after their request
// left 0 streams in the hub (e2e TestChaosEarlyLeavers keeps that). Until
// 2026-12-04 the hub's streams were JavaScript ReadableStreams, whose
// cancel never came in that case (1,998 of 2,000 stayed), and the front
// door passed them on through a native pipe of its own to carry the
// departure; that pipe cost ≈ 150 KiB of workerd memory per held stream
// (fact 6) and is gone.
//
// Not used, on purpose: request.signal. An "abort" listener on it (here or
// in the hub) kept ~8 KiB of workerd memory per connection alive for good
// (measured with a pure-JS object: RSS 424 → 849 MiB over 80k streamed
// connections with the listener, flat at ~335 MiB without it).
function subscribe(request, env) {
  return hubStub(env, hubName(request, env)).fetch(request);
}

// frontBinding is the isolate's front-door Go instance (its binding), once
// started; see frontDoor.
let frontBinding = null;

// frontDoor answers a short request (publish, demo page, health, metadata,
// the client library) through the isolate's one front-door Go instance,
// which the first such request starts and later ones reuse: such a
// request then costs about 1–2 ms of CPU in all, where starting Go for
// each cost 9–11 ms (make bench-edge, BenchmarkEdgeIsolate; the free plan
// allows 10 ms per request).
//
// Sharing it between requests is safe because Go does no I/O and never
// waits in it: binding.answer runs the handler to its end and returns plain
// data (docs/PLATFORM.md, facts 3 and 18). What needs I/O, sending a publish
// or a subscription API request to the origin, is done here, in the
// request's own context.
async function frontDoor(request, env) {
  if (frontBinding === null) {
    const started = await startGo({ env, binding: {}, mode: "front" });
    frontBinding ??= started; // two first requests may both have started one
  }
  const binding = frontBinding;
  let answer;
  try {
    answer = binding.answer(request.method, request.url, JSON.stringify([...request.headers]));
  } catch (e) {
    // The instance is unusable (it exited): the next request starts another.
    if (frontBinding === binding) frontBinding = null;
    throw e;
  }
  if (answer.forward !== undefined) return forward(request, binding, answer);
  const body = NULL_BODY_STATUS.has(answer.status) ? null : answer.body;
  return new Response(body, { status: answer.status, headers: JSON.parse(answer.headers) });
}

// Statuses whose Response must not have a body.
const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

// forward sends a request to the origin as the front door's answer says
// (method, URL, headers; the client's body, at most maxBytes of it, when
// the answer has maxBytes: a publish) and relays the origin's answer with
// the headers binding.relay picks.
//
// A body with a Content-Length (Go already refused one over the limit)
// streams to the origin natively; one without is read here first, up to
// the limit.
async function forward(request, binding, answer) {
  let body = null;
  if (answer.maxBytes !== undefined && request.body !== null) {
    body = request.body;
    if (request.headers.get("content-length") === null) {
      body = await readAtMost(body, answer.maxBytes);
      if (body === null) return textError(answer, 413, `publish body larger than ${answer.maxBytes} bytes`);
    }
  }
  let res;
  try {
    res = await fetch(answer.forward, { method: answer.forwardMethod, headers: JSON.parse(answer.forwardHeaders), body });
  } catch (e) {
    return textError(answer, 502, `origin unreachable: ${e.message}`);
  }
  const headers = JSON.parse(binding.relay(answer.headers, JSON.stringify([...res.headers]), answer.relayAPI));
  return new Response(res.body, { status: res.status, headers });
}

// readAtMost reads a request body: its bytes, or null when it is longer
// than max. A longer body is still read to its end before the answer, so
// that the client, still sending, gets the 413 rather than a reset.
async function readAtMost(body, max) {
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const parts = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.byteLength;
    if (n <= max) parts.push(value);
  }
  if (n > max) return null;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

// textError is a plain-text refusal with the front door's own headers.
function textError(answer, status, message) {
  const headers = new Headers(JSON.parse(answer.headers));
  headers.set("content-type", "text/plain; charset=utf-8");
  headers.set("x-content-type-options", "nosniff");
  return new Response(message + "\n", { status, headers });
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === MERCURE_PATH && request.method === "GET") {
      return subscribe(request, env);
    }
    if (url.pathname === "/_edge/stats") {
      // Hub statistics for operators and tests: ?hub=<name> or the caller's
      // hub, with the STATS_TOKEN; refusals never reach EDGE_HUB.
      const target = await statsTarget(request, env);
      if (!target.hub) {
        const headers = { "content-type": "text/plain; charset=utf-8", ...target.headers };
        return new Response(target.body, { status: target.status, headers });
      }
      const name = target.hub;
      const res = await hubStub(env, name).fetch(request);
      if (res.status !== 200) return res;
      const stats = await res.json();
      stats.hub = name;
      return new Response(JSON.stringify(stats), { headers: { "content-type": "application/json" } });
    }
    return frontDoor(request, env);
  },
};

export class EdgeHub extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.hub = startGo({ env, ctx, binding: {}, mode: "hub", streams, feeds });
  }

  async fetch(request) {
    const hub = await this.hub;
    const url = new URL(request.url);
    if (url.pathname === "/_edge/stats") {
      // The Go hub's counters plus the size of its Wasm linear memory;
      // ?trace=1 adds the timelines of its newest fan-outs.
      const stats = JSON.parse(hub.stats(url.searchParams.get("trace") === "1"));
      stats.wasmMemoryBytes = hub.memory.buffer.byteLength;
      stats.feedWaits = feedWaits;
      stats.go.jsValuesHeld = jsValuesHeld(hub);
      return new Response(JSON.stringify(stats), { headers: { "content-type": "application/json" } });
    }
    if (url.pathname !== MERCURE_PATH || request.method !== "GET") {
      return new Response("not found\n", { status: 404 });
    }
    // Go checks the request and either refuses it or returns a client id.
    const opened = hub.open(
      request.url,
      request.headers.get("last-event-id") || "",
      request.headers.get("authorization") || "",
      request.headers.get("cookie") || "",
      request.headers.get("origin") || "",
    );
    const headers = new Headers(JSON.parse(opened.headers));
    if (opened.status !== 200) {
      return new Response(opened.body, { status: opened.status, headers });
    }
    // A cold hub answers once its feed is anchored (bounded): a client
    // answered earlier would miss what is published before the feed's
    // first Hello.
    const ready = hub.ready();
    if (ready) await ready;
    const id = opened.id;
    const { body, sink } = clientStream(() => hub.detach(id));
    hub.attach(id, sink);
    return new Response(body, { status: 200, headers });
  }
}
