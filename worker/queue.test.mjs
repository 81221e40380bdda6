import { test } from "node:test";
import assert from "node:assert/strict";
import { BYTE_UNIT, Sink, clientStream as hubStream, close, waiting, write } from "./queue.mjs";

// A client stream as the hub makes it (clientStream needs workerd's
// IdentityTransformStream): a Sink over the writer of a TransformStream,
// which, like an IdentityTransformStream with nothing waiting to be read,
// settles each write once its readable side has taken the chunk.
function clientStream() {
  const pipe = new TransformStream(undefined, { highWaterMark: 0 });
  const sink = new Sink(pipe.writable.getWriter());
  return { readable: pipe.readable, sink };
}

const decode = (q) => [q % BYTE_UNIT, Math.floor(q / BYTE_UNIT)];
const turn = () => new Promise((r) => setTimeout(r, 0));

test("write counts what waits in chunks and bytes", () => {
  const { sink } = clientStream();
  assert.deepEqual(waiting(sink), [0, 0]);
  assert.deepEqual(decode(write(sink, new Uint8Array(100), 10, 1 << 20)), [1, 100]);
  assert.deepEqual(decode(write(sink, new Uint8Array(3), 10, 1 << 20)), [2, 103]);
  assert.deepEqual(waiting(sink), [2, 103]);
});

test("a client past its byte bound is refused, however few its chunks", () => {
  const { sink } = clientStream();
  const big = new Uint8Array(40 << 10);
  const limitBytes = 64 << 10;
  // 0 and 40 KiB waiting: written; 80 KiB waiting (past 64): refused.
  assert.ok(write(sink, big, 1024, limitBytes) > 0);
  assert.ok(write(sink, big, 1024, limitBytes) > 0);
  assert.equal(write(sink, big, 1024, limitBytes), -1);
  assert.equal(write(sink, new Uint8Array(1), 1024, limitBytes), -1);
  assert.deepEqual(waiting(sink), [2, 80 << 10]);
});

test("a client past its chunk bound is refused, however few its bytes", () => {
  const { sink } = clientStream();
  const limit = 3;
  for (let i = 0; i < 4; i++) assert.ok(write(sink, new Uint8Array(1), limit, 1 << 20) > 0);
  assert.equal(write(sink, new Uint8Array(1), limit, 1 << 20), -1);
});

test("what the client reads no longer counts, oldest first", async () => {
  const { readable, sink } = clientStream();
  const reader = readable.getReader();
  write(sink, new Uint8Array(50 << 10), 1024, 64 << 10);
  write(sink, new Uint8Array(20 << 10), 1024, 64 << 10);
  assert.equal(write(sink, new Uint8Array(10), 1024, 64 << 10), -1);
  assert.equal((await reader.read()).value.byteLength, 50 << 10);
  await turn();
  assert.deepEqual(waiting(sink), [1, 20 << 10]);
  assert.deepEqual(decode(write(sink, new Uint8Array(10), 1024, 64 << 10)), [2, (20 << 10) + 10]);
  await reader.read();
  await reader.read();
  await turn();
  assert.deepEqual(waiting(sink), [0, 0]);
});

test("one chunk written to many streams reaches each whole", async () => {
  const chunk = new TextEncoder().encode("data: x\n\n");
  const clients = [clientStream(), clientStream(), clientStream()];
  for (const c of clients) assert.ok(write(c.sink, chunk, 10, 1 << 20) > 0);
  for (const c of clients) {
    const { value } = await c.readable.getReader().read();
    assert.equal(new TextDecoder().decode(value), "data: x\n\n");
  }
});

test("a gone stream is refused without throwing", async () => {
  const { readable, sink } = clientStream();
  write(sink, new Uint8Array(1), 10, 10);
  await readable.cancel();
  await turn();
  assert.equal(waiting(sink), null);
  assert.equal(write(sink, new Uint8Array(1), 10, 10), -1);
  const closed = clientStream();
  close(closed.sink);
  close(closed.sink); // a second close is a no-op
  assert.equal(write(closed.sink, new Uint8Array(1), 10, 10), -1);
});

test("close ends the stream after what waits", async () => {
  const { readable, sink } = clientStream();
  write(sink, new Uint8Array(7), 10, 1 << 20);
  close(sink);
  const reader = readable.getReader();
  assert.equal((await reader.read()).value.byteLength, 7);
  assert.equal((await reader.read()).done, true);
});

test("the counts stay exact at the bounds Go allows", () => {
  const { sink } = clientStream();
  const chunk = new Uint8Array(1 << 20);
  let q = 0;
  for (let i = 0; i < 64; i++) q = write(sink, chunk, BYTE_UNIT - 1, 2 ** 31 - 1);
  assert.deepEqual(decode(q), [64, 64 << 20]);
});

test("clientStream tells of a client gone, not of a close", async () => {
  // workerd's IdentityTransformStream, as far as clientStream uses it.
  globalThis.IdentityTransformStream ??= class extends TransformStream {
    constructor() {
      super(undefined, { highWaterMark: 0 });
    }
  };
  let gone = 0;
  const left = hubStream(() => gone++);
  write(left.sink, new Uint8Array(3), 10, 1 << 20);
  await left.body.cancel();
  await turn();
  assert.equal(gone, 1);
  assert.equal(waiting(left.sink), null);
  const closed = hubStream(() => gone++);
  write(closed.sink, new Uint8Array(3), 10, 1 << 20);
  close(closed.sink);
  const reader = closed.body.getReader();
  await reader.read();
  assert.equal((await reader.read()).done, true);
  await turn();
  assert.equal(gone, 1);
});
