// Package roster is an edge hub's side of presence (Mercure's Active
// Subscriptions, issue #13): the set of subscriptions one hub object
// holds, one per selector of each admitted connection, and the reporter
// that tells the origin about it over the report channel of
// shared/presence (POST /edge/presence with the feed secret). The origin
// turns the reports into subscription events and keeps the index its
// subscription API reads; a lease that the reports renew lets it end the
// subscriptions of a hub object that vanished without a word.
//
// The reporter follows the protocol's rules: one request in flight; a
// report that failed (network, 5xx) is re-sent unchanged with the same
// seq while new ops wait for the next one; ops go out at most once per
// batch interval; an empty report renews the lease every third of it;
// after a 409 (the origin does not hold this instance, or lost a report),
// after the lease may have lapsed, or past a bound of pending ops, the
// next report is full: the whole set, which the origin diffs against what
// it holds, so nothing is announced twice.
//
// The package is pure Go (the worker gives it the function that POSTs),
// so it is tested natively under -race against a fake origin.
package roster

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/edge-sse/edge-sse/shared/mercure"
	"github.com/edge-sse/edge-sse/shared/presence"
	"github.com/edge-sse/edge-sse/shared/topic"
)

// Poster sends one report body to the origin's presence.Path and returns
// the answer's status and body, or an error when no answer came (the
// report is then re-sent unchanged).
type Poster func(ctx context.Context, body []byte) (status int, answer []byte, err error)

// Config is a roster's settings.
type Config struct {
	// Hub is the instance id (presence.NewInstanceID; New makes one when
	// empty) and Name the hub object's name, for the origin's logs.
	Hub, Name string
	// Post sends a report.
	Post Poster
	// Batch is the least time between two reports that carry ops
	// (PRESENCE_BATCH_MS).
	Batch time.Duration
	// MaxPending bounds the ops waiting for a report; past it the next
	// report is full instead (PRESENCE_MAX_PENDING).
	MaxPending int
	// Lease is the lease assumed until the origin's first answer names
	// its own (the origin's --subscription-lease default, 30 s when zero).
	// Reports renew the lease every third of it, and a request may take
	// at most a third of it.
	Lease time.Duration
	// Logf logs what an operator must fix (a refused report); log.Printf
	// when nil.
	Logf func(format string, args ...any)
}

// DefaultLease is the lease assumed before the origin names one.
const DefaultLease = 30 * time.Second

// Stats are a roster's counters, shown in /_edge/stats.
type Stats struct {
	// Hub is the instance id.
	Hub string `json:"hub"`
	// Held counts the connections held, Pending the ops not yet reported.
	Held    int `json:"held"`
	Pending int `json:"pending"`
	// Seq is the seq of the newest report sent.
	Seq uint64 `json:"seq"`
	// Requests counts the POSTs made (retries included), Full the full
	// reports among them, Retries the re-sends of a failed report,
	// Resyncs the 409 answers and Refused the other 4xx answers.
	Requests uint64 `json:"requests"`
	Full     uint64 `json:"full"`
	Retries  uint64 `json:"retries"`
	Resyncs  uint64 `json:"resyncs"`
	Refused  uint64 `json:"refused"`
	// LeaseMS is the lease the origin named last.
	LeaseMS int64 `json:"leaseMs"`
}

// Roster is the set of connections one hub object holds, and its
// reporter. Add and Remove are safe for concurrent use and never block on
// I/O; Run does the reporting.
type Roster struct {
	cfg Config

	mu      sync.Mutex
	held    map[string]presence.Op // by subscriber: the add op of each live connection
	pending []presence.Op
	// full is set when the next report must be the whole set.
	full bool
	seq  uint64
	// lease is the origin's lease; applied is when the newest applied
	// report was sent (the lease runs from no earlier than that).
	lease   time.Duration
	applied time.Time
	stats   Stats
	// wake is signalled when an op arrives.
	wake chan struct{}
}

