// Package hub is the origin's fan-out core: it has each published event
// stored by a History, then hands it to every interested Subscriber through
// that subscriber's bounded queue. A subscriber whose queue is full is
// disconnected rather than waited for, so one slow client never stalls the
// others; it comes back with Last-Event-ID and resumes from history.
//
// # Ordering and resume
//
// Every stored event has a Seq, assigned by the History, that orders it
// among all events of that history (of every process sharing it). The hub
// offers events to subscribers strictly in Seq order, in batches, from one
// fan-out goroutine (its own for a local History, the tail's for a shared
// one), through a fixed set of shards; each shard remembers the Seq of the last
// event it was offered. Subscribe registers a subscriber in a shard under
// that shard's lock and reads the shard's Seq at the same moment: call it
// until. Every event with a Seq above until will be offered to the
// subscriber; every event at or below until is already in the History. So
// replay = History.Range(after, until) followed by the live queue has no gap
// and no duplicate at the switch-over, and the replay is read outside every
// hub lock. When the resume point is newer than until (stored, but not yet
// fanned out by this hub), the replay is empty and live events up to the
// resume point are skipped for that subscriber.
//
// # Locks
//
// Hub.closeMu is read-held by Publish across History.Append and the inbox
// push; Close write-holds it only to set closed. inbox.mu is a leaf. A
// shard's mutex is taken on its own
// (by the fan-out goroutine, by register and remove, by dropAll), never
// together with another shard's. History implementations use their own
// locks inside their methods; a Tailer's callbacks run on the hub's fan-out
// goroutine with no hub lock held.
package hub

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/edge-sse/edge-sse/shared/mercure"
	"github.com/edge-sse/edge-sse/shared/topic"
)

var (
	// ErrDuplicateID reports a publish whose id the history already holds.
	ErrDuplicateID = errors.New("hub: an event with this id was already published")
	// ErrUnknownID reports a resume from an id the history does not hold
	// (never seen, or already expired).
	ErrUnknownID = errors.New("hub: unknown or expired last event id")
	// ErrClosed reports an operation on a closed hub, and is the reason
	// given to subscribers dropped by Close: they should reconnect.
	ErrClosed = errors.New("hub: closed")
	// ErrSlow is the reason given to a subscriber disconnected because its
	// queue filled up.
	ErrSlow = errors.New("hub: subscriber too slow, disconnected; resume with Last-Event-ID")
	// ErrLost is the reason given to subscribers dropped because the hub
	// could not read some events of a shared history before they were
	// trimmed; they should resume with Last-Event-ID.
	ErrLost = errors.New("hub: events lost between the shared history and this hub; resume with Last-Event-ID")
	// ErrSubscribed reports a second Subscribe of the same Subscriber.
	ErrSubscribed = errors.New("hub: subscriber already subscribed; create a new one with NewSubscriber")
)

// Event is a published update. The publisher side encodes it once; every
// subscriber shares SSE and Frame, which must not be modified after Publish.
type Event struct {
	// Seq orders the event among all events of its History; Publish sets it
	// (through History.Append).
	Seq     uint64
	ID      string
	Topics  []string
	Private bool
	Type    string
	Retry   uint64
	Data    string
	// SSE is the event as text/event-stream bytes.
	SSE []byte
	// Frame is the event as an edge feed frame (shared/frame).
	Frame []byte

	// prepared is set while the fan-out offers the event (see
	// Hub.ShareMatching).
	prepared atomic.Pointer[topic.Topics]
}

// Prepared returns the event's topics prepared for matching, with the memo
// of the hub's Registry, while the hub's fan-out offers the event to its
// subscribers (see Hub.ShareMatching), and nil otherwise: a replay matches
// the events it reads without it.
func (e *Event) Prepared() *topic.Topics { return e.prepared.Load() }

// Hub stores, orders and fans out events. See the package documentation for
// the ordering invariant and the lock order.
type Hub struct {
	history History
	tailer  Tailer // non-nil when history is shared by several hubs

	closeMu   sync.RWMutex // read-held by Publish; see the package doc
	closed    atomic.Bool
	closeOnce sync.Once

	inbox  inbox
	lastID atomic.Pointer[string] // id of the newest event fanned out
	// matching, when set, prepares each event's topics for its fan-out.
	matching atomic.Pointer[matching]
	shards   [shardCount]shard
	pick     atomic.Uint32

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	published  atomic.Uint64
	delivered  atomic.Uint64
	slowDrops  atomic.Uint64
	lost       atomic.Uint64
	subscribed atomic.Int64
}

// New returns a hub that stores events in history and starts its fan-out
// goroutine, which Close stops. When history implements Tailer (a store
// shared by several hubs, such as Redis), that goroutine delivers what the
// store's tail reports, including this hub's own publishes. The caller
// closes history after closing the hub.
func New(history History) *Hub {
	h := &Hub{history: history}
	h.inbox.signal = make(chan struct{}, 1)
	h.ctx, h.cancel = context.WithCancel(context.Background())
	start, id := history.Last()
	h.lastID.Store(&id)
	for i := range h.shards {
		h.shards[i].seq, h.shards[i].id = start, id
	}
	h.wg.Add(1)
	if t, ok := history.(Tailer); ok {
		h.tailer = t
		go func() {
			defer h.wg.Done()
			t.Tail(h.ctx, start, h.deliver, h.lostEvents)
		}()
	} else {
		go h.runLocal(start)
	}
	return h
}

