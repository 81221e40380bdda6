package hub

import (
	"sync"

	"github.com/edge-sse/edge-sse/shared/topic"
)

// matching is what the fan-out prepares events' topics with.
type matching struct {
	c   *topic.Compiler
	reg *topic.Registry
}

// ShareMatching has the fan-out prepare each event's topics once with c
// and share them through reg (topic.Registry.Share) while it offers the
// event: subscribers whose Match uses Event.Prepared then run each costly
// selector once per event, however many of them hold it, instead of once
// each. The prepared topics are dropped after the fan-out, so the events a
// History keeps do not hold them.
func (h *Hub) ShareMatching(c *topic.Compiler, reg *topic.Registry) {
	h.matching.Store(&matching{c: c, reg: reg})
}

// deliver offers batch, a run of events in increasing Seq order that
// follows the previous batch, to every shard in turn. It runs on the hub's
// fan-out goroutine only.
func (h *Hub) deliver(batch []*Event) {
	if len(batch) == 0 {
		return
	}
	if m := h.matching.Load(); m != nil {
		for _, e := range batch {
			e.prepared.Store(m.reg.Share(m.c.Prepare(e.Topics...)))
		}
		defer func() {
			for _, e := range batch {
				e.prepared.Store(nil)
			}
		}()
	}
	var delivered, dropped int
	for i := range h.shards {
		d, x := h.shards[i].offer(batch)
		delivered += d
		dropped += x
	}
	h.delivered.Add(uint64(delivered))
	if dropped > 0 {
		h.slowDrops.Add(uint64(dropped))
		h.subscribed.Add(-int64(dropped))
	}
	h.lastID.Store(&batch[len(batch)-1].ID)
}

// lostEvents is the Tailer's lost callback: the events after the hub's
// position up to resume were trimmed before the hub read them. Subscribers
// are dropped with ErrLost, and later ones start from resume, so a resume
// from before the gap finds its id expired instead of silently skipping.
func (h *Hub) lostEvents(resume uint64) {
	h.lost.Add(1)
	h.dropAll(ErrLost, &resume)
}

// inbox carries the events Publish stored in a local History to the
// fan-out goroutine.
type inbox struct {
	mu     sync.Mutex
	events []*Event
	spare  []*Event
	signal chan struct{} // capacity 1: "events is not empty"
}

func (q *inbox) push(e *Event) {
	q.mu.Lock()
	q.events = append(q.events, e)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// take returns the queued events; the slice is valid until the next take.
func (q *inbox) take() []*Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.events
	q.events = q.spare[:0]
	q.spare = out
	return out
}

// runLocal is the fan-out goroutine of a hub with a local History. Each
// time it runs it takes every event published meanwhile and delivers them
// as one batch, so a fan-out that waited for the scheduler behind many
// subscriber goroutines catches up in one pass. Local histories assign
// consecutive Seqs, but concurrent publishers may queue them out of order;
// runLocal delivers only the consecutive run from the next expected Seq
// and keeps the rest for later. On Close it delivers what is queued, then
// returns.
func (h *Hub) runLocal(last uint64) {
	defer h.wg.Done()
	next := last + 1
	var batch []*Event
	early := make(map[uint64]*Event) // events that arrived before a predecessor
	for {
		stopping := false
		select {
		case <-h.inbox.signal:
		case <-h.ctx.Done():
			stopping = true
		}
		in := h.inbox.take()
		batch = batch[:0]
		for _, e := range in {
			switch {
			case e.Seq == next && len(early) == 0:
				batch = append(batch, e)
				next++
			case e.Seq >= next:
				early[e.Seq] = e
			}
		}
		clear(in)
		for len(early) > 0 {
			e, ok := early[next]
			if !ok {
				break
			}
			delete(early, next)
			batch = append(batch, e)
			next++
		}
		h.deliver(batch)
		clear(batch)
		if stopping {
			return
		}
	}
}
