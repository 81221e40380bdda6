// Drives the worker's browser client (/edge-sse.js) in headless Chromium
// (Debian's /usr/bin/chromium through playwright-core) for the e2e tests.
// Usage: node edge-sse-driver.mjs PAGE_URL OPTIONS_JSON
//
// It opens PAGE_URL (any page of the worker: the client is imported from
// the page's origin), connects a client to /.well-known/mercure with
// OPTIONS_JSON ({topic, token, lastEventId, idle, backoff, maxBackoff,
// healthy, credentials, resync: bool, refreshTokens: [..]}) and prints one
// JSON line per happening, as it happens. With OPTIONS_JSON's hub (a
// worker's base URL), PAGE_URL may be any page: the client is imported
// from the hub and connects to it, cross-origin; cookie (a token) is set
// first as the hub's mercureAuthorization cookie.
//   {"event": {id, type, data}}          an event delivered to onEvent
//   {"state": s, "reconnects": n, "lastError": {...}|null}
//                                        the store changed state, reconnect
//                                        count or error (not lastSync alone)
//   {"resync": reason} / {"resynced": reason}
//                                        the resync hook started / returned
//   {"refresh": {status, message}, "gave": bool}
//                                        the refresh hook ran
// It reads JSON commands on stdin, one per line:
//   {"ignore": id}  client.ignore(id), answered {"ignored": id}
//   {"close": true} close the client and the browser, then exit 0
// It exits 1 with {"error": ...} on failure, and when stdin closes.
import { launchChromium } from "./chromium.mjs";
import { createInterface } from "node:readline";

const [pageURL, optionsJSON] = process.argv.slice(2);
const options = JSON.parse(optionsJSON || "{}");
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

const browser = await launchChromium();
const fail = async (e) => {
  out({ error: String(e) });
  await browser.close().catch(() => {});
  process.exit(1);
};
try {
  const page = await browser.newPage();
  page.on("console", (m) => console.error("page:", m.text()));
  page.on("pageerror", (e) => console.error("page error:", e));
  await page.exposeFunction("report", (line) => process.stdout.write(line + "\n"));
  if (options.cookie) {
    await page.context().addCookies([{ name: "mercureAuthorization", value: options.cookie, url: options.hub }]);
  }
  await page.goto(pageURL);
  await page.evaluate(async (o) => {
    const hub = o.hub ?? "";
    const { connect } = await import(hub + "/edge-sse.js");
    const send = (obj) => window.report(JSON.stringify(obj));
    const tokens = [...(o.refreshTokens || [])];
    const opts = {
      topic: o.topic,
      token: o.token,
      lastEventId: o.lastEventId,
      idle: o.idle,
      backoff: o.backoff,
      maxBackoff: o.maxBackoff,
      healthy: o.healthy,
      credentials: o.credentials,
      onEvent: (e) => send({ event: { id: e.id, type: e.type, data: e.data } }),
    };
    if (o.resync) {
      // An app refetching its state: it takes a moment.
      opts.resync = async (reason) => {
        send({ resync: reason });
        await new Promise((r) => setTimeout(r, 500));
        send({ resynced: reason });
      };
    }
    if (o.refreshTokens) {
      opts.refresh = async (err) => {
        const t = tokens.shift();
        send({ refresh: err, gave: !!t });
        return t;
      };
    }
    const client = connect(hub + "/.well-known/mercure", opts);
    window.client = client;
    let last = "";
    const state = () => {
      const s = client.getSnapshot();
      const key = JSON.stringify([s.state, s.reconnects, s.lastError]);
      if (key != last) {
        last = key;
        send({ state: s.state, reconnects: s.reconnects, lastError: s.lastError });
      }
    };
    client.subscribe(state);
    state();
  }, options);
} catch (e) {
  await fail(e);
}

const rl = createInterface({ input: process.stdin });
rl.on("line", async (line) => {
  try {
    const cmd = JSON.parse(line);
    if (cmd.ignore !== undefined) {
      const page = browser.contexts()[0].pages()[0];
      await page.evaluate((id) => window.client.ignore(id), cmd.ignore);
      out({ ignored: cmd.ignore });
    } else if (cmd.close) {
      const page = browser.contexts()[0].pages()[0];
      await page.evaluate(() => window.client.close());
      await browser.close();
      process.exit(0);
    }
  } catch (e) {
    await fail(e);
  }
});
rl.on("close", () => fail("stdin closed"));
