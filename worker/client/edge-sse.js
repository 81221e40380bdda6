// edge-sse: a browser client for Mercure hubs (and any text/event-stream
// endpoint) that never gives up silently. It reads the stream with fetch, so
// it can send Authorization and Last-Event-ID and read the status and
// headers; it reconnects with capped full-jitter backoff, resumes after the
// last event it delivered, never delivers an id twice, asks the app to
// resync when the hub says events were missed, drops the app's own echoes,
// and exposes its state as a store for React's useSyncExternalStore.
// No dependencies; see edge-sse.d.ts for the API.

const EOL = /\r\n?|\n/g;

/**
 * Returns a parser of one event stream, per WHATWG HTML §9.2.6
 * "Interpreting an event stream". push(bytes) decodes UTF-8 across chunk
 * boundaries (one leading BOM stripped) and calls onEvent({id, type, data},
 * hadId) at each dispatch, hadId telling whether the block carried its own
 * id field, and onRetry(ms) for each valid retry field. lastEventId() is the
 * last event ID string, starting at lastEventId.
 */
export function createParser(onEvent, onRetry, lastEventId = "") {
  const decoder = new TextDecoder();
  let pending = "", skipLF = false, data = "", type = "", idBuffer = lastEventId, hadId = false;

  const line = (l) => {
    if (!l) {
      // Dispatch: the last event ID string takes the buffer's value even
      // when there is no data to deliver.
      lastEventId = idBuffer;
      if (data) onEvent({ id: lastEventId, type: type || "message", data: data.slice(0, -1) }, hadId);
      data = type = "";
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
    if (name == "data") data += value + "\n";
    else if (name == "event") type = value;
    else if (name == "id") {
      if (!value.includes("\0")) (idBuffer = value), (hadId = true);
    } else if (name == "retry" && /^\d+$/.test(value)) {
      // Digits only. A value past 2^53 cannot be a delay anyone meant
      // (the Go parser's bound is 2^63); it is ignored.
      const ms = +value;
      if (Number.isSafeInteger(ms)) onRetry(ms);
    }
  };

  return {
    push(bytes) {
      let text = decoder.decode(bytes, { stream: true });
      // A CR that ended the previous chunk ended its line: an LF right
      // after it belongs to it.
      if (skipLF && text) {
        if (text[0] == "\n") text = text.slice(1);
        skipLF = false;
      }
      const s = pending + text;
      let from = 0, m;
      EOL.lastIndex = pending.length;
      while ((m = EOL.exec(s))) {
        line(s.slice(from, m.index));
        from = EOL.lastIndex;
        if (m[0] == "\r" && from == s.length) skipLF = true;
      }
      pending = s.slice(from);
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
    const p = createParser(deliver, (ms) => (serverRetry = ms), lastEventId);
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
