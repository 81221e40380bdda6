package edge

import (
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/edge-sse/edge-sse/shared/frame"
)

// Feed keeps ONE subscription to the origin's edge feed for a hub while the
// hub has clients. After any break it resumes after the newest id the hub
// holds, waiting a jittered, growing backoff between attempts; it gives up
// once the hub has been without clients for Idle, and Start brings it back
// when a client arrives.
type Feed struct {
	Hub *Hub
	// Dial opens the origin's live feed after the id given (empty: from
	// the origin's newest on). Its body is read until it breaks; Close must
	// be safe to call from another goroutine while a Read waits.
	Dial func(after string) (io.ReadCloser, error)
	// Timeout is how long the feed may stay silent, heartbeats included,
	// before it is closed and dialled again.
	Timeout time.Duration
	// Idle is how long the feed is kept without any client.
	Idle time.Duration
	// Collect is how long a Collector body keeps reading after data
	// arrives, when the last fan-out wrote to many streams (the feed pump
	// collects only when data was already waiting: the feed ran ahead).
	Collect time.Duration
	// Logf logs the feed's breaks (nil: log.Printf).
	Logf func(format string, args ...any)
	// Sleep waits between attempts (nil: time.Sleep).
	Sleep func(time.Duration)

	mu      sync.Mutex
	running bool // guarded by mu
}

// Collector is implemented by a feed body that can keep reading, after data
// arrives, before a Read returns it (the feed pump of entry.mjs, which
// joins every chunk read meanwhile): events that arrive during a long
// fan-out then go out together, one write per client.
type Collector interface {
	// Collect sets how long the next refill keeps reading after data
	// arrives; the refills after it do not (they complete a frame).
	Collect(time.Duration)
	// Pending reports whether bytes of the last refill are still unread.
	Pending() bool
}

// Arrivals is implemented by a feed body that can tell, without waiting,
// whether more of the feed has arrived than was read (the feed pump of
// feedpump.mjs). The feed then takes in, between the slices of a fan-out,
// the events that arrived meanwhile, and they join the fan-out in
// progress (Hub.DeliverMore).
type Arrivals interface {
	Arrived() bool
}

// The backoff between attempts to reach the origin: the first, doubled
// after each attempt up to the last.
const (
	firstBackoff = 250 * time.Millisecond
	maxBackoff   = 30 * time.Second
)

// collectAfter is the number of stream writes of a fan-out from which the
// next read of the feed collects for Collect: below it a fan-out is quick
// and collecting would only add latency.
const collectAfter = 64

// DefaultDecodeSlice is how many events of one batch the feed decodes between
// yields to the event loop (Hub.Yield), like the slices of a fan-out: a
// burst hands the feed hundreds of events in one read, and decoding them
// (frame, topics, the event's chunk) all in one go held the object's
// thread for tens of milliseconds in wasm (docs/EVIDENCE.md). The batch
// still goes out in one fan-out, one write per client.
const DefaultDecodeSlice = 16

// errIdle ends the feed of a hub that has had no client for Idle.
var errIdle = errors.New("no clients")

// Start runs the feed in a goroutine unless it runs already. Call it after
// adding a client to the hub: a feed giving up for lack of clients checks
// the hub again under the same lock, so it either sees that client and
// keeps going or has stopped before Start looks, and no client is left
// without a feed.
func (f *Feed) Start() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.running {
		return
	}
	f.running = true
	go func() {
		for {
			f.Run()
			f.mu.Lock()
			if f.Hub.Subscribers() == 0 {
				f.running = false
				f.mu.Unlock()
				return
			}
			f.mu.Unlock()
		}
	}()
}

// Run reads the feed, reconnecting after every break, until the hub has
// been without clients for Idle.
func (f *Feed) Run() {
	backoff := firstBackoff
	for {
		connected, err := f.once()
		if errors.Is(err, errIdle) {
			f.logf("edge: no clients for %s, upstream feed closed", f.Idle)
			return
		}
		f.logf("edge: upstream feed ended: %v", err)
		if connected {
			// The origin answered with a feed: a break after that is not
			// a failing origin, so resume soon rather than after a backoff
			// grown by earlier failures.
			backoff = firstBackoff
		}
		f.sleep(backoff/2 + rand.N(backoff))
		backoff = min(backoff*2, maxBackoff)
	}
}

