// Runs the worker locally with wrangler's dev server (the engine behind
// `wrangler dev`: real workerd, Durable Objects included), reading
// wrangler.toml, with the DevTools inspector turned off.
//
// Why not the `wrangler dev` CLI: in wrangler 4.86 the CLI always attaches
// its inspector proxy, which posts one HTTP request to the wrangler process
// for every DevTools network event, i.e. for every chunk the edge hub reads
// from the origin feed. Under an event burst those requests pile up until
// workerd runs out of file descriptors. Only the programmatic API can turn
// the inspector off.
//
// Usage: node e2e/wrangler-dev.mjs [--ip 127.0.0.1] [--port 8787]
//          [--persist-to DIR] [--var NAME:VALUE ...]
// Prints "ready <url>" when the worker answers; SIGINT/SIGTERM stop it.
import { unstable_startWorker } from "wrangler";

const args = process.argv.slice(2);
let hostname = "127.0.0.1";
let port = 8787;
let persist;
const vars = {};
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--ip") hostname = args[++i];
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

const worker = await unstable_startWorker({
  config: new URL("../wrangler.toml", import.meta.url).pathname,
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
