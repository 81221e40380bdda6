package presence

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edge-sse/edge-sse/shared/presence"
)

// DefaultLease is the lease of an instance's subscriptions when Options
// gives none: an instance that sends no report for this long is taken for
// gone, and its subscriptions are terminated.
const DefaultLease = 30 * time.Second

// Options configures a Tracker. Zero values take the defaults documented
// on each field.
type Options struct {
	// HubPath is the path of the hub's URL (default "/.well-known/mercure").
	HubPath string
	// Lease is how long a report keeps its instance's subscriptions
	// (default DefaultLease). The Tracker renews its own instance's every
	// Lease/3.
	Lease time.Duration
	// CheckInterval is how often lapsed leases are looked for (default
	// Lease/10, within [100ms, 1s]).
	CheckInterval time.Duration
	// ClaimBatch bounds the instances one check claims (default 64).
	ClaimBatch int
	// PublishWorkers bounds the events published at once (default 16).
	// Events of one subscription are published in order.
	PublishWorkers int
	// Now returns the current time (default time.Now); tests replace it.
	Now func() time.Time
	// Logger receives operational logs (default slog.Default()).
	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	if o.HubPath == "" {
		o.HubPath = "/.well-known/mercure"
	}
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	if o.CheckInterval <= 0 {
		o.CheckInterval = min(max(o.Lease/10, 100*time.Millisecond), time.Second)
	}
	if o.ClaimBatch <= 0 {
		o.ClaimBatch = 64
	}
	if o.PublishWorkers <= 0 {
		o.PublishWorkers = 16
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// PublishFunc publishes a subscription event through the hub's publish
// path, with e.ID as its id; it returns once the history holds the event,
// and nil when the history held that id already (an earlier try).
type PublishFunc func(e Event) error

// Tracker applies the reports of hub instances to a Store, holds this
// origin process's own instance (its direct subscribers), terminates the
// subscriptions of lapsed leases, and publishes every change. It is safe
// for concurrent use.
type Tracker struct {
	store   Store
	publish PublishFunc
	opts    Options

	self     string // this process's instance id
	selfMu   sync.Mutex
	held     map[string][]presence.Topic // direct subscribers now → selectors
	pending  []presence.Op               // changes not yet reported
	inFlight *presence.Report            // a report that failed; re-sent unchanged
	seq      uint64
	needFull bool
	wake     chan struct{}
	flushMu  sync.Mutex // one report of the own instance at a time

	Stats Stats
}

// Stats counts what a Tracker did.
type Stats struct {
	Reports, Resyncs, Events, PublishErrors, Expired atomic.Uint64
}

// NewTracker returns a Tracker on store that publishes with publish.
func NewTracker(store Store, publish PublishFunc, opts Options) *Tracker {
	opts.setDefaults()
	return &Tracker{
		store: store, publish: publish, opts: opts,
		self: presence.NewInstanceID(), held: map[string][]presence.Topic{},
		needFull: true, wake: make(chan struct{}, 1),
	}
}

// Lease returns the lease of every instance.
func (t *Tracker) Lease() time.Duration { return t.opts.Lease }

// HubPath returns the hub path of the subscription topics.
func (t *Tracker) HubPath() string { return t.opts.HubPath }

// Instance returns the id of this process's own instance.
func (t *Tracker) Instance() string { return t.self }

// ErrUnpublished is the error of Report when some of the report's events
// could not be published: the index holds the change, and the store the
// events, which the instance's retry of the report publishes.
var ErrUnpublished = errors.New("presence: subscription events could not be published (the history is unreachable); retry the report")

// Report applies an edge hub's validated report and publishes its events
// (with those of its earlier reports not yet published); it returns
// ErrResync (wrapped) when the instance must send a full report, and
// ErrUnpublished when an event could not be published. The events are
// published before Report returns, so the next report of the instance
// (sent after the answer) cannot overtake them.
func (t *Tracker) Report(ctx context.Context, r *presence.Report) error {
	t.Stats.Reports.Add(1)
	events, err := t.store.Apply(ctx, Prepare(r, t.opts.HubPath), t.opts.Now(), t.opts.Lease)
	if errors.Is(err, ErrResync) {
		t.Stats.Resyncs.Add(1)
	}
	if err != nil {
		return err
	}
	if len(events) == 0 {
		return nil
	}
	if !t.publishAll(events) {
		return ErrUnpublished
	}
	return t.store.Sent(ctx, r.Hub, r.Seq)
}

// publishAll publishes events, those of one subscription in order, up to
// PublishWorkers at once. It reports whether all were published; a
// failure is logged and counted, and the store keeps the event for the
// next try.
func (t *Tracker) publishAll(events []Event) bool {
	if len(events) == 0 {
		return true
	}
	groups := map[string][]Event{}
	var order []string
	for _, e := range events {
		if _, ok := groups[e.Doc.ID]; !ok {
			order = append(order, e.Doc.ID)
		}
		groups[e.Doc.ID] = append(groups[e.Doc.ID], e)
	}
	var ok atomic.Bool
	ok.Store(true)
	one := func(id string) {
		for _, e := range groups[id] {
			if err := t.publish(e); err != nil {
				ok.Store(false)
				t.Stats.PublishErrors.Add(1)
				t.opts.Logger.Error("presence: a subscription event could not be published; kept for the next try", "id", e.Doc.ID, "active", e.Doc.Active, "err", err)
				return // the later ones of this subscription wait for it
			}
			t.Stats.Events.Add(1)
		}
	}
	if len(order) == 1 {
		one(order[0])
		return ok.Load()
	}
	work := make(chan string)
	var wg sync.WaitGroup
	for range min(t.opts.PublishWorkers, len(order)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				one(id)
			}
		}()
	}
	for _, id := range order {
		work <- id
	}
	close(work)
	wg.Wait()
	return ok.Load()
}