// Publish stores e, setting e.Seq, and queues it for the fan-out
// goroutine. It returns once the History holds e, so an acknowledged event
// survives a crash as far as the History is durable; it does not wait for
// the fan-out, which delivers everything published meanwhile in one batch.
// (With a shared History, Publish only stores: the tail brings e back to
// every hub.) It returns ErrDuplicateID when the id is already held, and
// ErrClosed after Close.
func (h *Hub) Publish(e *Event) error {
	h.closeMu.RLock()
	defer h.closeMu.RUnlock()
	if h.closed.Load() {
		return ErrClosed
	}
	if err := h.history.Append(e); err != nil {
		if errors.Is(err, ErrDuplicateID) {
			return err
		}
		return fmt.Errorf("store event: %w", err)
	}
	h.published.Add(1)
	if h.tailer == nil {
		h.inbox.push(e)
	}
	return nil
}

// Earliest is the reserved resume id asking for every event the History
// holds (Mercure §"Reconciliation"; no published event carries it).
const Earliest = mercure.Earliest

// Subscribe registers s. When lastEventID is not empty it also returns the
// stored events after that id that s matches, in order (with Earliest:
// every held event that s matches, from the oldest); every later event
// arrives on s's queue, so replay followed by the queue has no gap and no
// duplicate, whatever is being published meanwhile. If lastEventID is
// unknown or expired, s is still registered and the error is ErrUnknownID,
// so the caller can tell the client it missed events. On any other error s
// is not registered. A Subscriber is subscribed at most once.
func (h *Hub) Subscribe(s *Subscriber, lastEventID string) ([]*Event, error) {
	if h.closed.Load() {
		return nil, ErrClosed
	}
	if lastEventID == Earliest {
		return h.subscribeEarliest(s)
	}
	var after uint64
	unknown := false
	if lastEventID != "" {
		seq, err := h.history.Lookup(lastEventID)
		switch {
		case err == nil:
			after = seq
		case errors.Is(err, ErrUnknownID):
			unknown = true
		default:
			return nil, fmt.Errorf("look up last event id: %w", err)
		}
	}
	until, err := h.register(s, after, lastEventID)
	if err != nil {
		return nil, err
	}
	if unknown {
		return nil, ErrUnknownID
	}
	if lastEventID == "" || after >= until {
		return nil, nil
	}
	var replay []*Event
	err = h.history.Range(after, until, func(e *Event) bool {
		if s.Match == nil || s.Match(e) {
			replay = append(replay, e)
		}
		return true
	})
	if errors.Is(err, ErrUnknownID) {
		return nil, ErrUnknownID // expired between Lookup and Range
	}
	if err != nil {
		h.Unsubscribe(s)
		return nil, fmt.Errorf("replay history: %w", err)
	}
	return replay, nil
}

// subscribeEarliest is Subscribe from Earliest: the replay is every held
// event up to the Seq s was registered at. ErrUnknownID means that expiry
// overtook the read (s is registered, without replay).
func (h *Hub) subscribeEarliest(s *Subscriber) ([]*Event, error) {
	until, err := h.register(s, 0, "")
	if err != nil {
		return nil, err
	}
	var replay []*Event
	err = h.history.RangeOldest(until, func(e *Event) bool {
		if s.Match == nil || s.Match(e) {
			replay = append(replay, e)
		}
		return true
	})
	if errors.Is(err, ErrUnknownID) {
		return nil, ErrUnknownID
	}
	if err != nil {
		h.Unsubscribe(s)
		return nil, fmt.Errorf("replay history: %w", err)
	}
	return replay, nil
}

// Unsubscribe removes s; it is safe to call more than once.
func (h *Hub) Unsubscribe(s *Subscriber) {
	if sh := s.shard.Load(); sh != nil && sh.remove(s, nil) {
		h.subscribed.Add(-1)
	}
}

// LastEventID returns the id of the newest event the hub has fanned out
// (or, before any, the newest the History held when the hub was created),
// or "". It lags Publish by the fan-out's delay. For the Last-Event-ID
// header of one subscription, Subscriber.LastEventID is exact.
func (h *Hub) LastEventID() string {
	return *h.lastID.Load()
}

// Close refuses further publishes and subscriptions, waits for publishes in
// flight to be stored, offers every stored event still waiting here to the
// subscribers (with a local History), stops the fan-out goroutine and drops
// every subscriber with ErrClosed so the HTTP layer tells its clients to
// reconnect; events queued before stay readable. It does not
// close the History, which the caller owns and closes afterwards.
func (h *Hub) Close() {
	h.closeOnce.Do(func() {
		h.closeMu.Lock()
		h.closed.Store(true)
		h.closeMu.Unlock()
		h.cancel()
		h.wg.Wait()
		h.dropAll(ErrClosed, nil)
	})
}

// Stats is a snapshot of the hub's counters.
type Stats struct {
	// Subscribers is the number of registered subscribers.
	Subscribers int64
	// Published counts events stored through this hub.
	Published uint64
	// Delivered counts events queued to subscribers.
	Delivered uint64
	// SlowDrops counts subscribers dropped with ErrSlow.
	SlowDrops uint64
	// Lost counts the times the hub dropped its subscribers with ErrLost.
	Lost uint64
	// History is the number of events the History holds.
	History int
}

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	return Stats{
		Subscribers: h.subscribed.Load(),
		Published:   h.published.Load(),
		Delivered:   h.delivered.Load(),
		SlowDrops:   h.slowDrops.Load(),
		Lost:        h.lost.Load(),
		History:     h.history.Len(),
	}
}
