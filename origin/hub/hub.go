// Package hub is the origin's fan-out core: it numbers published events,
// keeps them in a History, and hands each one to every interested Subscriber
// through that subscriber's bounded queue. A subscriber whose queue is full
// is disconnected rather than waited for, so one slow client never stalls
// the others; it comes back with Last-Event-ID and resumes from history.
package hub

import (
	"errors"
	"sync"
)

var (
	// ErrDuplicateID reports a publish whose id the hub already holds.
	ErrDuplicateID = errors.New("hub: an event with this id was already published")
	// ErrUnknownID reports a resume from an id the history does not hold
	// (never seen, or already expired).
	ErrUnknownID = errors.New("hub: unknown or expired last event id")
	// ErrClosed reports an operation on a closed hub.
	ErrClosed = errors.New("hub: closed")
)

// Event is a published update. The hub encodes it once; every subscriber
// shares SSE and Frame.
type Event struct {
	// Seq orders events within this hub; assigned by Publish.
	Seq     uint64
	ID      string
	Topics  []string
	Private bool
	Type    string
	Retry   uint64
	Data    string
	// SSE is the event as text/event-stream bytes.
	SSE []byte
	// Frame is the event as an edge feed frame.
	Frame []byte
}

// Subscriber receives events through a bounded queue.
type Subscriber struct {
	// Match decides whether the subscriber wants an event; nil matches all.
	Match func(*Event) bool

	queue  chan *Event
	done   chan struct{}
	reason error
	once   sync.Once
}

// ErrSlow is the reason given to a subscriber disconnected because its
// queue filled up.
var ErrSlow = errors.New("hub: subscriber too slow, disconnected; resume with Last-Event-ID")

// NewSubscriber returns a subscriber whose queue holds up to size events.
func NewSubscriber(size int, match func(*Event) bool) *Subscriber {
	if size <= 0 {
		size = 1
	}
	return &Subscriber{Match: match, queue: make(chan *Event, size), done: make(chan struct{})}
}

// Events returns the subscriber's queue.
func (s *Subscriber) Events() <-chan *Event { return s.queue }

// Done is closed when the hub drops the subscriber; Err tells why.
func (s *Subscriber) Done() <-chan struct{} { return s.done }

// Err returns why the subscriber was dropped, or nil while it is live.
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
