package history

import (
	"context"
	"errors"
	"time"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/redis/go-redis/v9"
)

// Tail implements hub.Tailer: it follows the stream with XREAD BLOCK and
// delivers every entry after Seq after, from every process, one batch per
// read. When
// the counters of consecutive entries do not rise by one, entries were
// trimmed before this process read them, and it calls lost first. It
// retries with backoff while Redis is unreachable, logging to opts.Logger,
// and returns ctx's error when ctx is done (within opts.Block).
func (r *Redis) Tail(ctx context.Context, after uint64, deliver func([]*hub.Event), lost func(resume uint64)) error {
	pos := streamID(after)
	prev, known := r.counterOf(ctx, after) // the counter of the entry at pos
	if !known {
		if gone := r.trimmedThrough(ctx); gone > after {
			lost(gone) // conservatively: some of them may never have existed
		}
	}
	backoff := 50 * time.Millisecond
	var batch []*hub.Event
	flush := func() {
		deliver(batch)
		clear(batch)
		batch = batch[:0]
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := r.client.XRead(ctx, &redis.XReadArgs{
			Streams: []string{r.stream, pos},
			Count:   r.opts.ReadCount,
			Block:   r.opts.Block,
		}).Result()
		if errors.Is(err, redis.Nil) {
			continue // BLOCK timed out
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.opts.Logger.Warn("redis history: tail read failed; retrying", "err", err, "backoff", backoff)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		for _, s := range res {
			for _, m := range s.Messages {
				seq, c, e, err := decodeMessage(m)
				if err != nil {
					// Subscribers cannot get this entry: report a gap that
					// covers it and go on after it.
					r.opts.Logger.Error("redis history: skipping an entry that does not decode", "id", m.ID, "err", err)
					flush()
					if s, perr := parseStreamID(m.ID); perr == nil {
						lost(s)
					}
					pos, known = m.ID, false
					continue
				}
				if known && c != prev+1 {
					flush()
					lost(seq - 1)
				}
				prev, known, pos = c, true, m.ID
				r.noteLast(seq, e.ID)
				batch = append(batch, e)
			}
		}
		flush()
	}
}

// trimmedThrough returns a Seq at or above every trimmed entry's and below
// every held entry's: just below the first entry, or the last generated
// entry id when the stream is empty; 0 when it cannot tell.
func (r *Redis) trimmedThrough(ctx context.Context) uint64 {
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	info, err := r.client.XInfoStream(ctx, r.stream).Result()
	if err != nil {
		return 0
	}
	if info.Length > 0 {
		first, err := parseStreamID(info.FirstEntry.ID)
		if err != nil || first == 0 {
			return 0
		}
		return first - 1
	}
	last, _ := parseStreamID(info.LastGeneratedID)
	return last
}

// counterOf returns the counter of the entry with Seq seq: 0 for Seq 0
// (counters start at 1), the entry's own while it is held, and the one
// NewRedis or the meta hash saw while it was the newest, even if expired.
func (r *Redis) counterOf(ctx context.Context, seq uint64) (uint64, bool) {
	if seq == 0 {
		return 0, true
	}
	if seq == r.startSeq {
		return r.startCount, true
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	sid := streamID(seq)
	msgs, err := r.client.XRangeN(ctx, r.stream, sid, sid, 1).Result()
	if err == nil && len(msgs) == 1 {
		_, c, _, err := decodeMessage(msgs[0])
		return c, err == nil
	}
	if newest, c, ok, err := r.newest(ctx); err == nil && ok && newest == seq {
		return c, true
	}
	return 0, false
}
