// The launcher of e2e/wrangler-dev.mjs (wrangler's dev server, real workerd,
// DevTools inspector off: see there why) with one addition, --config, so the
// benchmark can run a worker other than the repository's wrangler.toml: the
// naive baseline of worker/naive, built into a temporary directory.
//
// Usage: node e2e/bench/wrangler-dev.mjs --config PATH [--ip 127.0.0.1]
//          [--port 8787] [--persist-to DIR] [--var NAME:VALUE ...]
// Prints "ready <url>" when the worker answers; SIGINT/SIGTERM stop it.
import { unstable_startWorker } from "wrangler";

const args = process.argv.slice(2);
let config;
let hostname = "127.0.0.1";
let port = 8787;
let persist;
const vars = {};
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--config") config = args[++i];
  else if (a === "--ip") hostname = args[++i];
  else if (a === "--port") port = parseInt(args[++i], 10);
  else if (a === "--persist-to") persist = args[++i];
  else if (a === "--var") {
    const v = args[++i];
    const at = v.indexOf(":");
    vars[v.slice(0, at)] = { type: "plain_text", value: v.slice(at + 1) };
  } else {
    console.error(`wrangler-dev: unknown argument ${a}`);
    process.exit(2);
  }
}
if (!config) {
  console.error("wrangler-dev: --config is required");
  process.exit(2);
}

const worker = await unstable_startWorker({
  config,
  bindings: vars,
  dev: {
    inspector: false,
    server: { hostname, port },
    persist,
    watch: false,
    liveReload: false,
  },
});
await worker.ready;
console.log(`ready ${await worker.url}`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await worker.dispose();
  process.exit(0);
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
