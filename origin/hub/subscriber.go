package hub

import (
	"sync"
	"sync/atomic"
)

// Subscriber receives events through a bounded queue. The hub never blocks
// on it: when the queue is full the subscriber is dropped with ErrSlow.
type Subscriber struct {
	// Match decides whether the subscriber wants an event; nil matches all.
	// The hub calls it from its fan-out goroutine and from Subscribe, so it
	// must be safe for concurrent use and fast.
	Match func(*Event) bool

	queue  chan *Event
	done   chan struct{}
	reason error
	once   sync.Once

	// shard is set once, by Hub.register. idx and after are guarded by
	// shard.mu: idx is the position in shard.subs, after the Seq up to
	// which events are not offered (already replayed or already seen).
	// since, the id of the event with Seq after, is set by register and
	// read after Subscribe returns.
	shard atomic.Pointer[shard]
	idx   int
	after uint64
	since string
}

// NewSubscriber returns a subscriber whose queue holds up to size events.
func NewSubscriber(size int, match func(*Event) bool) *Subscriber {
	if size <= 0 {
		size = 1
	}
	return &Subscriber{Match: match, queue: make(chan *Event, size), done: make(chan struct{})}
}

// Events returns the subscriber's queue. Events arrive in Seq order.
func (s *Subscriber) Events() <-chan *Event { return s.queue }

// LastEventID returns, once Subscribe has returned, the id of the event
// after which the subscriber's live queue starts: every later event that
// it matches arrives on Events, every event up to it came in the replay or
// precedes the resume point. It is the exact value for the Last-Event-ID
// header of the subscription's response (Mercure §"Reconnection, State
// Reconciliation and Event Sourcing"); "" when the hub has no event yet.
func (s *Subscriber) LastEventID() string { return s.since }

// Done is closed when the hub drops the subscriber; Err tells why. Events
// queued before the drop stay readable from Events.
func (s *Subscriber) Done() <-chan struct{} { return s.done }

// Err returns why the subscriber was dropped (ErrSlow, ErrClosed, ErrLost,
// or nil after Unsubscribe), or nil while it is live.
func (s *Subscriber) Err() error {
	select {
	case <-s.done:
		return s.reason
	default:
		return nil
	}
}

func (s *Subscriber) drop(reason error) {
	s.once.Do(func() {
		s.reason = reason
		close(s.done)
	})
}

// offer queues e without blocking and reports whether it fit.
func (s *Subscriber) offer(e *Event) bool {
	select {
	case s.queue <- e:
		return true
	default:
		return false
	}
}
