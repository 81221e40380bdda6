package edge

import (
	"fmt"
	"io"
	"log"
	"sync"
	"time"

	"github.com/edge-sse/edge-sse/shared/frame"
)

// Fetcher answers a hub's catch-up fetches (set Hub.OnFetch to its Start)
// from the origin's history: the feed's bounded mode, the events after
// After up to and including Until.
//
// If the origin cannot be asked, or has not answered within Timeout, the
// hub disconnects the clients resuming from After, to retry later, rather
// than tell them anything false, and goes on with the others: every client
// queued before a fetch waits for its answer, so a fetch that hangs (a
// Workers fetch cannot be cancelled) must not hold them all. Its slot is
// given back then too; a late answer is ignored.
type Fetcher struct {
	Hub *Hub
	// Fetch opens the origin's history after the id after up to and
	// including until.
	Fetch func(after, until string) (io.ReadCloser, error)
	// Timeout bounds the wait for a whole answer.
	Timeout time.Duration
	// Logf logs failed fetches (nil: log.Printf).
	Logf func(format string, args ...any)

	slotsOnce sync.Once
	slots     chan struct{}
}

// FetchSlots bounds the Fetcher's requests in flight: a Durable Object may
// hold 6 outgoing connections at once (Cloudflare's documented limit) and
// the upstream feed takes one. The hub itself keeps at most
// DefaultMaxFetches in flight; this is the bound of last resort.
const FetchSlots = 4

// Start answers f in a goroutine; it does not block, as Hub.OnFetch must not.
func (ft *Fetcher) Start(f Fetch) { go ft.run(f) }

func (ft *Fetcher) run(f Fetch) {
	ft.slotsOnce.Do(func() { ft.slots = make(chan struct{}, FetchSlots) })
	ft.slots <- struct{}{}
	var once sync.Once
	end := func(events []*Event, gap bool, err error) {
		once.Do(func() {
			defer func() { <-ft.slots }()
			if err != nil {
				ft.logf("edge: catch-up fetch after %q until %q failed: %v", f.After, f.Until, err)
				ft.Hub.FailFetch(f.Key)
				return
			}
			ft.Hub.FinishFetch(f.Key, events, gap)
		})
	}
	timeout := time.AfterFunc(ft.Timeout, func() {
		end(nil, false, fmt.Errorf("no answer within %s (FEED_TIMEOUT_MS)", ft.Timeout))
	})
	events, gap, err := ft.fetchRange(f.After, f.Until)
	timeout.Stop()
	end(events, gap, err)
}

// fetchRange reads the origin's answer for the range after..until: its
// events up to until, or gap when the origin no longer holds after.
func (ft *Fetcher) fetchRange(after, until string) ([]*Event, bool, error) {
	body, err := ft.Fetch(after, until)
	if err != nil {
		return nil, false, fmt.Errorf("fetch history: %w", err)
	}
	defer body.Close()
	var events []*Event
	r := frame.NewReader(body, 0)
	for r.Next() {
		f := r.Frame()
		switch f.Type {
		case frame.TypeGap:
			return nil, true, nil
		case frame.TypeEvent:
			e := newEvent(ft.Hub.compiler, f)
			if e == nil {
				continue
			}
			events = append(events, e)
			if e.ID == until {
				return events, false, nil
			}
		}
	}
	if err := r.Err(); err != nil {
		return nil, false, fmt.Errorf("read history: %w", err)
	}
	return nil, false, fmt.Errorf("read history: the origin ended before %q", until)
}

func (ft *Fetcher) logf(format string, args ...any) {
	if ft.Logf != nil {
		ft.Logf(format, args...)
		return
	}
	log.Printf(format, args...)
}