// New returns an empty roster; start its reporter with Run.
func New(cfg Config) *Roster {
	if cfg.Hub == "" {
		cfg.Hub = presence.NewInstanceID()
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Batch <= 0 {
		cfg.Batch = time.Second
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 10000
	}
	if cfg.Logf == nil {
		cfg.Logf = log.Printf
	}
	// An instance's first report is full: the origin has never seen it,
	// and would answer an incremental one with 409.
	return &Roster{cfg: cfg, held: map[string]presence.Op{}, full: true, lease: cfg.Lease, wake: make(chan struct{}, 1)}
}

// Hub returns the instance id.
func (r *Roster) Hub() string { return r.cfg.Hub }

// Topics returns the report topics of a subscription: one per selector,
// match_type the selector's kind, match its expression as given, with the
// payload of the token's grant that matches it (presence.PayloadFor;
// grants compiles the token's grants).
func Topics(sub *mercure.Subscription, grants *topic.Compiler) []presence.Topic {
	sels := sub.Selectors.Selectors()
	ts := make([]presence.Topic, len(sels))
	for i, s := range sels {
		ts[i] = presence.Topic{MatchType: s.Kind().String(), Match: s.Expr(),
			Payload: presence.PayloadFor(grants, sub.Claims, s.Expr())}
	}
	return ts
}

// Add records a connection that started, with its subscriber id
// (presence.NewSubscriberID) and topics.
func (r *Roster) Add(subscriber string, topics []presence.Topic) {
	op := presence.Op{Op: presence.OpAdd, Subscriber: subscriber, Topics: topics}
	r.mu.Lock()
	r.held[subscriber] = op
	r.queueLocked(op)
	r.mu.Unlock()
}

// Remove records the end of a connection, however it ended. It is a no-op
// for a subscriber not held, so it may be called more than once.
func (r *Roster) Remove(subscriber string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.held[subscriber]; !ok {
		return
	}
	delete(r.held, subscriber)
	r.queueLocked(presence.Op{Op: presence.OpRemove, Subscriber: subscriber})
}

func (r *Roster) queueLocked(op presence.Op) {
	first := len(r.pending) == 0
	switch {
	case r.full:
		// the next report is the whole set anyway
	case len(r.pending) >= r.cfg.MaxPending:
		r.full, r.pending = true, nil
	default:
		r.pending = append(r.pending, op)
	}
	if !first {
		return // Run already has a report due for the earlier ops
	}
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Stats returns the roster's counters.
func (r *Roster) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Hub, s.Held, s.Pending, s.Seq = r.cfg.Hub, len(r.held), len(r.pending), r.seq
	if r.full {
		s.Pending = len(r.held)
	}
	return s
}

// outgoing is a report being sent: its body is re-sent unchanged until an
// answer comes.
type outgoing struct {
	body []byte
	full bool
	sent time.Time
}

// Run reports until ctx ends.
func (r *Roster) Run(ctx context.Context) {
	var (
		out      *outgoing
		lastOps  time.Time // when the newest report with ops was first sent
		failures int
		retryAt  time.Time
	)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		var due time.Time
		if out != nil {
			due = retryAt
		} else {
			due = r.due(now, lastOps, retryAt)
		}
		if d := due.Sub(now); due.IsZero() || d > 0 {
			wait := time.Hour
			if !due.IsZero() {
				wait = d
			}
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-r.wake:
			case <-timer.C:
			}
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			continue
		}
		if out == nil {
			out = r.next(now)
			if out == nil {
				continue
			}
			lastOps = now
		} else {
			r.count(func(s *Stats) { s.Retries++ })
		}
		out.sent = time.Now()
		status, answer, err := r.post(ctx, out.body)
		if ctx.Err() != nil {
			return
		}
		r.count(func(s *Stats) {
			s.Requests++
			if out.full {
				s.Full++
			}
		})
		switch {
		case err != nil || status >= 500 || status == http.StatusTooManyRequests:
			// Re-sent unchanged, same seq: the origin applies a report it
			// has already applied once, and publishes those of its events
			// it had not.
			failures++
			retryAt = time.Now().Add(r.backoff(failures))
			continue
		case status == http.StatusOK:
			var res presence.Response
			_ = json.Unmarshal(answer, &res)
			r.mu.Lock()
			if res.LeaseMS > 0 {
				r.lease = time.Duration(res.LeaseMS) * time.Millisecond
				r.stats.LeaseMS = res.LeaseMS
			}
			r.applied = out.sent
			r.mu.Unlock()
			failures, retryAt = 0, time.Time{}
		case status == http.StatusConflict:
			r.mu.Lock()
			r.full, r.pending = true, nil
			r.stats.Resyncs++
			r.mu.Unlock()
			if out.full {
				// A full report is never out of sequence: do not loop.
				failures++
				retryAt = time.Now().Add(r.backoff(failures))
			} else {
				failures, retryAt = 0, time.Time{}
				lastOps = time.Time{} // the full report goes now
			}
		default:
			// 400, 401, 404 (presence off at the origin), 413: nothing a
			// re-send fixes. Say so, start again from a full report, and
			// try again a lease later.
			r.cfg.Logf("edge presence: the origin refused report %s (HTTP %d): %.200s; check ORIGIN_URL, FEED_SECRET and the origin's --subscriptions", r.cfg.Hub, status, answer)
			r.mu.Lock()
			r.full, r.pending = true, nil
			r.stats.Refused++
			lease := r.lease
			r.mu.Unlock()
			failures, retryAt = 0, time.Now().Add(lease)
		}
		out = nil
	}
}