// Connect records a direct subscriber of this origin, with its selectors
// (and their payloads), for the next report of the own instance.
func (t *Tracker) Connect(subscriber string, topics []presence.Topic) {
	t.selfMu.Lock()
	t.held[subscriber] = topics
	t.pending = append(t.pending, presence.Op{Op: presence.OpAdd, Subscriber: subscriber, Topics: topics})
	t.selfMu.Unlock()
	t.signal()
}

// Disconnect records the end of a direct subscriber's connection.
func (t *Tracker) Disconnect(subscriber string) {
	t.selfMu.Lock()
	delete(t.held, subscriber)
	t.pending = append(t.pending, presence.Op{Op: presence.OpRemove, Subscriber: subscriber})
	t.selfMu.Unlock()
	t.signal()
}

func (t *Tracker) signal() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// Flush reports the own instance's pending changes (or, with none, renews
// its lease), as an edge hub's reporter does: one report at a time, a
// failed one re-sent unchanged, a full report after a resync.
func (t *Tracker) Flush(ctx context.Context) error {
	t.flushMu.Lock()
	defer t.flushMu.Unlock()
	for {
		r := t.nextReport()
		err := t.Report(ctx, r)
		t.selfMu.Lock()
		switch {
		case err == nil:
			t.inFlight = nil
		case errors.Is(err, ErrResync):
			// Whatever was pending is in the full report the next round sends.
			t.inFlight, t.needFull = nil, true
			t.pending = nil
			t.selfMu.Unlock()
			continue
		default:
			t.inFlight = r
		}
		more := err == nil && len(t.pending) > 0
		t.selfMu.Unlock()
		if !more {
			return err
		}
	}
}

// nextReport returns the report to send: the failed one again, else a
// full one when needed, else the pending ops.
func (t *Tracker) nextReport() *presence.Report {
	t.selfMu.Lock()
	defer t.selfMu.Unlock()
	if t.inFlight != nil {
		return t.inFlight
	}
	t.seq++
	r := &presence.Report{Hub: t.self, Name: "origin", Seq: t.seq}
	if t.needFull {
		r.Full, t.needFull, t.pending = true, false, nil
		for sub, topics := range t.held {
			r.Ops = append(r.Ops, presence.Op{Op: presence.OpAdd, Subscriber: sub, Topics: topics})
		}
		return r
	}
	r.Ops, t.pending = t.pending, nil
	return r
}

// Expire claims lapsed leases once, publishes the termination of their
// subscriptions and forgets them. It returns the number of instances
// terminated.
func (t *Tracker) Expire(ctx context.Context) (int, error) {
	claims, err := t.store.Claim(ctx, t.opts.Now(), t.opts.Lease, t.opts.ClaimBatch)
	n := 0
	for _, c := range claims {
		if len(c.Ended) > 0 || c.Instance != t.self {
			t.opts.Logger.Info("presence: lease lapsed, terminating the instance's subscriptions", "instance", c.Instance, "subscriptions", len(c.Ended))
		}
		if !t.publishAll(c.Ended) {
			continue // the claim lapses; a later check publishes again
		}
		if ferr := t.store.Forget(ctx, c); ferr != nil && err == nil {
			err = ferr
		}
		n++
		t.Stats.Expired.Add(1)
	}
	return n, err
}

// List returns the active subscriptions ref names, ordered by id.
func (t *Tracker) List(ctx context.Context, ref presence.Ref) ([]presence.Subscription, error) {
	return t.store.List(ctx, ref)
}

// Run reports the own instance's changes as they come (and renews its
// lease every Lease/3) and checks for lapsed leases every CheckInterval,
// until ctx is done; then it reports what is still pending (the
// disconnections of a drain) and returns.
func (t *Tracker) Run(ctx context.Context) {
	renew := time.NewTicker(t.opts.Lease / 3)
	defer renew.Stop()
	check := time.NewTicker(t.opts.CheckInterval)
	defer check.Stop()
	retry := time.NewTimer(0)
	<-retry.C
	for {
		var err error
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := t.Flush(fctx); err != nil {
				t.opts.Logger.Warn("presence: the last report of this origin's subscribers failed", "err", err)
			}
			cancel()
			return
		case <-t.wake:
			err = t.Flush(ctx)
		case <-renew.C:
			err = t.Flush(ctx)
		case <-retry.C:
			err = t.Flush(ctx)
		case <-check.C:
			if _, err := t.Expire(ctx); err != nil && ctx.Err() == nil {
				t.opts.Logger.Warn("presence: checking lapsed leases failed", "err", err)
			}
			continue
		}
		if err != nil && ctx.Err() == nil {
			t.opts.Logger.Warn("presence: reporting this origin's subscribers failed; retrying", "err", err)
			retry.Reset(time.Second)
		}
	}
}
