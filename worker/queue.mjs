// The queue of a client stream of the hub: what waits for a client, in
// chunks and in bytes, and the write that refuses a chunk to a client with
// too much waiting (a slow client, dropped rather than waited for).
//
// A ReadableStream counts what waits in it through its queuing strategy
// (desiredSize = highWaterMark - the sizes of the chunks waiting). Client
// streams give each chunk the size 1 + BYTE_UNIT × its byteLength, with a
// high-water mark of 0: -desiredSize then holds both counts at once, the
// chunks below BYTE_UNIT and the bytes above it, exactly (the sums stay
// integers below 2^53 while fewer than BYTE_UNIT chunks and fewer than
// 2^32 bytes wait; Go bounds both far below). One strategy call per
// write, and no bookkeeping of our own that could drift from the stream's.

// BYTE_UNIT is the contract's jsapi.ByteUnit: more chunks than ever wait.
export const BYTE_UNIT = 2 ** 21;

// clientQueuing is the queuing strategy of every client stream.
export const clientQueuing = {
  highWaterMark: 0,
  size: (chunk) => 1 + BYTE_UNIT * chunk.byteLength,
};

// waiting returns what waits in a stream of clientQueuing as
// [chunks, bytes], or null once the stream is closed or errored.
export function waiting(controller) {
  const d = controller.desiredSize;
  if (d === null) return null;
  const total = 0 - d; // not -d: -0 when nothing waits
  return [total % BYTE_UNIT, Math.floor(total / BYTE_UNIT)];
}

// write writes chunk unless the client is gone or more than limit chunks
// or more than limitBytes bytes already wait for it (so at most limitBytes
// plus one chunk ever wait). It returns what waits afterwards, the chunk
// included, encoded as -desiredSize is (chunks + BYTE_UNIT × bytes), or -1
// when the chunk was not written. It never throws: a client may cancel its
// stream at any moment, and a JS error thrown into a resident Go instance
// panics it and kills every stream of the object.
export function write(controller, chunk, limit, limitBytes) {
  try {
    const d = controller.desiredSize;
    if (d === null) return -1;
    if ((-d % BYTE_UNIT) > limit || Math.floor(-d / BYTE_UNIT) > limitBytes) return -1;
    controller.enqueue(chunk);
    return -controller.desiredSize;
  } catch (e) {
    return -1;
  }
}
