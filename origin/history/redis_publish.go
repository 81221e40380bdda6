package history

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/redis/go-redis/v9"
)

// publishScript stores one event. KEYS: stream, meta, id key. ARGV: record,
// id TTL in ms, MAXLEN (0: none), "~" or "=", max age in ms (0: none).
// It returns the new entry id, or nil when the id is held.
var publishScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[3]) == 1 then
  return false
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ms, n, c = 0, -1, 0
local m = redis.call('HMGET', KEYS[2], 'ms', 'n', 'c')
if m[1] then
  ms, n, c = tonumber(m[1]), tonumber(m[2]), tonumber(m[3])
else
  local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
  if top[1] then
    local id = top[1][1]
    local dash = string.find(id, '-', 1, true)
    ms, n = tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
    local f = top[1][2]
    for i = 1, #f, 2 do
      if f[i] == 'c' then c = tonumber(f[i + 1]) end
    end
  end
end
if now > ms then
  ms, n = now, 0
else
  n = n + 1
end
if n >= 4194304 then
  ms, n = ms + 1, 0
end
c = c + 1
local sid = string.format('%d-%d', ms, n)
local cs = string.format('%d', c)
if tonumber(ARGV[3]) > 0 then
  redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[4], ARGV[3], sid, 'e', ARGV[1], 'c', cs)
else
  redis.call('XADD', KEYS[1], sid, 'e', ARGV[1], 'c', cs)
end
if tonumber(ARGV[5]) > 0 then
  redis.call('XTRIM', KEYS[1], 'MINID', ARGV[4], string.format('%d-0', now - tonumber(ARGV[5])))
end
redis.call('HSET', KEYS[2], 'ms', string.format('%d', ms), 'n', string.format('%d', n), 'c', cs)
redis.call('SET', KEYS[3], sid, 'PX', ARGV[2])
return sid
`)

func (r *Redis) idKey(id string) string { return r.opts.Prefix + "id:" + id }

func (r *Redis) trimMode() string {
	if r.opts.ExactTrim {
		return "="
	}
	return "~"
}

// Append implements hub.History: one script call stores the event, or
// refuses its id with hub.ErrDuplicateID when any process holds it.
func (r *Redis) Append(e *hub.Event) error {
	if e.ID == "" {
		return ErrNoID
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.Timeout)
	defer cancel()
	rec := appendRecord(nil, e, time.Now().UnixMilli())
	res, err := publishScript.Run(ctx, r.client,
		[]string{r.stream, r.meta, r.idKey(e.ID)},
		rec, r.opts.DedupeTTL.Milliseconds(), max(r.opts.MaxLen, 0), r.trimMode(), r.opts.MaxAge.Milliseconds(),
	).Text()
	if errors.Is(err, redis.Nil) {
		return hub.ErrDuplicateID
	}
	if err != nil {
		return fmt.Errorf("store event in redis: %w", err)
	}
	seq, err := parseStreamID(res)
	if err != nil {
		return err
	}
	e.Seq = seq
	r.noteLast(seq, e.ID)
	return nil
}

// noteLast records (seq, id) as the newest event when it is.
func (r *Redis) noteLast(seq uint64, id string) {
	for {
		cur := r.last.Load()
		if cur.seq >= seq || r.last.CompareAndSwap(cur, &lastEvent{seq: seq, id: id}) {
			return
		}
	}
}
