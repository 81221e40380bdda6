package hub

import "sync"

// shardCount is the number of subscriber shards. A shard's lock is held
// while a batch of events is offered to that shard's subscribers only, so
// Subscribe and Unsubscribe wait for at most 1/shardCount of a fan-out.
const shardCount = 32

// shard is one slice of the subscribers, with the Seq and id of the last
// event offered to it. Its fields are guarded by mu.
type shard struct {
	mu   sync.Mutex
	seq  uint64
	id   string
	subs []*Subscriber
	_    [8]byte // keep neighbouring shards' mutexes off one cache line
}

// offer hands the events of batch, in Seq order, to every subscriber of the
// shard that wants them, dropping the ones whose queue is full. Looping
// over subscribers first keeps each subscriber in cache for the whole
// batch. It does not allocate.
func (sh *shard) offer(batch []*Event) (delivered, dropped int) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.seq, sh.id = batch[len(batch)-1].Seq, batch[len(batch)-1].ID
	for i := 0; i < len(sh.subs); {
		s := sh.subs[i]
		slow := false
		for _, e := range batch {
			if e.Seq <= s.after || (s.Match != nil && !s.Match(e)) {
				continue
			}
			if !s.offer(e) {
				slow = true
				break
			}
			delivered++
		}
		if !slow {
			i++
			continue
		}
		sh.removeAtLocked(i)
		s.drop(ErrSlow)
		dropped++
	}
	return delivered, dropped
}

// removeAtLocked removes subs[i] by moving the last subscriber into its place.
func (sh *shard) removeAtLocked(i int) {
	last := len(sh.subs) - 1
	if i != last {
		sh.subs[i] = sh.subs[last]
		sh.subs[i].idx = i
	}
	sh.subs[last] = nil
	sh.subs = sh.subs[:last]
}

// remove drops s from the shard with reason and reports whether it was there.
func (sh *shard) remove(s *Subscriber, reason error) bool {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if s.idx >= len(sh.subs) || sh.subs[s.idx] != s {
		return false
	}
	sh.removeAtLocked(s.idx)
	s.drop(reason)
	return true
}

// register adds s to a shard and returns that shard's Seq: every event
// above it will be offered to s, every event at or below it is stored.
// Events up to max(that Seq, after) are never offered to s; after is the
// Seq of the event with id lastEventID, 0 for none.
func (h *Hub) register(s *Subscriber, after uint64, lastEventID string) (until uint64, err error) {
	sh := &h.shards[h.pick.Add(1)%shardCount]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if h.closed.Load() {
		return 0, ErrClosed
	}
	if !s.shard.CompareAndSwap(nil, sh) {
		return 0, ErrSubscribed
	}
	until = sh.seq
	s.after, s.since = until, sh.id
	if after > until {
		s.after, s.since = after, lastEventID
	}
	s.idx = len(sh.subs)
	sh.subs = append(sh.subs, s)
	h.subscribed.Add(1)
	return until, nil
}

// dropAll drops every subscriber with reason. When resume is not nil, each
// shard's Seq becomes *resume in the same critical section.
func (h *Hub) dropAll(reason error, resume *uint64) {
	var n int
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.Lock()
		for _, s := range sh.subs {
			s.drop(reason)
		}
		n += len(sh.subs)
		clear(sh.subs)
		sh.subs = sh.subs[:0]
		if resume != nil {
			sh.seq, sh.id = *resume, ""
		}
		sh.mu.Unlock()
	}
	h.subscribed.Add(-int64(n))
}
