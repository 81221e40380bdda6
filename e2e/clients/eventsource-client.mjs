// Subscribes with the npm `eventsource` package (a WHATWG EventSource for
// Node) and prints one JSON line per event: first {"ready":true} when the
// stream opens, then {"type","data","lastEventId"} per event received.
// Usage: node eventsource-client.mjs URL COUNT [TYPE,...] ; exits 0 after
// COUNT events, 1 on error or after 60 s.
import { EventSource } from "eventsource";

const [url, countArg, typesArg = ""] = process.argv.slice(2);
const want = parseInt(countArg, 10);
let got = 0;
const es = new EventSource(url);
const timer = setTimeout(() => {
  console.log(JSON.stringify({ error: "timeout", got }));
  process.exit(1);
}, 60000);
es.onopen = () => console.log(JSON.stringify({ ready: true }));
es.onerror = (e) => console.log(JSON.stringify({ error: String(e.message || e.type), readyState: es.readyState }));
const show = (ev) => {
  console.log(JSON.stringify({ type: ev.type, data: ev.data, lastEventId: ev.lastEventId }));
  if (++got >= want) {
    clearTimeout(timer);
    es.close();
    process.exit(0);
  }
};
es.onmessage = show;
for (const t of typesArg.split(",").filter(Boolean)) es.addEventListener(t, show);
