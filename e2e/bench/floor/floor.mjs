// The floor of a client write in workerd: a pure-JS Durable Object that
// holds client streams the way the edge hub does (an
// IdentityTransformStream per client whose writer is written to directly,
// the object's response returned by the front door as it is, as
// worker/entry.mjs and worker/queue.mjs do) and fans chunks out to all of
// them with nothing but the write: one Uint8Array per fan-out, one
// writer.write per client (its promise handled, as the hub's). e2e/bench
// asks it for the edge hub's own write pattern (clients, fan-outs, chunk
// size and pacing, measured in the same run) and compares the CPU each
// spends per client write.
//
//   GET  /subscribe[?group=G][&mode=readable]
//        a held text/event-stream; with mode=readable a ReadableStream
//        written with controller.enqueue instead, the way the hub wrote
//        until 2026-12-04 (the bench compares the JS heap each keeps alive
//        per write)
//   GET  /stats[?group=G]              {"streams": n}, of group G if given
//   POST /publish?group=G&data=D       writes "data: D" at once to the
//        streams of group G (the latency floor: the bench sends its clock)
//   POST /steady?rate=R&secs=S[&slice=N]  the sustained floor: R events a
//        second for S seconds made here, event k stamped with its
//        scheduled time (start + k/R, in UnixNano) and queued at the first
//        timer tick at or after it (an event the object is too busy to take
//        in waits, as a publish would in the feed); the queue is fanned out
//        as the hub does under a sustained rate: everything queued goes out
//        as one chunk, one write per stream of the default group, in slices
//        of N writes (default 64, the hub's SLICE_WRITES) with a 0 ms timer
//        between them (the hub's yield);
//        events arriving meanwhile wait for the next fan-out. Answers at once
//   POST /fanout?fanouts=F&writes=W&events=E&bytes=B&intervalMs=I[&slice=S&sliceBytes=SB]
//        F fan-outs, I ms apart, each writing W chunks one after the
//        other (each to every held stream, as the hub writes the 64-event
//        slices of a large batch), each chunk E events of about B bytes;
//        answers when done. With S (and SB), a fan-out yields to the
//        event loop (a 0 ms timer, as the hub's streams.pause) after S
//        writes or SB bytes written, whichever comes first: the hub's
//        slices, for the answers-during-a-burst measurement.
//        With plan=E1@T1,E2@T2,… instead of fanouts, writes, events and
//        intervalMs: fan-out k writes one chunk of Ek events to every
//        held stream, starting Tk ms after the first (at once if the one
//        before ran late): one burst of the hub's, fan-out by fan-out, as
//        its trace recorded it (its fan-outs are not alike: the first
//        events of a burst go out nearly alone, the rest in big batches).
//        Ek@Tk/Wk writes the chunk to the first Wk streams only: a round
//        of the hub's over the clients that lacked events joined during
//        the round before.
import { DurableObject } from "cloudflare:workers";

function stub(env) {
  return env.FLOOR.get(env.FLOOR.idFromName("floor"));
}

export default {
  fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/healthz") return new Response("ok\n");
    return stub(env).fetch(request);
  },
};

const encoder = new TextEncoder();

// chunk returns n SSE events of about size bytes each, as the hub frames
// them (an id line and a data line).
function chunk(seq, n, size) {
  let s = "";
  for (let i = 0; i < n; i++) {
    const head = `id: urn:floor:${seq}-${i}\ndata: `;
    s += head + "x".repeat(Math.max(1, size - head.length - 2)) + "\n\n";
  }
  return encoder.encode(s);
}

const ignore = () => {};

// clientStream adds a client to group and returns its body. A member of a
// group is anything with enqueue(chunk), which throws once the client is
// gone.
function clientStream(group, mode) {
  if (mode === "readable") {
    let self;
    return new ReadableStream({
      start(controller) {
        self = controller;
        group.add(controller);
        controller.enqueue(encoder.encode(":\n\n"));
      },
      cancel() {
        group.delete(self);
      },
    });
  }
  const pipe = new IdentityTransformStream();
  const writer = pipe.writable.getWriter();
  const self = { gone: false };
  const gone = () => {
    self.gone = true;
  };
  self.enqueue = (chunk) => {
    if (self.gone) throw new Error("client gone");
    writer.write(chunk).then(ignore, gone);
  };
  writer.closed.then(ignore, () => {
    gone();
    group.delete(self);
  });
  group.add(self);
  self.enqueue(encoder.encode(":\n\n"));
  return pipe.readable;
}

