// Opens a page in headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core) and reports what its stream received. Prints
// {"ready":true} once the stream is open, then one JSON line per event in
// window.received, and exits 0 after COUNT events (1 on error or after
// 60 s).
// Usage: node chromium-client.mjs PAGE_URL COUNT [TOKEN] [--publish DATA] [--native]
// Without --native, PAGE_URL is the worker's demo page, which subscribes
// with the browser client (worker/client). With --native, the browser's
// own EventSource subscribes instead, from a plain page of the same origin
// (the worker's /healthz), to the topic= of PAGE_URL, listening to the
// default event type, mercure-missed and the types= it lists.
// With TOKEN (may be ""), the page's origin gets a mercureAuthorization
// cookie holding it, as an app would set for its users (EventSource cannot
// send headers). With --publish, once the stream is open the client fills
// the page's publish form with DATA (topic and type as the page preset
// them), submits it, and prints {"published": <the page's result line>}.
import { launchChromium } from "./chromium.mjs";

const argv = process.argv.slice(2);
const at = argv.indexOf("--publish");
const publishData = at >= 0 ? argv.splice(at, 2)[1] : undefined;
const nativeAt = argv.indexOf("--native");
const native = nativeAt >= 0;
if (native) argv.splice(nativeAt, 1);
const [pageURL, countArg, token] = argv;
const want = parseInt(countArg, 10);
const browser = await launchChromium();
let code = 1;
try {
  const context = await browser.newContext();
  if (token) {
    await context.addCookies([{ name: "mercureAuthorization", value: token, url: new URL(pageURL).origin }]);
  }
  const page = await context.newPage();
  page.on("console", (m) => console.error("page:", m.text()));
  if (native) {
    const params = new URL(pageURL).searchParams;
    await page.goto(new URL("/healthz", pageURL).href);
    await page.evaluate(({ topic, types }) => {
      window.received = [];
      const u = new URL("/.well-known/mercure", location.href);
      u.searchParams.append("topic", topic);
      const es = new EventSource(u, { withCredentials: true });
      const push = (ev) => window.received.push({ type: ev.type, data: ev.data, lastEventId: ev.lastEventId });
      es.onmessage = push;
      for (const t of ["mercure-missed", ...types]) es.addEventListener(t, push);
      es.onopen = () => { window.streamOpen = true; };
    }, { topic: params.get("topic"), types: (params.get("types") || "").split(",").filter(Boolean) });
    await page.waitForFunction(() => window.streamOpen === true, null, { timeout: 30000 });
  } else {
    await page.goto(pageURL);
    await page.waitForFunction(() => document.getElementById("status").textContent === "open", null, { timeout: 30000 });
  }
  console.log(JSON.stringify({ ready: true }));
  if (publishData !== undefined) {
    await page.fill("#pdata", publishData);
    await page.click("#pub button");
    await page.waitForFunction(() => /^\d|^published/.test(document.getElementById("pubresult").textContent), null, { timeout: 30000 });
    console.log(JSON.stringify({ published: await page.textContent("#pubresult") }));
  }
  await page.waitForFunction((n) => window.received.length >= n, want, { timeout: 60000, polling: 50 });
  for (const ev of await page.evaluate(() => window.received)) console.log(JSON.stringify(ev));
  code = 0;
} catch (e) {
  console.log(JSON.stringify({ error: String(e) }));
} finally {
  await browser.close();
}
process.exit(code);
