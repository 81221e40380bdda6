// Routing of the front door to EdgeHub objects, and the operator check of
// /_edge/stats. Pure JavaScript with no workerd import, so that node's test
// runner covers it (routing.test.mjs).

// CONTINENTS are the values of request.cf.continent on Cloudflare.
const CONTINENTS = new Set(["AF", "AN", "AS", "EU", "NA", "OC", "SA"]);

// shardCount is HUB_SHARDS: a positive integer, 1 when unset or invalid.
export function shardCount(env) {
  return Math.max(1, parseInt(env.HUB_SHARDS || "1", 10) || 1);
}

// region is the part of a hub name before the shard: the client's
// continent, else its Cloudflare colo, else "local" (wrangler dev).
function region(request) {
  return (request.cf && (request.cf.continent || request.cf.colo)) || "local";
}

// hubName picks the EdgeHub object for a request: a shard of the client's
// region, so clients reach a nearby object and no object holds them all.
export function hubName(request, env) {
  const shards = shardCount(env);
  // Spread clients of one region over its shards by a hash of the connecting address.
  const who = request.headers.get("cf-connecting-ip") || request.headers.get("x-forwarded-for") || "";
  let h = 2166136261;
  for (let i = 0; i < who.length; i++) {
    h = Math.imul(h ^ who.charCodeAt(i), 16777619) >>> 0;
  }
  return `${region(request)}-${h % shards}`;
}

// isHubName reports whether hubName can produce name under env: a region
// (a continent code, a three-letter colo, or "local") and a shard below
// HUB_SHARDS, written without leading zeros. Only such names may reach
// EDGE_HUB: every other name would create a new object.
export function isHubName(name, env) {
  const m = /^(local|[A-Z]{2}|[A-Z]{3})-(0|[1-9][0-9]{0,5})$/.exec(name);
  if (!m) return false;
  if (m[1].length === 2 && !CONTINENTS.has(m[1])) return false;
  return Number(m[2]) < shardCount(env);
}

// sameSecret compares two strings in time independent of where they
// differ and of their lengths: it compares their SHA-256 digests.
async function sameSecret(a, b) {
  const enc = new TextEncoder();
  const [da, db] = await Promise.all([
    crypto.subtle.digest("SHA-256", enc.encode(a)),
    crypto.subtle.digest("SHA-256", enc.encode(b)),
  ]);
  const x = new Uint8Array(da);
  const y = new Uint8Array(db);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}

// statsTarget decides a GET /_edge/stats request without touching
// EDGE_HUB. It answers {hub} (the object to ask: ?hub=NAME, or the
// caller's own) or {status, body} to refuse with: 404 when no STATS_TOKEN
// is configured (the endpoint does not exist), 401 when the request lacks
// `Authorization: Bearer <STATS_TOKEN>` or has another, 400 for a name
// hubName cannot produce.
export async function statsTarget(request, env) {
  const token = env.STATS_TOKEN || "";
  if (token === "") {
    return { status: 404, body: "not found: /_edge/stats needs a STATS_TOKEN secret\n" };
  }
  const auth = request.headers.get("authorization") || "";
  const m = /^Bearer (.+)$/.exec(auth);
  if (!m || !(await sameSecret(m[1], token))) {
    return {
      status: 401,
      body: "/_edge/stats needs Authorization: Bearer <STATS_TOKEN>\n",
      headers: { "www-authenticate": 'Bearer realm="edge-stats"' },
    };
  }
  const name = new URL(request.url).searchParams.get("hub");
  if (name === null) return { hub: hubName(request, env) };
  if (!isHubName(name, env)) {
    return {
      status: 400,
      body: `no hub ${JSON.stringify(name.slice(0, 64))}: a hub name is REGION-SHARD (REGION a continent code, a colo or "local"; SHARD below HUB_SHARDS=${shardCount(env)})\n`,
    };
  }
  return { hub: name };
}
