// Opens the worker's demo page in headless Chromium and reports what its
// header shows of the browser client: prints {"open": {...}} once the
// state reads "open" and last sync is set, then {"reconnected": {...}}
// once the reconnect count is above 0 and the state is "open" again (the
// test cuts the page's connection in between). Each carries the header's
// state, sync and reconnects texts. Exits 0 after both, 1 on error or
// after 60 s.
// Usage: node demo-page-status.mjs PAGE_URL
import { launchChromium } from "./chromium.mjs";

const [pageURL] = process.argv.slice(2);
const browser = await launchChromium();
let code = 1;
try {
  const page = await browser.newPage();
  page.on("console", (m) => console.error("page:", m.text()));
  await page.goto(pageURL);
  const header = () =>
    page.evaluate(() => ({
      state: document.getElementById("status").textContent,
      sync: document.getElementById("sync").textContent,
      reconnects: document.getElementById("reconnects").textContent,
    }));
  await page.waitForFunction(
    () => document.getElementById("status").textContent === "open" && document.getElementById("sync").textContent !== "never",
    null, { timeout: 30000, polling: 50 });
  console.log(JSON.stringify({ open: await header() }));
  await page.waitForFunction(
    () => document.getElementById("status").textContent === "open" && document.getElementById("reconnects").textContent !== "0",
    null, { timeout: 60000, polling: 50 });
  console.log(JSON.stringify({ reconnected: await header() }));
  code = 0;
} catch (e) {
  console.log(JSON.stringify({ error: String(e) }));
} finally {
  await browser.close();
}
process.exit(code);
