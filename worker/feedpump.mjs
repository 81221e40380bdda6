// The feed pump of the EdgeHub object (entry.mjs): it reads the origin
// feed's body on the JS side, so that the Go hub takes everything that
// arrived since its last fan-out in ONE call. Why: workerd hands a fetch
// body over one HTTP chunk per read, i.e. one event per read, while a
// fan-out to every client blocks the thread; read from Go, a burst became
// one fan-out (one write per client) per event. Here the reads run on the
// event loop whenever Go is idle, and take() returns all of them joined.
//
// At most maxBytes wait here: past that the pump stops reading until Go
// takes them, and TCP pushes back to the origin (which drops a feed that
// falls a whole queue behind; the hub then resumes after its newest id).
//
// feedWaits counts, for every take() that found data, how long the
// oldest chunk of it had waited in the pump (collecting included): the
// time the object's thread was busy with something else when the event
// arrived. The edge's /_edge/stats shows it (feedWaits) for this isolate's
// pumps. Date.now() in workerd is the time the current event began, so a
// wait is measured from the read that brought the chunk to the turn that
// takes it.
const WAIT_BOUNDS_MS = [1, 5, 10, 20, 50, 100, 200];

function newWaits() {
  return { takes: 0, maxMs: 0, totalMs: 0, boundsMs: WAIT_BOUNDS_MS, counts: new Array(WAIT_BOUNDS_MS.length + 1).fill(0) };
}

export const feedWaits = newWaits();

// resetFeedWaits sets the counts back to zero (for tests).
export function resetFeedWaits() {
  Object.assign(feedWaits, newWaits());
}

export const feeds = {
  open(body, maxBytes) {
    const reader = body.getReader();
    const chunks = [];
    let size = 0;
    let firstAt = 0; // Date.now() when the oldest waiting chunk arrived
    let ended = false;
    let error = "";
    let wake = null; // set while a take() waits for data
    let resume = null; // set while the pump waits for a take()
    const notify = () => {
      if (wake) {
        const w = wake;
        wake = null;
        w();
      }
    };
    (async () => {
      try {
        for (;;) {
          if (size >= maxBytes) await new Promise((r) => (resume = r));
          const { value, done } = await reader.read();
          if (done) break;
          if (chunks.length === 0) firstAt = Date.now();
          chunks.push(value);
          size += value.byteLength;
          notify();
        }
      } catch (e) {
        error = String(e);
      }
      ended = true;
      notify();
    })();
    return {
      // take(collectMs) resolves to {bytes, arrivedAt, takenAt} once data
      // is there, or to {ended, error} when the feed is over and
      // everything was taken. arrivedAt is Date.now() when the oldest of
      // the bytes was read, takenAt when they were handed over.
      //
      // It collects for collectMs more (0: never) only when the feed runs
      // ahead of Go: bytes were already waiting at the call (events came
      // during Go's last fan-out; Go yields a turn after a large fan-out
      // before it asks, so that what queued up in the connection meanwhile
      // is read by then). A feed that is quiet when Go asks goes out at
      // once: at low rates collecting would only delay every event.
      take(collectMs) {
        return new Promise((resolve) => {
          const finish = () => {
            if (chunks.length === 0) {
              resolve({ ended: true, error });
              return;
            }
            const w = feedWaits;
            const waited = Math.max(0, Date.now() - firstAt);
            w.takes++;
            w.totalMs += waited;
            w.maxMs = Math.max(w.maxMs, waited);
            let b = 0;
            while (b < w.boundsMs.length && waited > w.boundsMs[b]) b++;
            w.counts[b]++;
            const bytes = new Uint8Array(size);
            let off = 0;
            for (const c of chunks) {
              bytes.set(c, off);
              off += c.byteLength;
            }
            chunks.length = 0;
            size = 0;
            if (resume) {
              const r = resume;
              resume = null;
              r();
            }
            resolve({ bytes, arrivedAt: firstAt, takenAt: Date.now() });
          };
          const collect = () => {
            if (collectMs > 0 && !ended) setTimeout(finish, collectMs);
            else finish();
          };
          if (ended) finish();
          else if (chunks.length > 0) collect();
          else wake = finish;
        });
      },
      // ready tells, without waiting, whether bytes the pump read wait
      // for a take (take(0) then resolves at once): Go asks between the
      // slices of a fan-out, and the events that arrived join it.
      ready() {
        return chunks.length > 0;
      },
      cancel() {
        reader.cancel().catch(() => {});
        if (resume) resume();
      },
    };
  },
};
