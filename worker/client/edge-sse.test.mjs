// Unit tests of the browser client (node --test worker/; make test-js): the
// parser against the shared vectors of shared/sse/testdata, then the
// connection logic against a fake fetch whose responses the test scripts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { connect, createParser } from "./edge-sse.js";

const enc = new TextEncoder();

// ---- Parser: shared vectors ------------------------------------------------

const vectorDir = new URL("../../shared/sse/testdata/", import.meta.url);
const vectorFiles = readdirSync(vectorDir).filter((f) => f.endsWith(".json"));

const chunkBytes = (c) => (typeof c == "string" ? enc.encode(c) : Uint8Array.from(Buffer.from(c.base64, "base64")));

// parse feeds chunks to a parser and returns what it reported, in the
// vectors' shape.
// A limit error stops the parser: it is recorded by its code, and the
// parser throws it again on any later push.
function parse(chunks, start, limits) {
  const items = [];
  const p = createParser(
    (e) => items.push({ type: e.type, id: e.id, data: e.data }),
    (ms) => items.push({ retry: ms }),
    start,
    limits,
  );
  let error;
  for (const c of chunks) {
    try {
      p.push(c);
    } catch (e) {
      assert.equal(error ?? e, e, "the same error on every push after it");
      error = e;
    }
  }
  const got = { items, lastEventId: p.lastEventId() };
  if (error) got.error = error.code;
  return got;
}

// cuts returns the ways a stream is cut into reads: as the vector gives it,
// one byte per read, and in two at every position (sampled past 8 KiB as
// the Go tests do).
function cuts(chunks) {
  const all = Buffer.concat(chunks.map((c) => Buffer.from(c)));
  const out = [["as given", chunks], ["one byte per read", [...all].map((b) => Uint8Array.of(b))]];
  for (let i = 0; i <= all.length; i++) {
    if (all.length > 8192 && i > 512 && i < all.length - 512 && i % 61) continue;
    out.push([`split at ${i}`, [all.subarray(0, i), all.subarray(i)]]);
  }
  return out;
}

test("the shared vector files are there", () => {
  assert.deepEqual(vectorFiles.sort(), ["chunks.json", "parser.json", "wpt.json"]);
});

for (const file of vectorFiles) {
  const { vectors } = JSON.parse(readFileSync(new URL(file, vectorDir), "utf8"));
  for (const v of vectors) {
    // Vectors without limits run with the defaults, as in the Go tests.
    const limits = { maxLineSize: v.max_line_size, maxEventSize: v.max_event_size };
    test(`vector ${file}: ${v.name}`, () => {
      const chunks = v.chunks.map(chunkBytes);
      const want = { items: v.expect, lastEventId: v.last_event_id };
      if (v.error) want.error = v.error;
      for (const [how, cut] of cuts(chunks)) {
        assert.deepEqual(parse(cut, v.start_last_event_id ?? "", limits), want, how);
      }
    });
  }
}

test("parser: an event is dispatched as soon as its blank line arrives", () => {
  const got = [];
  const p = createParser((e, hadId) => got.push([e.data, hadId]), () => {});
  p.push(enc.encode("id: 1\ndata: a\n"));
  assert.equal(got.length, 0);
  p.push(enc.encode("\r"));
  assert.deepEqual(got, [["a", true]]);
  p.push(enc.encode("\ndata: b\n\n"));
  assert.deepEqual(got, [["a", true], ["b", false]], "the LF after a CR is not a second blank line; b carries no id of its own");
});

test("parser: the default limits are the Go parser's, 64 KiB a line and 1 MiB an event", () => {
  const codeOf = (text) => {
    try {
      createParser(() => {}, () => {}).push(enc.encode(text));
    } catch (e) {
      return e.code;
    }
  };
  const line = (n) => "data:" + "x".repeat(n - 5) + "\n";
  assert.equal(codeOf(line(64 << 10) + "\n"), undefined);
  assert.equal(codeOf(line((64 << 10) + 1) + "\n"), "line_too_long");
  assert.equal(codeOf("data:" + "x".repeat(64 << 10)), "line_too_long", "unterminated");
  // 16 full lines (64 KiB - 5 data bytes and an LF each), then 63 bytes
  // and an LF: 1 MiB exactly.
  const full = line(64 << 10).repeat(16) + line(5 + 63);
  assert.equal(codeOf(full + "\n"), undefined);
  assert.equal(codeOf(full + "data:\n\n"), "event_too_large", "one more LF");
});

