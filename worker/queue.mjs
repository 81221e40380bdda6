// The client streams of the hub: what waits for a client, in chunks and in
// bytes, and the write that refuses a chunk to a client with too much
// waiting (a slow client, dropped rather than waited for).
//
// A client stream is an IdentityTransformStream: its readable side is the
// response body, and the hub writes to its writable side through a Sink.
// Not a ReadableStream whose controller the hub enqueues to: workerd keeps
// about 90 bytes of JS heap alive for every chunk enqueued to such a
// stream, for as long as the stream lives (measured with V8's GC trace in
// a pure-JS object: 200 held streams, 197,000 chunks, live heap after
// each full collection growing from 1 to 19.7 MB, freed only when the
// streams ended; the same writes through IdentityTransformStream writers
// left it flat at 0.6 MB for the same CPU). A held SSE stream lives for
// minutes, so that heap grew with every event, and V8's full collections,
// which are atomic in workerd and take time in proportion to the live
// heap, grew with it: they were the hub's latency p99 (docs/EVIDENCE.md, "A client
// write must not keep JS heap alive"; docs/PLATFORM.md fact 24).
//
// A writable stream counts the bytes waiting in it but not the chunks, so
// the Sink counts both itself: a write adds its chunk, and the write's
// promise, which settles once the readable side has taken the chunk (an
// IdentityTransformStream holds nothing of its own), takes it off again.
// Writes settle in order, so a queue of sizes says which bytes leave.

// BYTE_UNIT is the contract's jsapi.ByteUnit: what a write returns is
// chunks + BYTE_UNIT × bytes, both counts in one number (exact while fewer
// than BYTE_UNIT chunks and fewer than 2^32 bytes wait; Go bounds both far
// below).
export const BYTE_UNIT = 2 ** 21;

// Sink is the hub's end of one client stream.
export class Sink {
  constructor(writer) {
    this.writer = writer;
    this.chunks = 0; // written, not yet taken by the readable side
    this.bytes = 0;
    this.sizes = []; // their byte lengths, oldest first
    this.gone = false; // the stream is closed or errored
    // One pair of callbacks per stream, not per write.
    this.taken = () => {
      this.chunks--;
      this.bytes -= this.sizes.shift();
    };
    this.failed = () => {
      this.gone = true;
    };
  }
}

// clientStream makes a client stream: the body to answer with and the
// Sink the hub writes to. onGone runs once if the stream ends other than
// by close (the client went away: workerd errors the stream when the
// response can no longer be delivered).
export function clientStream(onGone) {
  const pipe = new IdentityTransformStream();
  const sink = new Sink(pipe.writable.getWriter());
  sink.writer.closed.then(
    () => {},
    () => {
      sink.gone = true;
      onGone();
    },
  );
  return { body: pipe.readable, sink };
}

// waiting returns what waits for sink as [chunks, bytes], or null once its
// stream is closed or errored.
export function waiting(sink) {
  return sink.gone ? null : [sink.chunks, sink.bytes];
}

// write writes chunk unless the client is gone or more than limit chunks
// or more than limitBytes bytes already wait for it (so at most limitBytes
// plus one chunk ever wait). It returns what waits afterwards, the chunk
// included, as chunks + BYTE_UNIT × bytes, or -1 when the chunk was not
// written. It never throws: a client may leave at any moment, and a JS
// error thrown into a resident Go instance panics it and kills every
// stream of the object.
export function write(sink, chunk, limit, limitBytes) {
  if (sink.gone || sink.chunks > limit || sink.bytes > limitBytes) return -1;
  try {
    sink.writer.write(chunk).then(sink.taken, sink.failed);
  } catch (e) {
    sink.gone = true;
    return -1;
  }
  sink.chunks++;
  sink.bytes += chunk.byteLength;
  sink.sizes.push(chunk.byteLength);
  return sink.chunks + BYTE_UNIT * sink.bytes;
}

// close ends sink's stream once what waits has been taken. It never
// throws.
export function close(sink) {
  if (sink.gone) return;
  sink.gone = true;
  sink.writer.close().catch(() => {});
}
