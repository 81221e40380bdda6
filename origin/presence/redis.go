package presence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/edge-sse/edge-sse/shared/presence"
	"github.com/redis/go-redis/v9"
)

// Redis is a Store in Redis, shared by every origin on it: the index and
// the leases are Redis data, and one Lua script per operation makes each
// change atomic, so a change (and so its event) happens in exactly one
// origin, and each lapsed lease is claimed by exactly one. Keys, under
// the prefix (the history's prefix + "presence:", so the {hash tag}
// keeps them in the history's Redis Cluster slot):
//
//	instances      sorted set: instance id, scored by its lease's (or claim's) end, in ms
//	inst:<id>      hash: name, seq, token (set while claimed)
//	subs:<id>      hash: subscriber → its documents' ids, one per line
//	ended:<id>     list: the inactive documents of a claimed instance
//	index          hash: document id → active document (JSON)
//
// The claim and forget scripts reach the keys of the instances they find,
// which they cannot declare in advance; those keys share the prefix's
// hash tag, so they live in the same slot as the declared ones.
type Redis struct {
	client  redis.UniversalClient
	prefix  string
	hubPath string
}

// NewRedis returns a Store on client with keys under prefix, for the hub
// whose URL has path hubPath. The caller keeps and closes client.
func NewRedis(client redis.UniversalClient, prefix, hubPath string) *Redis {
	return &Redis{client: client, prefix: prefix, hubPath: hubPath}
}

func (r *Redis) key(parts ...string) string {
	k := r.prefix
	for _, p := range parts {
		k += p
	}
	return k
}

// luaSplit is shared by the scripts: the lines of a string.
const luaSplit = `
local function split(s)
  local t = {}
  for f in string.gmatch(s, "[^\n]+") do t[#t+1] = f end
  return t
end
`

// applyScript: KEYS instances, inst:<id>, subs:<id>, index; ARGV id,
// name, seq, full ("1"/"0"), lease end (ms), op count, then per op: kind
// ("a"/"r"), subscriber, document count, then id and JSON per document.
// Reply: {"resync", reason} or {"ok", flag, doc, flag, doc, …} with flag
// "1" for an added (active) document and "0" for a removed one.
var applyScript = redis.NewScript(luaSplit + `
local zkey, ikey, skey, xkey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, name, seqs, full, lease_end = ARGV[1], ARGV[2], ARGV[3], ARGV[4] == "1", ARGV[5]
local seq = tonumber(seqs)
local exists = redis.call("EXISTS", ikey) == 1
if exists and redis.call("HGET", ikey, "token") then
  return {"resync", "its lease lapsed and its subscriptions are being terminated"}
end
if not exists and not full then
  return {"resync", "unknown instance " .. id}
end
local last = 0
if exists then last = tonumber(redis.call("HGET", ikey, "seq") or "0") end
if exists and not full and seq ~= last and seq ~= last + 1 then
  return {"resync", "seq " .. seqs .. " after " .. tostring(last)}
end
redis.call("HSET", ikey, "name", name, "seq", seqs)
redis.call("ZADD", zkey, lease_end, id)
local out = {"ok"}
if exists and not full and seq == last then return out end

local function drop(f)
  local d = redis.call("HGET", xkey, f)
  if d then
    out[#out+1] = "0"; out[#out+1] = d
    redis.call("HDEL", xkey, f)
  end
end
-- A full report reads the instance's connections in one call; an
-- incremental one reads those it names.
local heldmap = nil
local function held_of(sub)
  if heldmap then return heldmap[sub] end
  return redis.call("HGET", skey, sub)
end
local function remove(sub)
  local held = held_of(sub)
  if held then
    for _, f in ipairs(split(held)) do drop(f) end
    redis.call("HDEL", skey, sub)
  end
end

local n = tonumber(ARGV[6])
if full and exists then
  heldmap = {}
  local flat = redis.call("HGETALL", skey)
  for k = 1, #flat, 2 do heldmap[flat[k]] = flat[k+1] end
  local listed = {}
  local i = 7
  for _ = 1, n do
    listed[ARGV[i+1]] = true
    i = i + 3 + 2 * tonumber(ARGV[i+2])
  end
  local gone = {}
  for sub in pairs(heldmap) do
    if not listed[sub] then gone[#gone+1] = sub end
  end
  table.sort(gone)
  for _, sub in ipairs(gone) do remove(sub) end
end
local i = 7
for _ = 1, n do
  local kind, sub, m = ARGV[i], ARGV[i+1], tonumber(ARGV[i+2])
  i = i + 3
  if kind == "r" then
    remove(sub)
  else
    local held = held_of(sub)
    local heldset, want, fields = {}, {}, {}
    local heldlist = {}
    if held then heldlist = split(held) end
    for _, f in ipairs(heldlist) do heldset[f] = true end
    for j = 0, m - 1 do want[ARGV[i + 2*j]] = true end
    for _, f in ipairs(heldlist) do
      if want[f] then fields[#fields+1] = f else drop(f) end
    end
    for j = 0, m - 1 do
      local f, d = ARGV[i + 2*j], ARGV[i + 2*j + 1]
      if not heldset[f] then
        fields[#fields+1] = f
        redis.call("HSET", xkey, f, d)
        out[#out+1] = "1"; out[#out+1] = d
      end
    end
    i = i + 2 * m
    local joined = table.concat(fields, "\n")
    if #fields == 0 then
      redis.call("HDEL", skey, sub)
    elseif joined ~= held then
      redis.call("HSET", skey, sub, joined)
    end
  end
end
return out
`)

