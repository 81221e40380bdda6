// Runs the worker locally with wrangler's dev server (the engine behind
// `wrangler dev`: real workerd, Durable Objects included), reading
// wrangler.toml, with the DevTools inspector turned off (unless
// --inspector-port asks for it).
//
// Why not the `wrangler dev` CLI: in wrangler 4.86 the CLI always attaches
// its inspector proxy, which posts one HTTP request to the wrangler process
// for every DevTools network event, i.e. for every chunk the edge hub reads
// from the origin feed. Under an event burst those requests pile up until
// workerd runs out of file descriptors. Only the programmatic API can turn
// the inspector off.
//
// Usage: node e2e/wrangler-dev.mjs [--config PATH] [--snapshot DIR]
//          [--ip 127.0.0.1] [--port 8787] [--persist-to DIR] [--var NAME:VALUE ...]
//          [--inspector-port PORT]
//
// --config runs another worker than the repository's wrangler.toml (the
// benchmark's naive baseline). --snapshot DIR copies the config and the
// bundle it names (worker/build) into DIR the first time and runs that
// copy from then on, also after a restart, so that a `make build` while
// tests run cannot hand the worker under test a half-written bundle.
// --inspector-port turns the inspector on at PORT, for a benchmark that
// reads the isolate's heap (e2e/bench/heapusage.mjs); nothing that bursts
// should run with it (wrangler's proxy records every request and chunk).
// Prints "ready <url>" when the worker answers; SIGINT/SIGTERM stop it.
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { unstable_startWorker } from "wrangler";

const args = process.argv.slice(2);
let hostname = "127.0.0.1";
let port = 8787;
let persist;
let config = new URL("../wrangler.toml", import.meta.url).pathname;
let snapshot;
let inspectorPort;
const vars = {};
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--config") config = args[++i];
  else if (a === "--snapshot") snapshot = args[++i];
  else if (a === "--ip") hostname = args[++i];
  else if (a === "--port") port = parseInt(args[++i], 10);
  else if (a === "--persist-to") persist = args[++i];
  else if (a === "--inspector-port") inspectorPort = parseInt(args[++i], 10);
  else if (a === "--var") {
    const v = args[++i];
    const at = v.indexOf(":");
    vars[v.slice(0, at)] = { type: "plain_text", value: v.slice(at + 1) };
  } else {
    console.error(`wrangler-dev: unknown argument ${a}`);
    process.exit(2);
  }
}

if (snapshot) {
  const copy = join(snapshot, "wrangler.toml");
  if (!existsSync(copy)) {
    // The bundle is the directory of the config's `main`; it keeps its
    // place relative to the config.
    const toml = readFileSync(config, "utf8");
    const main = /^main\s*=\s*"([^"]+)"/m.exec(toml);
    if (!main) {
      console.error(`wrangler-dev: no main = "..." in ${config}`);
      process.exit(2);
    }
    const from = dirname(join(dirname(config), main[1]));
    cpSync(from, join(snapshot, relative(dirname(config), from)), { recursive: true });
    writeFileSync(copy, toml);
  }
  config = copy;
}

const worker = await unstable_startWorker({
  config,
  bindings: vars,
  dev: {
    inspector: inspectorPort ? { port: inspectorPort } : false,
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
