package history

import (
	"bytes"
	"time"

	bolt "go.etcd.io/bbolt"
)

// oldestExpired reports whether the oldest held event is older than MaxAge,
// so that an idle store does not write (and sync) on every prune tick.
func (b *Bolt) oldestExpired() bool {
	b.mu.RLock()
	first := b.first
	b.mu.RUnlock()
	expired := false
	b.db.View(func(tx *bolt.Tx) error {
		t, err := recordTime(tx.Bucket(boltEvents).Get(seqKey(first)))
		expired = err == nil && t < b.opts.Now().Add(-b.opts.MaxAge).UnixMilli()
		return nil
	})
	return expired
}

// maxPrunePerTx bounds the events one transaction removes, so a long
// backlog of expired events is removed over several ticks.
const maxPrunePerTx = 10000

// pruneTx removes the oldest events beyond MaxEvents or older than MaxAge,
// with their ids, starting at Seq first; it returns the new oldest Seq.
func (b *Bolt) pruneTx(tx *bolt.Tx, first uint64, now time.Time) (uint64, error) {
	events, ids := tx.Bucket(boltEvents), tx.Bucket(boltIDs)
	last := events.Sequence()
	cutoff := now.Add(-b.opts.MaxAge).UnixMilli()
	removed := 0
	for ; first <= last && removed < maxPrunePerTx; first++ {
		key := seqKey(first)
		v := events.Get(key)
		if v == nil {
			continue
		}
		over := b.opts.MaxEvents > 0 && last-first+1 > uint64(b.opts.MaxEvents)
		if !over {
			if b.opts.MaxAge <= 0 {
				break
			}
			if t, err := recordTime(v); err == nil && t >= cutoff {
				break
			}
		}
		id, err := recordID(v)
		if err == nil && bytes.Equal(ids.Get([]byte(id)), key) {
			if err := ids.Delete([]byte(id)); err != nil {
				return 0, err
			}
		}
		if err := events.Delete(key); err != nil {
			return 0, err
		}
		removed++
	}
	return first, nil
}
