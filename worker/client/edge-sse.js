// edge-sse: a browser client for Mercure hubs (and any text/event-stream
// endpoint) that never gives up silently. It reads the stream with fetch, so
// it can send Authorization and Last-Event-ID and read the status and
// headers; it reconnects with capped full-jitter backoff, resumes after the
// last event it delivered, never delivers an id twice, asks the app to
// resync when the hub says events were missed, drops the app's own echoes,
// and exposes its state as a store for React's useSyncExternalStore.
// No dependencies; see edge-sse.d.ts for the API.

// The Go parser's defaults (shared/sse DefaultMaxLineSize, DefaultMaxEventSize).
const MAX_LINE = 64 << 10, MAX_EVENT = 1 << 20;

// utf8Length is the length of s in UTF-8 bytes (s has no lone surrogates:
// it comes from a TextDecoder).
const utf8Length = (s) => {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) n += c < 0x800 || (c >= 0xd800 && c < 0xe000) ? 1 : 2;
  }
  return n;
};

/**
 * Returns a parser of one event stream, per WHATWG HTML §9.2.6
 * "Interpreting an event stream". push(bytes) cuts the bytes into lines
 * across chunk boundaries (one leading BOM stripped), decodes each line as
 * UTF-8, and calls onEvent({id, type, data}, hadId) at each dispatch, hadId
 * telling whether the block carried its own id field, and onRetry(ms) for
 * each valid retry field. lastEventId() is the last event ID string,
 * starting at lastEventId.
 *
 * As the Go parser does, it bounds a line (maxLineSize bytes, not counting
 * its end-of-line, default 64 KiB) and an event's data buffer (maxEventSize
 * bytes of UTF-8 after decoding, counting the LF after each data line,
 * default 1 MiB). Past either, push throws an Error whose code is
 * "line_too_long" or "event_too_large", after delivering what came before;
 * the parser is then done and throws it again on each push.
 */
export function createParser(onEvent, onRetry, lastEventId = "", limits = {}) {
  const maxLine = limits.maxLineSize > 0 ? limits.maxLineSize : MAX_LINE;
  const maxEvent = limits.maxEventSize > 0 ? limits.maxEventSize : MAX_EVENT;
  // ignoreBOM: each line is decoded alone, and only the stream's first BOM
  // is stripped (below), not one at the start of every line.
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  // parts holds the bytes of the unfinished line (no CR or LF among them),
  // size their total.
  let parts = [], size = 0, bom = true, skipLF = false, error = null;
  let data = "", dataSize = 0, type = "", idBuffer = lastEventId, hadId = false;

  const stop = (code, limit) => {
    error = new Error(`event stream: ${code == "line_too_long" ? "line too long" : "event too large"} (limit ${limit} bytes)`);
    error.code = code;
    throw error;
  };

  const line = (l) => {
    if (!l) {
      // Dispatch: the last event ID string takes the buffer's value even
      // when there is no data to deliver.
      lastEventId = idBuffer;
      if (data) onEvent({ id: lastEventId, type: type || "message", data: data.slice(0, -1) }, hadId);
      data = type = "";
      dataSize = 0;
      hadId = false;
      return;
    }
    if (l[0] == ":") return;
    const colon = l.indexOf(":");
    let name = l, value = "";
    if (colon >= 0) {
      name = l.slice(0, colon);
      value = l.slice(colon + (l[colon + 1] == " " ? 2 : 1));
    }
    if (name == "data") {
      if ((dataSize += utf8Length(value) + 1) > maxEvent) stop("event_too_large", maxEvent);
      data += value + "\n";
    } else if (name == "event") type = value;
    else if (name == "id") {
      if (!value.includes("\0")) (idBuffer = value), (hadId = true);
    } else if (name == "retry" && /^\d+$/.test(value)) {
      // Digits only. A value past 2^53 cannot be a delay anyone meant
      // (the Go parser's bound is 2^63); it is ignored.
      const ms = +value;
      if (Number.isSafeInteger(ms)) onRetry(ms);
    }
  };

  // take ends the unfinished line with b[from:to] and processes it.
  const take = (b, from, to) => {
    if ((size += to - from) > maxLine) stop("line_too_long", maxLine);
    let bytes = b.subarray(from, to);
    if (parts.length) {
      bytes = new Uint8Array(size);
      let at = 0;
      for (const p of [...parts, b.subarray(from, to)]) bytes.set(p, at), (at += p.length);
    }
    parts = [];
    size = 0;
    line(decoder.decode(bytes));
  };

  return {
    push(b) {
      if (error) throw error;
      let i = 0;
      if (bom) {
        // The first three bytes of the stream, if they are a BOM.
        const head = [...parts, b].reduce((a, p) => a.concat([...p.subarray(0, 3 - a.length)]), []);
        const prefix = [0xef, 0xbb, 0xbf].slice(0, head.length);
        if (head.length < 3 && head.every((c, k) => c == prefix[k])) {
          if (b.length) parts.push(b.slice()), (size += b.length);
          return;
        }
        bom = false;
        if (head.every((c, k) => c == prefix[k])) {
          // Drop the BOM: the buffered bytes hold less than 3 bytes, all of it.
          i = 3 - size;
          parts = [];
          size = 0;
        }
      }
      if (skipLF && i < b.length) {
        if (b[i] == 10) i++;
        skipLF = false;
      }
      for (let from = i; ; ) {
        // The next CR or LF.
        while (i < b.length && b[i] != 10 && b[i] != 13) i++;
        if (i == b.length) {
          if (size + i - from > maxLine) stop("line_too_long", maxLine);
          if (i > from) parts.push(b.slice(from, i)), (size += i - from);
          return;
        }
        take(b, from, i);
        if (b[i++] == 13) {
          if (i == b.length) skipLF = true;
          else if (b[i] == 10) i++;
        }
        from = i;
      }
    },
    lastEventId: () => lastEventId,
  };
}