// due returns when the next report should go: ops wait for the batch
// interval since the previous report with ops; an idle roster renews the
// lease every third of it while it holds connections. Zero means nothing
// to send.
func (r *Roster) due(now, lastOps, notBefore time.Time) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	var due time.Time
	switch {
	case len(r.pending) > 0 || (r.full && (len(r.held) > 0 || r.seq > 0)):
		due = lastOps.Add(r.cfg.Batch)
	case len(r.held) > 0:
		due = r.applied.Add(r.lease / 3)
	default:
		return time.Time{}
	}
	if due.Before(notBefore) {
		due = notBefore
	}
	return due
}

// next builds the next report: the pending ops, or the whole set when it
// must be full. A lease that may have lapsed since the newest applied
// report makes it full too: the origin has forgotten the instance and
// would answer 409.
func (r *Roster) next(now time.Time) *outgoing {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seq > 0 && !r.applied.IsZero() && now.Sub(r.applied) >= r.lease {
		r.full = true
	}
	if r.seq == 0 && len(r.held) == 0 && len(r.pending) == 0 {
		return nil
	}
	r.seq++
	rep := presence.Report{Hub: r.cfg.Hub, Name: r.cfg.Name, Seq: r.seq, Full: r.full, Ops: r.pending}
	if r.full {
		rep.Ops = make([]presence.Op, 0, len(r.held))
		for _, op := range r.held {
			rep.Ops = append(rep.Ops, op)
		}
		slices.SortFunc(rep.Ops, func(a, b presence.Op) int { return cmp.Compare(a.Subscriber, b.Subscriber) })
	}
	if rep.Ops == nil {
		rep.Ops = []presence.Op{}
	}
	body, err := json.Marshal(rep)
	if err != nil {
		panic(fmt.Sprintf("roster: marshal report: %v", err)) // strings and validated JSON only
	}
	o := &outgoing{body: body, full: r.full, sent: now}
	r.full, r.pending = false, nil
	return o
}

func (r *Roster) post(ctx context.Context, body []byte) (int, []byte, error) {
	r.mu.Lock()
	timeout := r.lease / 3
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return r.cfg.Post(ctx, body)
}

// backoff is the wait before re-sending a failed report: the batch
// interval, doubling per failure, at most a sixth of the lease so that
// a few tries fit in it.
func (r *Roster) backoff(failures int) time.Duration {
	r.mu.Lock()
	ceiling := max(r.lease/6, r.cfg.Batch)
	r.mu.Unlock()
	d := r.cfg.Batch
	for i := 1; i < failures && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

func (r *Roster) count(f func(*Stats)) {
	r.mu.Lock()
	f(&r.stats)
	r.mu.Unlock()
}