// claimScript: KEYS instances, index; ARGV now (ms), claim end (ms), max,
// token, key prefix. Reply: {id, {doc, …}, id, {doc, …}, …}.
var claimScript = redis.NewScript(luaSplit + `
local zkey, xkey = KEYS[1], KEYS[2]
local p = ARGV[5]
local ids = redis.call("ZRANGEBYSCORE", zkey, "-inf", ARGV[1], "LIMIT", 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local ikey, skey, ekey = p .. "inst:" .. id, p .. "subs:" .. id, p .. "ended:" .. id
  if not redis.call("HGET", ikey, "token") then
    local subs = redis.call("HKEYS", skey)
    table.sort(subs)
    for _, sub in ipairs(subs) do
      for _, f in ipairs(split(redis.call("HGET", skey, sub))) do
        local d = redis.call("HGET", xkey, f)
        if d then
          redis.call("RPUSH", ekey, d)
          redis.call("HDEL", xkey, f)
        end
      end
    end
    redis.call("DEL", skey)
  end
  redis.call("HSET", ikey, "token", ARGV[4])
  redis.call("ZADD", zkey, ARGV[2], id)
  out[#out+1] = id
  out[#out+1] = redis.call("LRANGE", ekey, 0, -1)
end
return out
`)

// forgetScript: KEYS instances; ARGV id, token, key prefix.
var forgetScript = redis.NewScript(`
local p, id = ARGV[3], ARGV[1]
local ikey = p .. "inst:" .. id
if redis.call("HGET", ikey, "token") ~= ARGV[2] then return 0 end
redis.call("DEL", ikey, p .. "subs:" .. id, p .. "ended:" .. id)
redis.call("ZREM", KEYS[1], id)
return 1
`)

// Apply implements Store.
func (r *Redis) Apply(ctx context.Context, rep *Report, now time.Time, lease time.Duration) ([]presence.Subscription, error) {
	full := "0"
	if rep.Full {
		full = "1"
	}
	args := []any{rep.Hub, rep.Name, strconv.FormatUint(rep.Seq, 10), full, now.Add(lease).UnixMilli(), len(rep.Ops)}
	for _, o := range rep.Ops {
		kind := "r"
		if o.Add {
			kind = "a"
		}
		args = append(args, kind, o.Subscriber, len(o.Docs))
		for _, d := range o.Docs {
			args = append(args, d.ID, string(d.JSON()))
		}
	}
	keys := []string{r.key("instances"), r.key("inst:", rep.Hub), r.key("subs:", rep.Hub), r.key("index")}
	res, err := applyScript.Run(ctx, r.client, keys, args...).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("presence: apply a report in redis: %w", err)
	}
	if len(res) == 0 {
		return nil, errors.New("presence: redis apply script answered nothing")
	}
	if res[0] == "resync" {
		reason := ""
		if len(res) > 1 {
			reason = res[1]
		}
		return nil, fmt.Errorf("%w (%s)", ErrResync, reason)
	}
	var out []presence.Subscription
	for i := 1; i+1 < len(res); i += 2 {
		var d presence.Subscription
		if err := json.Unmarshal([]byte(res[i+1]), &d); err != nil {
			return out, fmt.Errorf("presence: a document in redis: %w", err)
		}
		d.Active = res[i] == "1"
		out = append(out, d)
	}
	return out, nil
}

// Claim implements Store.
func (r *Redis) Claim(ctx context.Context, now time.Time, hold time.Duration, max int) ([]Claim, error) {
	token := newToken()
	res, err := claimScript.Run(ctx, r.client, []string{r.key("instances"), r.key("index")},
		now.UnixMilli(), now.Add(hold).UnixMilli(), max, token, r.prefix).Slice()
	if err != nil {
		return nil, fmt.Errorf("presence: claim lapsed leases in redis: %w", err)
	}
	var out []Claim
	for i := 0; i+1 < len(res); i += 2 {
		id, _ := res[i].(string)
		c := Claim{Instance: id, Token: token}
		docs, _ := res[i+1].([]any)
		for _, v := range docs {
			s, _ := v.(string)
			var d presence.Subscription
			if err := json.Unmarshal([]byte(s), &d); err != nil {
				return out, fmt.Errorf("presence: a document in redis: %w", err)
			}
			d.Active = false
			c.Ended = append(c.Ended, d)
		}
		out = append(out, c)
	}
	return out, nil
}

// Forget implements Store.
func (r *Redis) Forget(ctx context.Context, c Claim) error {
	if err := forgetScript.Run(ctx, r.client, []string{r.key("instances")}, c.Instance, c.Token, r.prefix).Err(); err != nil {
		return fmt.Errorf("presence: forget instance %s in redis: %w", c.Instance, err)
	}
	return nil
}

// List implements Store.
func (r *Redis) List(ctx context.Context, ref presence.Ref) ([]presence.Subscription, error) {
	decode := func(s string) (presence.Subscription, bool) {
		var d presence.Subscription
		return d, json.Unmarshal([]byte(s), &d) == nil
	}
	if ref.Scope == presence.ScopeOne {
		s, err := r.client.HGet(ctx, r.key("index"), ref.Key.Topic(r.hubPath)).Result()
		if errors.Is(err, redis.Nil) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("presence: read the index in redis: %w", err)
		}
		if d, ok := decode(s); ok {
			return []presence.Subscription{d}, nil
		}
		return nil, nil
	}
	all, err := r.client.HGetAll(ctx, r.key("index")).Result()
	if err != nil {
		return nil, fmt.Errorf("presence: read the index in redis: %w", err)
	}
	return filter(ref, r.hubPath, func(yield func(presence.Subscription) bool) {
		for _, s := range all {
			if d, ok := decode(s); ok && !yield(d) {
				return
			}
		}
	}, nil), nil
}

// Close implements Store; the client is the caller's.
func (r *Redis) Close() error { return nil }
