// Unit tests of the front door's routing and stats check (node --test worker/).
import { test } from "node:test";
import assert from "node:assert/strict";
import { hubName, isHubName, shardCount, statsTarget } from "./routing.mjs";

// req is what the front door sees: a Request, with workerd's cf object.
function req(url, headers = {}, cf) {
  return { url, headers: new Headers(headers), cf };
}

test("hubName picks a shard of the region below HUB_SHARDS, and isHubName accepts every name it picks", () => {
  const env = { HUB_SHARDS: "3" };
  const seen = new Set();
  for (let i = 0; i < 200; i++) {
    const name = hubName(req("http://e/", { "cf-connecting-ip": `198.51.100.${i}` }), env);
    assert.match(name, /^local-[0-2]$/);
    assert.ok(isHubName(name, env), name);
    seen.add(name);
  }
  assert.equal(seen.size, 3);
  assert.equal(hubName(req("http://e/", {}, { continent: "EU", colo: "CDG" }), { HUB_SHARDS: "1" }), "EU-0");
  assert.equal(hubName(req("http://e/", {}, { colo: "CDG" }), {}), "CDG-0");
});

test("isHubName refuses names the sharding scheme cannot produce", () => {
  const env = { HUB_SHARDS: "4" };
  for (const ok of ["local-0", "local-3", "EU-1", "NA-0", "CDG-2"]) assert.ok(isHubName(ok, env), ok);
  for (const bad of ["", "local-4", "local-01", "local--1", "local-1.0", "XX-0", "eu-0", "EU", "EU-", "random",
    "local-0 ", " local-0", "local-0\n", "ABCD-0", "local-99999999", "local-1e1", "../local-0"]) {
    assert.equal(isHubName(bad, env), false, JSON.stringify(bad));
  }
  assert.equal(isHubName("local-1", {}), false); // HUB_SHARDS defaults to 1
  assert.equal(shardCount({ HUB_SHARDS: "zero" }), 1);
});

test("statsTarget: 404 without STATS_TOKEN, 401 without or with a wrong token, 400 for a foreign name", async () => {
  const url = "http://e/_edge/stats";
  assert.equal((await statsTarget(req(url, { authorization: "Bearer x" }), {})).status, 404);
  const env = { STATS_TOKEN: "operator-token-0123456789", HUB_SHARDS: "2" };
  for (const auth of [undefined, "", "Bearer", "Bearer ", "Bearer operator-token-012345678", "Bearer operator-token-0123456789x",
    "bearer operator-token-0123456789", "Basic b3BlcmF0b3I=", "operator-token-0123456789"]) {
    const r = await statsTarget(req(url, auth === undefined ? {} : { authorization: auth }), env);
    assert.equal(r.status, 401, String(auth));
    assert.match(r.body, /STATS_TOKEN/);
    assert.equal(r.hub, undefined);
  }
  const good = { authorization: "Bearer operator-token-0123456789" };
  assert.deepEqual(await statsTarget(req(url, { ...good, "cf-connecting-ip": "1.2.3.4" }), env), {
    hub: hubName(req(url, { "cf-connecting-ip": "1.2.3.4" }), env),
  });
  assert.deepEqual(await statsTarget(req(url + "?hub=local-1", good), env), { hub: "local-1" });
  for (const name of ["local-2", "x", "evil-0", "local-00"]) {
    const r = await statsTarget(req(url + "?hub=" + encodeURIComponent(name), good), env);
    assert.equal(r.status, 400, name);
    assert.equal(r.hub, undefined);
    assert.match(r.body, /HUB_SHARDS=2/);
  }
});