// once reads one feed until it breaks. A watchdog closes the body when no
// frame, heartbeats included, arrives within Timeout. connected reports
// whether the origin sent at least one frame.
func (f *Feed) once() (connected bool, err error) {
	body, err := f.Dial(f.Hub.LastEventID())
	if err != nil {
		return false, fmt.Errorf("connect feed: %w", err)
	}
	var closeOnce sync.Once
	closeBody := func() { closeOnce.Do(func() { body.Close() }) }
	defer closeBody()
	watchdog := time.AfterFunc(f.Timeout, func() {
		f.logf("edge: no frame from the origin for %s, reconnecting", f.Timeout)
		closeBody()
	})
	defer watchdog.Stop()

	col, _ := body.(Collector)
	arr, _ := body.(Arrivals)
	r := frame.NewReader(body, 0)
	var batch []*Event
	lastClient := time.Now()
	// stashed: more (below) stopped at a frame other than an event or a
	// heartbeat, which the loop applies next, after the fan-out.
	stashed := false
	// more decodes the events that arrived during a fan-out, for the hub
	// to add to it: those in whole frames already read, and those the
	// body holds, without waiting for any (a frame whose rest has not
	// arrived stays for the loop below).
	more := func() []*Event {
		var out []*Event
		for !stashed {
			if !r.Buffered() {
				if arr == nil || !arr.Arrived() {
					break
				}
				r.Fill() // one read, which Arrived says does not wait
				if !r.Buffered() {
					break
				}
			}
			if !r.Next() {
				break // the loop below sees the error
			}
			watchdog.Reset(f.Timeout)
			switch fr := r.Frame(); fr.Type {
			case frame.TypeEvent:
				out = f.decode(out, fr)
			case frame.TypeHeartbeat:
			default:
				stashed = true
			}
		}
		return out
	}
	for stashed || r.Next() {
		stashed = false
		connected = true
		watchdog.Reset(f.Timeout)
		if f.Hub.Subscribers() > 0 {
			lastClient = time.Now()
		} else if time.Since(lastClient) > f.Idle {
			return true, errIdle
		}
		if fr := r.Frame(); fr.Type == frame.TypeEvent {
			batch = f.decode(batch, fr)
		} else {
			f.deliver(batch, body, nil) // more would move r off fr
			batch = batch[:0]
			f.Hub.OnFrame(fr)
		}
		// Deliver everything read so far together: one write per client.
		// If that fan-out was a big one, the next read collects.
		if len(batch) > 0 && !r.Buffered() && (col == nil || !col.Pending()) {
			n := f.deliver(batch, body, more)
			batch = batch[:0]
			if col != nil {
				if n >= collectAfter {
					// The body collects only if more of the feed is
					// already there when asked; a fan-out that did not
					// yield kept the event loop from reading it, so
					// give it a turn first.
					col.Collect(f.Collect)
					if f.Hub.Yield != nil {
						f.Hub.Yield()
					}
				} else {
					col.Collect(0)
				}
			}
		}
	}
	if err := r.Err(); err != nil {
		return connected, fmt.Errorf("read feed: %w", err)
	}
	return connected, errors.New("read feed: origin closed the stream")
}

// decode appends the event of fr to batch, yielding to the event loop
// every decodeSlice events of it.
func (f *Feed) decode(batch []*Event, fr *frame.Frame) []*Event {
	if e := newEvent(f.Hub.compiler, fr); e != nil {
		batch = append(batch, e)
		if len(batch)%f.Hub.decodeSlice() == 0 && f.Hub.Yield != nil {
			f.Hub.Yield()
		}
	}
	return batch
}

// deliver fans batch out, with the events more (nil: none) brings during
// it, and keeps its timeline in the hub's trace; it returns the stream
// writes.
func (f *Feed) deliver(batch []*Event, body io.Reader, more func() []*Event) int {
	if len(batch) == 0 {
		return 0
	}
	t := BatchTrace{LastID: batch[len(batch)-1].ID, Events: len(batch), StartMs: unixMs(time.Now())}
	if s, ok := body.(Stamper); ok {
		arrived, taken := s.Stamps()
		t.ArrivedMs, t.TakenMs = unixMs(arrived), unixMs(taken)
	}
	var counted func() []*Event
	if more != nil {
		counted = func() []*Event {
			events := more()
			t.Joined += len(events)
			return events
		}
	}
	t.Writes = f.Hub.deliverTraced(batch, counted, &t.Rounds)
	t.DoneMs = unixMs(time.Now())
	f.Hub.trace.add(t)
	return t.Writes
}

func (f *Feed) logf(format string, args ...any) {
	if f.Logf != nil {
		f.Logf(format, args...)
		return
	}
	log.Printf(format, args...)
}

func (f *Feed) sleep(d time.Duration) {
	if f.Sleep != nil {
		f.Sleep(d)
		return
	}
	time.Sleep(d)
}
