// Unit tests of the feed pump (node --test worker/; make test-js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { feeds, feedWaits, resetFeedWaits } from "./feedpump.mjs";

const enc = new TextEncoder();
const dec = new TextDecoder();
const tick = () => new Promise((r) => setTimeout(r, 5));

// source returns a ReadableStream fed by hand, and counts its pulls.
function source() {
  let controller;
  const s = {
    pulls: 0,
    cancelled: false,
    push: (text) => controller.enqueue(enc.encode(text)),
    end: () => controller.close(),
    fail: (e) => controller.error(e),
  };
  s.stream = new ReadableStream(
    {
      start(c) {
        controller = c;
      },
      pull() {
        s.pulls++;
      },
      cancel() {
        s.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return s;
}

test("take joins every chunk that arrived since the last take, in order", async () => {
  const src = source();
  const pump = feeds.open(src.stream, 1 << 20);
  src.push("a");
  src.push("bb");
  src.push("ccc");
  await tick();
  const got = await pump.take(0);
  assert.equal(dec.decode(got.bytes), "abbccc");
  src.push("d");
  assert.equal(dec.decode((await pump.take(0)).bytes), "d");
});

test("ready tells whether read bytes wait for a take, without waiting itself", async () => {
  const src = source();
  const pump = feeds.open(src.stream, 1 << 20);
  await tick();
  assert.equal(pump.ready(), false); // nothing read yet
  src.push("a");
  await tick();
  assert.equal(pump.ready(), true);
  assert.equal(dec.decode((await pump.take(0)).bytes), "a");
  assert.equal(pump.ready(), false); // taken
  src.push("b");
  src.end();
  await tick();
  assert.equal(pump.ready(), true); // the last bytes still wait after the end
  assert.equal(dec.decode((await pump.take(0)).bytes), "b");
  assert.equal(pump.ready(), false);
  assert.deepEqual(await pump.take(0), { ended: true, error: "" });
});

test("take collects for collectMs more when data was already waiting", async () => {
  const src = source();
  const pump = feeds.open(src.stream, 1 << 20);
  src.push("first");
  await tick();
  const p = pump.take(30);
  setTimeout(() => src.push("-second"), 10); // within the collect window
  const got = await p;
  assert.equal(dec.decode(got.bytes), "first-second");
});

test("a take that waits for a quiet feed returns the data at once, collectMs or not", async () => {
  const src = source();
  const pump = feeds.open(src.stream, 1 << 20);
  src.push("zero");
  await tick();
  assert.equal(dec.decode((await pump.take(0)).bytes), "zero");
  await new Promise((r) => setTimeout(r, 60)); // the feed goes quiet
  const p = pump.take(30);
  setTimeout(() => src.push("first"), 5);
  setTimeout(() => src.push("-second"), 15); // after first, within 30 ms
  const got = await p;
  assert.equal(dec.decode(got.bytes), "first");
  assert.equal(dec.decode((await pump.take(0)).bytes), "-second");
});

test("without collectMs, take returns as soon as data arrives", async () => {
  const src = source();
  const pump = feeds.open(src.stream, 1 << 20);
  const p = pump.take(0);
  setTimeout(() => src.push("now"), 5);
  setTimeout(() => src.push("later"), 40);
  assert.equal(dec.decode((await p).bytes), "now");
  assert.equal(dec.decode((await pump.take(0)).bytes), "later");
});

test("the pump stops reading at maxBytes and goes on after a take", async () => {
  const src = source();
  const pump = feeds.open(src.stream, 4);
  src.push("12345"); // over the bound: the pump must not read on
  await tick();
  const pulls = src.pulls;
  src.push("6");
  await tick();
  await tick();
  assert.equal(src.pulls, pulls, "the pump read past maxBytes");
  assert.equal(dec.decode((await pump.take(0)).bytes), "12345");
  await tick();
  assert.equal(dec.decode((await pump.take(0)).bytes), "6");
});

test("end of stream: buffered data first, then ended", async () => {
  const src = source();
  const pump = feeds.open(src.stream, 1 << 20);
  src.push("last");
  src.end();
  await tick();
  assert.equal(dec.decode((await pump.take(0)).bytes), "last");
  const end = await pump.take(0);
  assert.equal(end.bytes, undefined);
  assert.equal(end.ended, true);
  assert.equal(end.error, "");
});

test("a stream error ends the feed with the error", async () => {
  const src = source();
  const pump = feeds.open(src.stream, 1 << 20);
  const p = pump.take(0);
  src.fail(new Error("connection reset"));
  const got = await p;
  assert.equal(got.ended, true);
  assert.match(got.error, /connection reset/);
});

test("cancel cancels the body and a waiting take ends", async () => {
  const src = source();
  const pump = feeds.open(src.stream, 1 << 20);
  const p = pump.take(0);
  pump.cancel();
  const got = await p;
  assert.equal(got.ended, true);
  assert.equal(src.cancelled, true);
});

test("cancel while the pump is paused at maxBytes ends it too", async () => {
  const src = source();
  const pump = feeds.open(src.stream, 1);
  src.push("xx");
  await tick();
  pump.cancel();
  assert.equal(dec.decode((await pump.take(0)).bytes), "xx");
  const got = await pump.take(0);
  assert.equal(got.ended, true);
});

test("waits counts how long the oldest chunk of a take waited in the pump", async () => {
  resetFeedWaits();
  const src = source();
  const pump = feeds.open(src.stream, 1 << 20);
  src.push("a");
  await new Promise((r) => setTimeout(r, 60));
  src.push("b");
  await tick();
  const got = await pump.take(0);
  assert.equal(dec.decode(got.bytes), "ab");
  // The take says when its oldest chunk arrived and when it was taken.
  assert.ok(got.takenAt - got.arrivedAt >= 55, `arrivedAt ${got.arrivedAt}, takenAt ${got.takenAt}: want the 60 ms wait`);
  assert.ok(Math.abs(Date.now() - got.takenAt) < 1000, `takenAt ${got.takenAt} is not a Date.now() of this take`);
  src.push("c");
  await pump.take(0);
  const w = feedWaits;
  assert.equal(w.takes, 2);
  assert.ok(w.maxMs >= 55, `max wait ${w.maxMs} ms, want ≥ 55 (the first chunk waited 60 ms)`);
  assert.equal(w.counts.reduce((a, b) => a + b, 0), 2);
  // 60 ms lies in the (50, 100] bucket; the second take's chunk waited
  // about nothing.
  assert.equal(w.counts[w.boundsMs.indexOf(100)], 1);
  assert.ok(w.counts[0] + w.counts[1] === 1, `counts ${w.counts}`);
  pump.cancel();
});