// A bounded set of ids, oldest dropped first.
const idSet = (max) => {
  const s = new Set();
  return {
    add(id) {
      s.delete(id);
      s.add(id);
      if (s.size > max) s.delete(s.values().next().value);
    },
    has: (id) => s.has(id),
    delete: (id) => s.delete(id),
  };
};

// retryAfter reads a Retry-After header (seconds or an HTTP date) in ms.
const retryAfter = (h) => (h == null ? 0 : /^\d+$/.test(h) ? h * 1000 : Math.max(0, Date.parse(h) - Date.now()) || 0);

/**
 * Opens a subscription to the hub at url (the /.well-known/mercure URL)
 * and returns the client: a store (subscribe, getSnapshot) plus ignore and
 * close. See edge-sse.d.ts for the options.
 */
export function connect(url, o = {}) {
  const base = o.backoff ?? 1000, cap = o.maxBackoff ?? 30000, healthy = o.healthy ?? 10000;
  const idle = o.idle ?? 45000, fetcher = o.fetch ?? globalThis.fetch.bind(globalThis);
  const wait = o.sleep ?? ((ms, signal) => new Promise((r) => {
    const done = () => (clearTimeout(t), signal.removeEventListener("abort", done), r());
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  }));
  const seen = idSet(o.remember ?? 1000), own = idSet(o.remember ?? 1000);
  const stop = new AbortController();
  const u = new URL(url, globalThis.location?.href);
  for (const [k, key] of [["topic", "topic"], ["match", "match"], ["matchURLPattern", "match_urlpattern"]])
    for (const v of [].concat(o[k] ?? [])) u.searchParams.append(key, v);

  let token = o.token, lastEventId = o.lastEventId ?? "", serverRetry = 0, attempt = 0;
  let conn = "connecting", stale = false, resyncs = 0, refreshed = false, missOnOpen = false, listeners = new Set();
  let snap = { state: conn, lastSync: null, lastError: null, reconnects: 0, lastEventId };

  const update = (patch) => {
    const state = conn == "open" && stale ? "stale" : conn;
    snap = { ...snap, ...patch, state, lastEventId };
    listeners.forEach((f) => f());
  };
  const fail = (message, status) => update({ lastError: { message, status } });
  const delay = (floor) => Math.max(floor, serverRetry, Math.random() * Math.min(cap, base * 2 ** attempt++));

  // resync runs the app's resync until it succeeds (retrying with backoff
  // when it throws), and once more if the hub says events were missed again
  // meanwhile; the state is stale until then.
  let reason;
  const resync = async (why) => {
    reason = why;
    if (resyncs++) return;
    stale = true;
    update();
    for (let n = 0; resyncs && !stop.signal.aborted; ) {
      const asked = resyncs;
      try {
        await o.resync(reason);
        resyncs -= asked;
      } catch (e) {
        fail("resync failed: " + (e?.message ?? e));
        await wait(Math.random() * Math.min(cap, base * 2 ** n++), stop.signal);
      }
    }
    resyncs = 0;
    stale = false;
    update({ lastSync: Date.now() });
  };

  const deliver = (e, hadId) => {
    if (e.type == "mercure-missed" && o.resync) {
      // Not the notice of the miss the response headers already reported.
      if (!missOnOpen) {
        let reason = e.data;
        try {
          reason = JSON.parse(e.data).reason ?? reason;
        } catch {}
        resync(reason);
      }
      missOnOpen = false;
      return;
    }
    missOnOpen = false;
    if (!hadId) o.onEvent?.(e);
    else if (!seen.has(e.id)) {
      // Delivered once, across reconnects; the app's own ids never.
      seen.add(e.id);
      if (!own.delete(e.id)) o.onEvent?.(e);
    }
  };

  // stream reads one response; it returns when the stream ends or stalls.
  const stream = async (res, abort) => {
    const p = createParser(deliver, (ms) => (serverRetry = ms), lastEventId, o);
    const opened = Date.now();
    const mark = res.headers.get("Mercure-Last-Event-ID") ?? res.headers.get("Last-Event-ID");
    conn = "open";
    refreshed = false;
    update({ lastSync: opened, lastError: null });
    // The hub could not resume after the id sent: it starts from the
    // earliest event it holds, and may say so again in band.
    if ((missOnOpen = mark == "earliest" && lastEventId && lastEventId != "earliest" && !!o.resync)) resync("earliest");
    const reader = res.body.getReader();
    let timer;
    const arm = () => (clearTimeout(timer), (timer = setTimeout(abort, idle)));
    try {
      for (arm(); ; arm()) {
        const { done, value } = await reader.read();
        if (done) break;
        p.push(value);
        lastEventId = p.lastEventId();
        update({ lastSync: Date.now() });
      }
      fail("stream ended");
    } finally {
      clearTimeout(timer);
      // A stream left early (a line or event past the limits, a throwing
      // onEvent) is closed, not left downloading.
      reader.cancel().catch(() => {});
      lastEventId = p.lastEventId();
      if (Date.now() - opened >= healthy) attempt = 0;
    }
  };

  const run = async () => {
    while (!stop.signal.aborted) {
      const ac = new AbortController(), abort = () => ac.abort();
      stop.signal.addEventListener("abort", abort);
      let floor = 0;
      try {
        const headers = { Accept: "text/event-stream" };
        if (token) headers.Authorization = "Bearer " + token;
        if (lastEventId) headers["Last-Event-ID"] = lastEventId;
        const res = await fetcher(u.href, { headers, credentials: o.credentials ?? "same-origin", cache: "no-store", signal: ac.signal });
        const s = res.status;
        const type = res.headers.get("Content-Type") ?? "";
        if (s == 200 && /^text\/event-stream/i.test(type)) {
          await stream(res, abort);
        } else if (s == 200) {
          res.body?.cancel();
          fail("not an event stream: " + type, s);
        } else {
          const why = (await res.text().catch(() => "")).trim() || "HTTP " + s;
          if (s == 401 || s == 403) {
            const next = o.refresh && (await o.refresh({ status: s, message: why }));
            if (!next || next == token) {
              conn = "closed";
              stop.abort();
              return fail(why, s);
            }
            token = next;
            // Straight back with the new token, unless it was already new.
            if (!refreshed) {
              refreshed = true;
              update({ reconnects: snap.reconnects + 1 });
              continue;
            }
          }
          else if (s != 408 && s != 429 && s < 500) {
            conn = "closed";
            stop.abort();
            return fail(why, s);
          }
          if (s == 429 || s == 503) floor = retryAfter(res.headers.get("Retry-After"));
          fail(why, s);
        }
      } catch (e) {
        if (stop.signal.aborted) break;
        fail(ac.signal.aborted ? "no data for " + idle + " ms" : String(e?.message ?? e));
      } finally {
        stop.signal.removeEventListener("abort", abort);
      }
      if (stop.signal.aborted) break;
      conn = "backoff";
      update();
      await wait(delay(floor), stop.signal);
      if (stop.signal.aborted) break;
      conn = "connecting";
      update({ reconnects: snap.reconnects + 1 });
    }
    conn = "closed";
    update();
  };
  run();

  return {
    subscribe(f) {
      listeners.add(f);
      return () => listeners.delete(f);
    },
    getSnapshot: () => snap,
    ignore: (id) => own.add(id),
    close: () => stop.abort(),
  };
}