test("parser: a BOM split across pushes is stripped once; a second one is text", () => {
  const got = [];
  const p = createParser((e) => got.push(e.data), () => {}, "", { maxLineSize: 9 });
  for (const b of [[0xef], [0xbb], [0xbf, 0x64], [...enc.encode("ata:a\n\n\ufeffdata:b\n\ndata:\ufeffc\n\n")]]) p.push(Uint8Array.from(b));
  assert.deepEqual(got, ["a", "\ufeffc"], "a line starting with a BOM names no field");
});

// ---- Connection: a scripted fake fetch --------------------------------------

const abortError = () => new DOMException("The operation was aborted.", "AbortError");

// fakeFetch returns a fetch whose calls the test answers one by one: await
// fetch.next() for the next call, then call.stream(), call.reply() or
// call.fail().
function fakeFetch() {
  const arrived = [], waiting = [];
  const fetch = (url, init) =>
    new Promise((resolve, reject) => {
      const call = {
        url: new URL(url),
        init,
        header: (name) => init.headers[name],
        stream(headers = {}) {
          let ctl, cancelled = false;
          const body = new ReadableStream({ start: (c) => void (ctl = c), cancel: () => void (cancelled = true) });
          init.signal.addEventListener("abort", () => {
            try {
              ctl.error(abortError());
            } catch {}
          });
          resolve(new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream", ...headers } }));
          return {
            push: (t) => ctl.enqueue(enc.encode(t)),
            end: () => ctl.close(),
            fail: (e) => ctl.error(e),
            cancelled: () => cancelled,
          };
        },
        reply: (status, body = "", headers = {}) => resolve(new Response(body, { status, headers })),
        fail: (msg = "fetch failed") => reject(new TypeError(msg)),
      };
      init.signal.addEventListener("abort", () => reject(abortError()));
      waiting.length ? waiting.shift()(call) : arrived.push(call);
    });
  fetch.next = () => (arrived.length ? Promise.resolve(arrived.shift()) : new Promise((r) => waiting.push(r)));
  fetch.pending = () => arrived.length;
  return fetch;
}

// setup connects a client to a fake fetch with instant, recorded sleeps.
function setup(opts = {}) {
  const fetch = fakeFetch(), events = [], delays = [], states = [];
  const client = connect("https://hub.example/.well-known/mercure", {
    topic: "t",
    fetch,
    sleep: async (ms) => void delays.push(ms),
    onEvent: (e) => events.push(e),
    ...opts,
  });
  client.subscribe(() => {
    const s = client.getSnapshot().state;
    if (states.at(-1) != s) states.push(s);
  });
  return { fetch, client, events, delays, states };
}

// until waits for cond() to hold, failing after 2 s.
async function until(cond, what = "condition") {
  for (const end = Date.now() + 2000; !cond(); ) {
    if (Date.now() > end) assert.fail("timed out waiting for " + what);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const ids = (events) => events.map((e) => e.id);

test("selectors, token and credentials go on the request", async () => {
  const { fetch, client } = setup({
    topic: ["a", "b"],
    match: "m",
    matchURLPattern: ["https://x/*"],
    token: "T",
    credentials: "include",
  });
  const call = await fetch.next();
  assert.deepEqual(call.url.searchParams.getAll("topic"), ["a", "b"]);
  assert.deepEqual(call.url.searchParams.getAll("match"), ["m"]);
  assert.deepEqual(call.url.searchParams.getAll("match_urlpattern"), ["https://x/*"]);
  assert.equal(call.header("Authorization"), "Bearer T");
  assert.equal(call.header("Last-Event-ID"), undefined);
  assert.equal(call.init.credentials, "include");
  client.close();
});

test("state machine: connecting, open, backoff, connecting, open, closed; the snapshot is stable between changes", async () => {
  const { fetch, client, states } = setup();
  assert.equal(client.getSnapshot().state, "connecting");
  const s1 = (await fetch.next()).stream();
  await until(() => client.getSnapshot().state == "open", "open");
  const snap = client.getSnapshot();
  assert.equal(client.getSnapshot(), snap, "same object while nothing changes");
  assert.equal(snap.reconnects, 0);
  assert.equal(typeof snap.lastSync, "number");
  s1.end();
  const call = await fetch.next();
  assert.equal(client.getSnapshot().reconnects, 1);
  assert.equal(client.getSnapshot().lastError.message, "stream ended");
  call.stream();
  await until(() => client.getSnapshot().state == "open", "open again");
  assert.equal(client.getSnapshot().lastError, null, "an open stream clears the error");
  client.close();
  await until(() => client.getSnapshot().state == "closed", "closed");
  assert.deepEqual(states, ["open", "backoff", "connecting", "open", "closed"]);
});

test("resume: Last-Event-ID is the last delivered id, and an id is never delivered twice", async () => {
  const { fetch, client, events } = setup({ lastEventId: "0" });
  let call = await fetch.next();
  assert.equal(call.header("Last-Event-ID"), "0");
  const s1 = call.stream();
  s1.push("id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: cut");
  await until(() => events.length == 2, "two events");
  s1.fail(new TypeError("network error"));
  call = await fetch.next();
  assert.equal(call.header("Last-Event-ID"), "2", "the unfinished block's id does not count");
  const s2 = call.stream();
  // A hub that replays too much: 1 and 2 again.
  s2.push("id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: c\n\n: heartbeat\n\ndata: no id\n\n");
  await until(() => events.length == 4, "four events");
  assert.deepEqual(ids(events), ["1", "2", "3", "3"]);
  assert.deepEqual(events.map((e) => e.data), ["a", "b", "c", "no id"], "an event without its own id is never dropped");
  assert.equal(client.getSnapshot().lastEventId, "3");
  client.close();
});

test("echo: ids the app registered are not delivered, but the stream resumes after them", async () => {
  const { fetch, client, events } = setup();
  client.ignore("mine-1");
  const s = (await fetch.next()).stream();
  s.push("id: theirs-1\ndata: x\n\nid: mine-1\ndata: y\n\nid: theirs-2\ndata: z\n\n");
  await until(() => events.length == 2, "two events");
  assert.deepEqual(ids(events), ["theirs-1", "theirs-2"]);
  s.push("id: theirs-3\ndata: w\n\nid: mine-1\ndata: y\n\n");
  s.end();
  const call = await fetch.next();
  assert.equal(call.header("Last-Event-ID"), "mine-1", "resumes after the echo, even a repeated one");
  assert.deepEqual(ids(events), ["theirs-1", "theirs-2", "theirs-3"]);
  client.close();
});

test("backoff: full jitter under a doubling ceiling, capped, reset after a healthy stream", async (t) => {
  t.mock.method(Math, "random", () => 0.999);
  const { fetch, client, delays } = setup({ backoff: 100, maxBackoff: 1000, healthy: 50 });
  for (let i = 0; i < 6; i++) (await fetch.next()).fail();
  const call = await fetch.next();
  assert.deepEqual(delays.map(Math.round), [100, 200, 400, 799, 999, 999]);
  // A stream that lived past `healthy` resets the ceiling.
  const s = call.stream();
  await until(() => client.getSnapshot().state == "open", "open");
  await new Promise((r) => setTimeout(r, 60));
  s.end();
  (await fetch.next()).fail();
  await fetch.next();
  assert.deepEqual(delays.slice(6).map(Math.round), [100, 200]);
  client.close();
});

test("backoff: a short-lived stream does not reset the ceiling", async (t) => {
  t.mock.method(Math, "random", () => 0.999);
  const { fetch, client, delays } = setup({ backoff: 100, healthy: 60000 });
  (await fetch.next()).fail();
  (await fetch.next()).stream().end();
  await fetch.next();
  assert.deepEqual(delays.map(Math.round), [100, 200]);
  client.close();
});

test("backoff: the jitter is random below the ceiling", async (t) => {
  const rs = [0.5, 0.25];
  t.mock.method(Math, "random", () => rs.shift());
  const { fetch, client, delays } = setup({ backoff: 1000 });
  (await fetch.next()).fail();
  (await fetch.next()).fail();
  await fetch.next();
  assert.deepEqual(delays, [500, 500]);
  client.close();
});

test("the server's retry: is a floor under the backoff", async (t) => {
  t.mock.method(Math, "random", () => 0);
  const { fetch, client, delays } = setup();
  const s = (await fetch.next()).stream();
  s.push("retry: 5000\n\n");
  s.end();
  (await fetch.next()).fail();
  await fetch.next();
  assert.deepEqual(delays, [5000, 5000]);
  client.close();
});

test("Retry-After on 503 and 429 is honoured; 5xx retries; the hub's reason is reported", async (t) => {
  t.mock.method(Math, "random", () => 0);
  const { fetch, client, delays } = setup();
  (await fetch.next()).reply(503, "this edge hub holds its limit of 1 streams (MAX_CLIENTS); retry later\n", { "Retry-After": "7" });
  let call = await fetch.next();
  assert.deepEqual(client.getSnapshot().lastError, {
    status: 503,
    message: "this edge hub holds its limit of 1 streams (MAX_CLIENTS); retry later",
  });
  call.reply(429, "slow down", { "Retry-After": new Date(Date.now() + 3000).toUTCString() });
  call = await fetch.next();
  call.reply(502, "bad gateway");
  call = await fetch.next();
  assert.equal(delays[0], 7000);
  assert.ok(delays[1] > 1000 && delays[1] <= 3000, `HTTP-date Retry-After: ${delays[1]}`);
  assert.equal(delays[2], 0);
  call.stream();
  await until(() => client.getSnapshot().state == "open", "open");
  client.close();
});

test("401 without a refresh hook stops and says why; 400 stops too", async () => {
  for (const [status, body] of [[401, "token expired"], [403, "no subscribe grant"], [400, "bad topic selector"]]) {
    const { fetch, client, delays } = setup();
    (await fetch.next()).reply(status, body + "\n");
    await until(() => client.getSnapshot().state == "closed", "closed");
    assert.deepEqual(client.getSnapshot().lastError, { status, message: body });
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(fetch.pending(), 0, "no further attempt");
    assert.deepEqual(delays, []);
  }
});

test("refresh hook: a new token is used at once; null or the same token stops", async () => {
  const seen = [];
  let next = "fresh";
  const { fetch, client, events, delays } = setup({
    token: "old",
    refresh: async (err) => (seen.push(err), next),
  });
  let call = await fetch.next();
  call.reply(401, "token expired\n");
  call = await fetch.next();
  assert.deepEqual(seen, [{ status: 401, message: "token expired" }]);
  assert.equal(call.header("Authorization"), "Bearer fresh");
  assert.deepEqual(delays, [], "no wait before the retry with the new token");
  const s = call.stream();
  s.push("id: 1\ndata: a\n\n");
  await until(() => events.length == 1, "event");
  s.end();
  call = await fetch.next();
  next = "fresh"; // the hook has nothing better: the same token
  call.reply(401, "token expired\n");
  await until(() => client.getSnapshot().state == "closed", "closed");
  assert.equal(client.getSnapshot().lastError.status, 401);
});

test("refresh hook: a second refusal in a row waits out the backoff", async (t) => {
  t.mock.method(Math, "random", () => 0.5);
  let n = 0;
  const { fetch, client, delays } = setup({ refresh: () => "t" + n++ });
  (await fetch.next()).reply(401, "expired");
  (await fetch.next()).reply(401, "expired");
  const call = await fetch.next();
  assert.equal(call.header("Authorization"), "Bearer t1");
  assert.equal(delays.length, 1);
  client.close();
});

test("mercure-missed: resync is called, the state is stale until it resolves, and the notice is not an event", async () => {
  let finish;
  const reasons = [];
  const { fetch, client, events, states } = setup({
    resync: (reason) => (reasons.push(reason), new Promise((r) => (finish = r))),
  });
  const s = (await fetch.next()).stream();
  s.push('event: mercure-missed\ndata: {"reason":"edge-gap"}\n\nid: 5\ndata: after\n\n');
  await until(() => client.getSnapshot().state == "stale", "stale");
  assert.deepEqual(reasons, ["edge-gap"]);
  await until(() => events.length == 1, "event during resync");
  assert.deepEqual(ids(events), ["5"], "events still flow while stale");
  // A second notice while the first resync runs: one more resync after it.
  s.push('event: mercure-missed\ndata: {"reason":"unknown-last-event-id"}\n\n');
  await new Promise((r) => setTimeout(r, 10));
  finish();
  await until(() => reasons.length == 2, "second resync");
  assert.equal(client.getSnapshot().state, "stale");
  assert.deepEqual(reasons, ["edge-gap", "unknown-last-event-id"]);
  finish();
  await until(() => client.getSnapshot().state == "open", "open");
  assert.deepEqual(states, ["open", "stale", "open"]);
  client.close();
});

test("a failing resync is retried and reported", async () => {
  let n = 0;
  const { fetch, client } = setup({
    resync: async () => {
      if (n++ == 0) throw new Error("state endpoint down");
    },
  });
  (await fetch.next()).stream().push('event: mercure-missed\ndata: {"reason":"edge-gap"}\n\n');
  await until(() => n == 2 && client.getSnapshot().state == "open", "retried resync");
  assert.equal(client.getSnapshot().lastError.message, "resync failed: state endpoint down");
  client.close();
});

test("a resume answered with Mercure-Last-Event-ID: earliest triggers resync, once with the notice that follows", async () => {
  const reasons = [];
  const { fetch, client, events } = setup({ lastEventId: "old", resync: async (r) => void reasons.push(r) });
  const s = (await fetch.next()).stream({ "Mercure-Last-Event-ID": "earliest", "Last-Event-ID": "earliest" });
  await until(() => reasons.length == 1, "resync");
  s.push('event: mercure-missed\ndata: {"reason":"unknown-last-event-id"}\n\nid: 1\ndata: a\n\n');
  await until(() => events.length == 1, "event");
  assert.deepEqual(reasons, ["earliest"], "the in-band notice of the same miss is not a second one");
  s.push('event: mercure-missed\ndata: {"reason":"edge-gap"}\n\n');
  await until(() => reasons.length == 2, "second resync");
  assert.deepEqual(reasons, ["earliest", "edge-gap"]);
  client.close();
});

test("a request for earliest answered with earliest is no miss", async () => {
  const reasons = [];
  const { fetch, client, events } = setup({ lastEventId: "earliest", resync: async (r) => void reasons.push(r) });
  const call = await fetch.next();
  assert.equal(call.header("Last-Event-ID"), "earliest");
  call.stream({ "Mercure-Last-Event-ID": "earliest" }).push("id: 1\ndata: a\n\n");
  await until(() => events.length == 1, "event");
  assert.deepEqual(reasons, []);
  client.close();
});

test("without a resync hook, mercure-missed is delivered as an event", async () => {
  const { fetch, client, events } = setup();
  (await fetch.next()).stream().push('event: mercure-missed\ndata: {"reason":"edge-gap"}\n\n');
  await until(() => events.length == 1, "event");
  assert.equal(events[0].type, "mercure-missed");
  client.close();
});

test("a silent stream is dropped after idle ms and reopened", async () => {
  const { fetch, client } = setup({ idle: 30 });
  (await fetch.next()).stream();
  await fetch.next();
  assert.equal(client.getSnapshot().lastError.message, "no data for 30 ms");
  client.close();
});

test("a 200 that is not an event stream is retried", async () => {
  const { fetch, client } = setup();
  (await fetch.next()).reply(200, "<html>", { "Content-Type": "text/html" });
  await fetch.next();
  assert.deepEqual(client.getSnapshot().lastError, { status: 200, message: "not an event stream: text/html" });
  client.close();
});

test("a line or event past the limits is reported, the stream closed and reopened after the last event", async () => {
  const { fetch, client, events } = setup({ maxLineSize: 16, maxEventSize: 32 });
  let call = await fetch.next();
  const s1 = call.stream();
  s1.push("id: 1\ndata: a\n\nid: 2\ndata: 0123456789abcdefgh\n\n");
  call = await fetch.next();
  assert.deepEqual(ids(events), ["1"]);
  assert.deepEqual(client.getSnapshot().lastError, { message: "event stream: line too long (limit 16 bytes)", status: undefined });
  assert.ok(s1.cancelled(), "the response body was cancelled");
  assert.equal(call.header("Last-Event-ID"), "1");
  assert.equal(client.getSnapshot().reconnects, 1);
  const s2 = call.stream();
  s2.push("id: 2\ndata: 0123456789\ndata: 0123456789\ndata: 0123456789\n\n");
  call = await fetch.next();
  assert.equal(client.getSnapshot().lastError.message, "event stream: event too large (limit 32 bytes)");
  assert.ok(s2.cancelled());
  assert.equal(call.header("Last-Event-ID"), "1");
  call.stream().push("id: 2\ndata: fits\n\n");
  await until(() => events.length == 2, "the event that fits");
  assert.deepEqual(ids(events), ["1", "2"]);
  client.close();
});

test("close during backoff stops for good", async () => {
  const fetch = fakeFetch();
  const client = connect("https://hub.example/.well-known/mercure", { fetch, backoff: 60000 });
  (await fetch.next()).fail();
  await until(() => client.getSnapshot().state == "backoff", "backoff");
  client.close();
  await until(() => client.getSnapshot().state == "closed", "closed");
  assert.equal(fetch.pending(), 0);
});

// ---- Size budget --------------------------------------------------------------

test("the client stays within 4 KB minified and gzipped", async (t) => {
  // esbuild comes with wrangler in the repository's node_modules; a copy of
  // the package outside the repository may not have it.
  const esbuild = await import("esbuild").catch(() => null);
  if (!esbuild) return t.skip("esbuild not installed");
  const { gzipSync } = await import("node:zlib");
  const src = readFileSync(new URL("./edge-sse.js", import.meta.url), "utf8");
  const { code } = await esbuild.transform(src, { minify: true, format: "esm" });
  const size = gzipSync(code, { level: 9 }).length;
  t.diagnostic(`edge-sse.js: ${src.length} bytes, ${code.length} minified, ${size} minified and gzipped`);
  assert.ok(size <= 4096, `${size} bytes minified and gzipped, budget 4096`);
});
