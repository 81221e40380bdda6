package presence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
//	unsent:<id>    list: the events of its reports not yet published
//	ended:<id>     list: the events a claimed instance's claimant publishes
//	index          hash: document id → active document (JSON)
//
// An event in a list is its id, "1" (active) or "0", and the document's
// JSON, on three lines (an ended entry written before events had ids is
// the document alone).
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

// luaSplit is shared by the scripts: the lines of a string; and the id
// of event k of a series (idSeries: prefix, base).
const luaSplit = `
local function split(s)
  local t = {}
  for f in string.gmatch(s, "[^\n]+") do t[#t+1] = f end
  return t
end
local function event_id(prefix, base, k)
  return prefix .. string.format("%08x", (base + k) % 4294967296)
end
`

// applyScript: KEYS instances, inst:<id>, subs:<id>, index, unsent:<id>;
// ARGV id, name, seq, full ("1"/"0"), lease end (ms), the id series'
// prefix and base, op count, then per op: kind ("a"/"r"), subscriber,
// document count, then id and JSON per document. Reply: {"resync",
// reason} or {"ok", event, event, …}: the instance's unsent events, the
// report's after those.
var applyScript = redis.NewScript(luaSplit + `
local zkey, ikey, skey, xkey, ukey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, name, seqs, full, lease_end = ARGV[1], ARGV[2], ARGV[3], ARGV[4] == "1", ARGV[5]
local id_prefix, id_base, made = ARGV[6], tonumber(ARGV[7]), 0
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
for _, e in ipairs(redis.call("LRANGE", ukey, 0, -1)) do out[#out+1] = e end
if exists and not full and seq == last then return out end

local function event(flag, d)
  local e = event_id(id_prefix, id_base, made) .. "\n" .. flag .. "\n" .. d
  made = made + 1
  out[#out+1] = e
  redis.call("RPUSH", ukey, e)
end
local function drop(f)
  local d = redis.call("HGET", xkey, f)
  if d then
    event("0", d)
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

local n = tonumber(ARGV[8])
if full and exists then
  heldmap = {}
  local flat = redis.call("HGETALL", skey)
  for k = 1, #flat, 2 do heldmap[flat[k]] = flat[k+1] end
  local listed = {}
  local i = 9
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
local i = 9
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
        event("1", d)
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
// token, key prefix, the id series' prefix and base. Reply: {id, {event,
// …}, id, {event, …}, …}.
var claimScript = redis.NewScript(luaSplit + `
local zkey, xkey = KEYS[1], KEYS[2]
local p = ARGV[5]
local id_prefix, id_base, made = ARGV[6], tonumber(ARGV[7]), 0
local ids = redis.call("ZRANGEBYSCORE", zkey, "-inf", ARGV[1], "LIMIT", 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local ikey, skey, ekey, ukey = p .. "inst:" .. id, p .. "subs:" .. id, p .. "ended:" .. id, p .. "unsent:" .. id
  if not redis.call("HGET", ikey, "token") then
    for _, e in ipairs(redis.call("LRANGE", ukey, 0, -1)) do redis.call("RPUSH", ekey, e) end
    redis.call("DEL", ukey)
    local subs = redis.call("HKEYS", skey)
    table.sort(subs)
    for _, sub in ipairs(subs) do
      for _, f in ipairs(split(redis.call("HGET", skey, sub))) do
        local d = redis.call("HGET", xkey, f)
        if d then
          redis.call("RPUSH", ekey, event_id(id_prefix, id_base, made) .. "\n0\n" .. d)
          made = made + 1
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
redis.call("DEL", ikey, p .. "subs:" .. id, p .. "ended:" .. id, p .. "unsent:" .. id)
redis.call("ZREM", KEYS[1], id)
return 1
`)

// sentScript: KEYS inst:<id>, unsent:<id>; ARGV seq.
var sentScript = redis.NewScript(`
if redis.call("HGET", KEYS[1], "token") or redis.call("HGET", KEYS[1], "seq") ~= ARGV[1] then return 0 end
redis.call("DEL", KEYS[2])
return 1
`)

// parseEvent reads an event of a list (the package doc's form).
func parseEvent(s string) (Event, error) {
	var e Event
	if strings.HasPrefix(s, "{") { // an ended document from before events had ids
		e.ID = newIDSeries().id(0)
	} else {
		id, rest, ok1 := strings.Cut(s, "\n")
		flag, doc, ok2 := strings.Cut(rest, "\n")
		if !ok1 || !ok2 {
			return e, fmt.Errorf("presence: an event in redis has not the form id, flag, document: %.80q", s)
		}
		e.ID, e.Doc.Active, s = id, flag == "1", doc
	}
	active := e.Doc.Active
	if err := json.Unmarshal([]byte(s), &e.Doc); err != nil {
		return e, fmt.Errorf("presence: a document in redis: %w", err)
	}
	e.Doc.Active = active
	return e, nil
}

// parseEvents reads the events of a script's reply.
func parseEvents(res []any) ([]Event, error) {
	out := make([]Event, 0, len(res))
	for _, v := range res {
		s, _ := v.(string)
		e, err := parseEvent(s)
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Apply implements Store.
func (r *Redis) Apply(ctx context.Context, rep *Report, now time.Time, lease time.Duration) ([]Event, error) {
	full := "0"
	if rep.Full {
		full = "1"
	}
	ids := newIDSeries()
	args := []any{rep.Hub, rep.Name, strconv.FormatUint(rep.Seq, 10), full, now.Add(lease).UnixMilli(), ids.prefix, ids.base, len(rep.Ops)}
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
	keys := []string{r.key("instances"), r.key("inst:", rep.Hub), r.key("subs:", rep.Hub), r.key("index"), r.key("unsent:", rep.Hub)}
	res, err := applyScript.Run(ctx, r.client, keys, args...).Slice()
	if err != nil {
		return nil, fmt.Errorf("presence: apply a report in redis: %w", err)
	}
	if len(res) == 0 {
		return nil, errors.New("presence: redis apply script answered nothing")
	}
	if res[0] == "resync" {
		reason := ""
		if len(res) > 1 {
			reason, _ = res[1].(string)
		}
		return nil, fmt.Errorf("%w (%s)", ErrResync, reason)
	}
	return parseEvents(res[1:])
}

// Sent implements Store.
func (r *Redis) Sent(ctx context.Context, instance string, seq uint64) error {
	keys := []string{r.key("inst:", instance), r.key("unsent:", instance)}
	if err := sentScript.Run(ctx, r.client, keys, strconv.FormatUint(seq, 10)).Err(); err != nil {
		return fmt.Errorf("presence: mark the events of instance %s sent in redis: %w", instance, err)
	}
	return nil
}

// Claim implements Store.
func (r *Redis) Claim(ctx context.Context, now time.Time, hold time.Duration, max int) ([]Claim, error) {
	token, ids := newToken(), newIDSeries()
	res, err := claimScript.Run(ctx, r.client, []string{r.key("instances"), r.key("index")},
		now.UnixMilli(), now.Add(hold).UnixMilli(), max, token, r.prefix, ids.prefix, ids.base).Slice()
	if err != nil {
		return nil, fmt.Errorf("presence: claim lapsed leases in redis: %w", err)
	}
	var out []Claim
	for i := 0; i+1 < len(res); i += 2 {
		id, _ := res[i].(string)
		c := Claim{Instance: id, Token: token}
		events, _ := res[i+1].([]any)
		if c.Ended, err = parseEvents(events); err != nil {
			return out, err
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
