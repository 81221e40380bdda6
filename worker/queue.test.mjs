import { test } from "node:test";
import assert from "node:assert/strict";
import { BYTE_UNIT, clientQueuing, waiting, write } from "./queue.mjs";

// A client stream as the hub makes it, and its controller.
function clientStream() {
  let controller;
  const stream = new ReadableStream(
    {
      start(c) {
        controller = c;
      },
    },
    clientQueuing,
  );
  return { stream, controller };
}

const decode = (q) => [q % BYTE_UNIT, Math.floor(q / BYTE_UNIT)];

test("write counts what waits in chunks and bytes", () => {
  const { controller } = clientStream();
  assert.deepEqual(waiting(controller), [0, 0]);
  assert.deepEqual(decode(write(controller, new Uint8Array(100), 10, 1 << 20)), [1, 100]);
  assert.deepEqual(decode(write(controller, new Uint8Array(3), 10, 1 << 20)), [2, 103]);
  assert.deepEqual(waiting(controller), [2, 103]);
});

test("a client past its byte bound is refused, however few its chunks", () => {
  const { controller } = clientStream();
  const big = new Uint8Array(40 << 10);
  const limitBytes = 64 << 10;
  // 0 and 40 KiB waiting: written; 80 KiB waiting (past 64): refused.
  assert.ok(write(controller, big, 1024, limitBytes) > 0);
  assert.ok(write(controller, big, 1024, limitBytes) > 0);
  assert.equal(write(controller, big, 1024, limitBytes), -1);
  assert.equal(write(controller, new Uint8Array(1), 1024, limitBytes), -1);
  assert.deepEqual(waiting(controller), [2, 80 << 10]);
});

test("a client past its chunk bound is refused, however few its bytes", () => {
  const { controller } = clientStream();
  const limit = 3;
  for (let i = 0; i < 4; i++) assert.ok(write(controller, new Uint8Array(1), limit, 1 << 20) > 0);
  assert.equal(write(controller, new Uint8Array(1), limit, 1 << 20), -1);
});

test("what the client reads no longer counts", async () => {
  const { stream, controller } = clientStream();
  const reader = stream.getReader();
  write(controller, new Uint8Array(50 << 10), 1024, 64 << 10);
  write(controller, new Uint8Array(50 << 10), 1024, 64 << 10);
  assert.equal(write(controller, new Uint8Array(10), 1024, 64 << 10), -1);
  await reader.read();
  assert.deepEqual(waiting(controller), [1, 50 << 10]);
  assert.deepEqual(decode(write(controller, new Uint8Array(10), 1024, 64 << 10)), [2, (50 << 10) + 10]);
  await reader.read();
  await reader.read();
  assert.deepEqual(waiting(controller), [0, 0]);
});

test("a gone stream is refused without throwing", async () => {
  const { stream, controller } = clientStream();
  await stream.cancel();
  assert.equal(write(controller, new Uint8Array(1), 10, 10), -1);
  const closed = clientStream();
  closed.controller.close();
  assert.equal(write(closed.controller, new Uint8Array(1), 10, 10), -1);
});

test("the counts stay exact at the bounds Go allows", () => {
  const { controller } = clientStream();
  const chunk = new Uint8Array(1 << 20);
  let q = 0;
  for (let i = 0; i < 64; i++) q = write(controller, chunk, BYTE_UNIT - 1, 2 ** 31 - 1);
  assert.deepEqual(decode(q), [64, 64 << 20]);
});