export class FloorHub extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.clients = new Set(); // the default group, for /fanout
    this.groups = new Map(); // other groups, for /publish
    this.seq = 0;
    this.queue = []; // /steady's events not yet fanned out
    this.draining = false;
  }

  // drain fans the queue out until it is empty, as the hub fans out a
  // batch: one chunk per fan-out, one write per stream, yielding every
  // SLICE writes.
  async drain(slice) {
    const SLICE = slice > 0 ? slice : 64;
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const events = this.queue.splice(0);
        const u = encoder.encode(events.map((d) => `data: ${d}\n\n`).join(""));
        let n = 0;
        for (const c of [...this.clients]) {
          try {
            c.enqueue(u);
          } catch (e) {
            this.clients.delete(c);
          }
          if (++n % SLICE === 0) await new Promise((r) => setTimeout(r, 0));
        }
        await new Promise((r) => setTimeout(r, 0));
      }
    } finally {
      this.draining = false;
    }
  }

  async fetch(request) {
    const url = new URL(request.url);
    const clients = this.clients;
    if (url.pathname === "/subscribe") {
      const name = url.searchParams.get("group") || "";
      let group = clients;
      if (name !== "") {
        if (!this.groups.has(name)) this.groups.set(name, new Set());
        group = this.groups.get(name);
      }
      return new Response(clientStream(group, url.searchParams.get("mode")), {
        headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
      });
    }
    if (url.pathname === "/stats") {
      const name = url.searchParams.get("group");
      return Response.json({ streams: (name ? this.groups.get(name) || new Set() : clients).size });
    }
    if (url.pathname === "/publish" && request.method === "POST") {
      const group = this.groups.get(url.searchParams.get("group") || "") || new Set();
      const u = encoder.encode(`data: ${url.searchParams.get("data") || ""}\n\n`);
      for (const c of group) {
        try {
          c.enqueue(u);
        } catch (e) {
          group.delete(c);
        }
      }
      return new Response(null, { status: 204 });
    }
    if (url.pathname === "/steady" && request.method === "POST") {
      const rate = Number(url.searchParams.get("rate") || 1000);
      const slice = Number(url.searchParams.get("slice") || 0);
      const total = rate * Number(url.searchParams.get("secs") || 10);
      const t0 = BigInt(Date.now()) * 1000000n;
      const step = 1000000000n / BigInt(rate);
      let k = 0;
      const tick = () => {
        const now = BigInt(Date.now()) * 1000000n;
        while (k < total && t0 + BigInt(k) * step <= now) {
          this.queue.push(String(t0 + BigInt(k) * step));
          k++;
        }
        if (this.queue.length > 0 && !this.draining) this.drain(slice);
        if (k < total) setTimeout(tick, 1);
      };
      tick();
      return new Response(null, { status: 204 });
    }
    if (url.pathname === "/fanout" && request.method === "POST") {
      const q = (name, def) => Number(url.searchParams.get(name) ?? def);
      const fanouts = q("fanouts", 1);
      const perFanout = q("writes", 1);
      const events = q("events", 1);
      const bytes = q("bytes", 100);
      const interval = q("intervalMs", 0);
      const slice = q("slice", 0);
      const sliceBytes = q("sliceBytes", 0);
      // steps: [events per chunk, ms after the start] of each fan-out.
      let steps = [];
      const plan = url.searchParams.get("plan");
      if (plan) {
        steps = plan.split(",").map((p) => {
          const [e, rest] = p.split("@");
          const [at, w] = rest.split("/");
          return [Number(e), Number(at), w === undefined ? Infinity : Number(w)];
        });
      } else {
        for (let f = 0; f < fanouts; f++) steps.push([events, f * interval, Infinity]);
      }
      let writes = 0;
      const t0 = Date.now();
      for (let f = 0; f < steps.length; f++) {
        const [stepEvents, at, stepWrites] = steps[f];
        if (f > 0) await new Promise((r) => setTimeout(r, Math.max(0, t0 + at - Date.now())));
        for (let w = 0; w < (plan ? 1 : perFanout); w++) {
          const u = chunk(this.seq++, stepEvents, bytes);
          let n = 0;
          let b = 0;
          let left = stepWrites;
          // Sliced, the set may change during a yield: go through a copy.
          for (const c of slice > 0 || sliceBytes > 0 ? [...clients] : clients) {
            if (left <= 0) break;
            if ((slice > 0 && n >= slice) || (sliceBytes > 0 && b >= sliceBytes)) {
              await new Promise((r) => setTimeout(r, 0));
              n = 0;
              b = 0;
            }
            if (!clients.has(c)) continue;
            try {
              c.enqueue(u);
              writes++;
              left--;
              n++;
              b += u.length;
            } catch (e) {
              clients.delete(c);
            }
          }
        }
      }
      return Response.json({ writes });
    }
    return new Response("not found\n", { status: 404 });
  }
}
