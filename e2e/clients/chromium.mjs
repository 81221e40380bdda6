// launchChromium starts Debian's headless Chromium (CHROMIUM overrides the
// path) through playwright-core with the flags every browser test uses:
// no sandbox or GPU, no QUIC, and none of the background traffic a first
// run would start.
import { chromium } from "playwright-core";

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}
