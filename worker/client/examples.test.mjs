// Runs the React and TanStack DB examples of the README's "Subscribe from a
// browser" section, as written there, against small stand-ins for React's
// useSyncExternalStore and TanStack DB's createCollection, with a fake
// fetch serving the hub's stream and the app's API.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const HUB = "https://your-worker.example.workers.dev/.well-known/mercure";
const LIB = "https://your-worker.example.workers.dev/edge-sse.js";
const enc = new TextEncoder();

// The code blocks of the README's browser section.
function readmeBlocks() {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const start = readme.indexOf("## Subscribe from a browser\n");
  const end = readme.indexOf("\n## ", start + 1);
  assert.ok(start >= 0 && end > start, "README has a Subscribe from a browser section");
  return [...readme.slice(start, end).matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
}

const dir = mkdtempSync(join(tmpdir(), "edge-sse-readme-"));

// load writes a README block as a module whose imports point at the local
// client and at the given stand-in modules, and imports it.
async function load(marker, fakes) {
  const block = readmeBlocks().find((b) => b.includes(marker));
  assert.ok(block, `a README example importing ${marker}`);
  let code = block.replace(`"${LIB}"`, JSON.stringify(new URL("./edge-sse.js", import.meta.url).href));
  for (const [name, source] of Object.entries(fakes)) {
    const file = join(dir, name.replace(/\W/g, "_") + ".mjs");
    writeFileSync(file, source);
    code = code.replace(`"${name}"`, JSON.stringify(pathToFileURL(file).href));
  }
  assert.ok(!/from "https:/.test(code), "every import resolved");
  const file = join(dir, `example-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, code);
  return import(pathToFileURL(file).href);
}

// hubFetch is a fake fetch: the hub URL answers with a stream the test
// writes to (hub.push); other URLs go to api(url, init).
function hubFetch(api) {
  const streams = [];
  const waiting = [];
  const fetch = async (url, init = {}) => {
    if (!String(url).startsWith(HUB)) return api(String(url), init);
    let ctl;
    const body = new ReadableStream({ start: (c) => void (ctl = c) });
    init.signal?.addEventListener("abort", () => {
      try {
        ctl.error(new DOMException("aborted", "AbortError"));
      } catch {}
    });
    const s = { url: new URL(url), push: (t) => ctl.enqueue(enc.encode(t)), fail: () => ctl.error(new TypeError("network error")) };
    streams.push(s);
    waiting.splice(0).forEach((r) => r(s));
    return new Response(body, { headers: { "Content-Type": "text/event-stream" } });
  };
  fetch.stream = () => (streams.length ? Promise.resolve(streams.at(-1)) : new Promise((r) => waiting.push(r)));
  return fetch;
}

async function until(cond, what) {
  for (const end = Date.now() + 5000; !cond(); ) {
    if (Date.now() > end) assert.fail("timed out waiting for " + what);
    await new Promise((r) => setTimeout(r, 2));
  }
}

// A stand-in for React's useSyncExternalStore: one component, re-rendered
// when the store notifies it, enforcing React's rule that getSnapshot
// returns the same value until the store changes.
const fakeReact = `
export const renders = [];
let component, unsubscribe;
export function render(fn) {
  component = fn;
  renders.push(fn());
}
export function unmount() { unsubscribe?.(); }
export function useSyncExternalStore(subscribe, getSnapshot) {
  const a = getSnapshot(), b = getSnapshot();
  if (a !== b) throw new Error("getSnapshot should be cached: two calls gave different values");
  if (!unsubscribe) unsubscribe = subscribe(() => renders.push(component()));
  return a;
}
`;

test("README: the React example renders the client's state as it changes", async (t) => {
  const fetch = hubFetch(() => assert.fail("the React example calls no API"));
  t.mock.method(globalThis, "fetch", fetch);
  t.mock.method(console, "log", () => {});
  const example = await load(`from "react"`, { react: fakeReact });
  t.after(() => example.hub.close());
  const fake = await import(pathToFileURL(join(dir, "react.mjs")).href);
  fake.render(example.useLiveStatus);
  assert.match(fake.renders[0], /^(connecting · last sync never|open · last sync \d.*) · 0 reconnects$/);
  const s = await fetch.stream();
  assert.equal(s.url.searchParams.get("topic"), "https://example.com/books/{id}");
  await until(() => fake.renders.at(-1).startsWith("open · last sync "), "an open render");
  // The connection drops: the component re-renders through backoff to the
  // next open stream.
  s.fail();
  await until(() => /^open · last sync \d.* · 1 reconnects$/.test(fake.renders.at(-1)), "a render after the reconnect");
  assert.ok(fake.renders.some((r) => r.startsWith("backoff · ")), `renders ${fake.renders}`);
  fake.unmount();
});

// A stand-in for TanStack DB's createCollection: it starts the sync at
// once, keeps the synced rows, and enforces the sync rules (write and
// truncate only inside begin/commit; insert only a new key; update and
// delete only a known one).
function fakeCreateCollection() {
  const log = { writes: [], ready: false, collection: null };
  const createCollection = (config) => {
    const rows = new Map();
    let tx = null;
    const collection = {
      rows,
      async insert(value) {
        await config.onInsert({ transaction: { mutations: [{ type: "insert", key: config.getKey(value), modified: value }] } });
      },
    };
    const cleanup = config.sync.sync({
      begin: () => {
        assert.equal(tx, null, "begin inside a transaction");
        tx = [];
      },
      write: (m) => {
        assert.ok(tx, "write outside begin/commit");
        tx.push(m);
      },
      truncate: () => {
        assert.ok(tx, "truncate outside begin/commit");
        tx.push({ type: "truncate" });
      },
      commit: () => {
        assert.ok(tx, "commit without begin");
        for (const m of tx) {
          log.writes.push(m);
          if (m.type == "truncate") {
            rows.clear();
            continue;
          }
          const key = config.getKey(m.value);
          if (m.type == "insert") assert.ok(!rows.has(key), `insert of existing key ${key}`);
          else assert.ok(rows.has(key), `${m.type} of unknown key ${key}`);
          m.type == "delete" ? rows.delete(key) : rows.set(key, m.value);
        }
        tx = null;
      },
      markReady: () => void (log.ready = true),
      collection,
    });
    collection.cleanup = cleanup;
    log.collection = collection;
    return collection;
  };
  return { createCollection, log };
}

test("README: the TanStack DB example loads, applies events, resyncs, and skips its own echoes", async (t) => {
  const API = "https://app.example/api/todos";
  let server = [{ id: 1, title: "a" }, { id: 2, title: "b" }];
  const posts = [];
  const fetch = hubFetch(async (url, init) => {
    assert.equal(url, API);
    if (init.method == "POST") {
      const todo = JSON.parse(init.body);
      posts.push({ id: init.headers["Update-Id"], todo });
      return Response.json({ ...todo, saved: true });
    }
    return Response.json(server);
  });
  t.mock.method(globalThis, "fetch", fetch);
  const { createCollection, log } = fakeCreateCollection();
  globalThis.__fakeCreateCollection = createCollection;
  const example = await load(`from "@tanstack/db"`, {
    "@tanstack/db": "export const createCollection = (c) => globalThis.__fakeCreateCollection(c);",
  });
  const todos = example.todoCollection(HUB, API);
  t.after(() => todos.cleanup());
  await until(() => log.ready, "markReady");
  assert.deepEqual([...todos.rows.keys()], [1, 2]);

  const s = await fetch.stream();
  assert.equal(s.url.searchParams.get("topic"), API + "/{id}");
  const update = (id, op, value) => `id: ${id}\ndata: ${JSON.stringify({ op, value })}\n\n`;
  s.push(update("e1", "insert", { id: 3, title: "c" }) + update("e2", "update", { id: 1, title: "a2" }) + update("e3", "delete", { id: 2 }));
  await until(() => !todos.rows.has(2), "events applied");
  assert.deepEqual([...todos.rows.values()], [{ id: 1, title: "a2" }, { id: 3, title: "c" }]);

  // Missed events: the whole state is loaded again.
  server = [{ id: 7, title: "fresh" }];
  s.push('event: mercure-missed\ndata: {"reason":"edge-gap"}\n\n');
  await until(() => todos.rows.has(7), "resync");
  assert.deepEqual([...todos.rows.keys()], [7]);

  // The app's own insert: applied once when the API confirms it; its echo
  // on the stream is skipped.
  await todos.insert({ id: 8, title: "mine" });
  assert.deepEqual(todos.rows.get(8), { id: 8, title: "mine", saved: true });
  const writes = log.writes.length;
  s.push(update(posts[0].id, "insert", { id: 8, title: "mine", saved: true }) + update("e4", "insert", { id: 9, title: "theirs" }));
  await until(() => todos.rows.has(9), "the next event");
  assert.equal(log.writes.length, writes + 1, "the echo wrote nothing");
});
