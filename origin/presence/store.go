// Package presence is the origin's side of Mercure's Active Subscriptions
// (§"Active Subscriptions"): the index of the active subscriptions of
// every hub instance (each edge hub object, and this origin process for
// its direct subscribers), held under leases the instances renew; the
// Tracker that applies the instances' reports, terminates the
// subscriptions of an instance whose lease lapsed, and hands every change
// to the hub's publish path as a subscription event.
//
// # Stores
//
// A Store keeps the index: Memory (lost on restart), boltstore.Open (a
// Memory written through to the bbolt file of the bolt history) and Redis
// (shared by every origin on that Redis; its scripts make each change,
// and each lease lapse, happen in exactly one origin). Every Store passes
// the same conformance suite (store_test.go).
//
// # Consistency
//
// A Store changes the index before the Tracker publishes the events of
// the change, and the API reads the hub's last event id before it reads
// the index. So the API's list, followed by the events after its
// last-event-id, always gives the true set: an event the list already
// reflects only repeats a state the list shows.
//
// The events of a change are kept with the index, in the same write,
// until the Tracker has published them (Store.Sent, or Store.Forget for a
// claim): an origin that dies between the two, or cannot reach the
// history, publishes them at the instance's retry (or the claim's
// takeover). Each event has its id from the start, and the history
// refuses an id it holds, so a second try publishes only what the first
// did not.
package presence

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/edge-sse/edge-sse/shared/presence"
)

// ErrResync is the error of Store.Apply when the store does not hold the
// instance (never seen, terminated, or lost) or the report's seq does not
// follow the last applied one: the instance's next report must be full.
var ErrResync = errors.New("presence: the origin does not hold this hub instance in this state: send a full report")

// Report is a validated presence.Report with its documents built.
type Report struct {
	Hub  string
	Name string
	Seq  uint64
	Full bool
	Ops  []Op
}

// Op is one op of a Report: an add (Docs holds the connection's
// subscription documents, active, one per distinct selector) or a remove
// (Docs empty).
type Op struct {
	Add        bool
	Subscriber string
	Docs       []presence.Subscription
}

// Prepare builds the documents of a validated report for the hub whose
// URL has path hubPath. Selectors repeated within one op count once.
func Prepare(r *presence.Report, hubPath string) *Report {
	out := &Report{Hub: r.Hub, Name: r.Name, Seq: r.Seq, Full: r.Full, Ops: make([]Op, len(r.Ops))}
	for i := range r.Ops {
		o := &r.Ops[i]
		op := Op{Add: o.Op == presence.OpAdd, Subscriber: o.Subscriber}
		seen := make(map[presence.Key]bool, len(o.Topics))
		for j, t := range o.Topics {
			k := presence.Key{MatchType: t.MatchType, Match: t.Match, Subscriber: o.Subscriber}
			if seen[k] {
				continue
			}
			seen[k] = true
			op.Docs = append(op.Docs, presence.NewSubscription(hubPath, k, true, compact(o.TopicPayload(j))))
		}
		out.Ops[i] = op
	}
	return out
}

// compact returns p without insignificant white space, so a payload is
// stored and compared in one form.
func compact(p json.RawMessage) json.RawMessage {
	if len(p) == 0 {
		return nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, p); err != nil {
		return p
	}
	return b.Bytes()
}

// Event is a subscription event a Store holds until it is published: the
// document (Active tells a start from an end) and the id of the hub event
// that carries it, the same on every try.
type Event struct {
	ID  string                `json:"id"`
	Doc presence.Subscription `json:"doc"`
}

// Claim is an instance whose lease lapsed, claimed by one Store.Claim
// call: Ended holds the events of the instance not yet published, then
// those ending its subscriptions (inactive, already out of the index). The claimant publishes their events, then calls Store.Forget;
// if it does not within the claim's hold time, another Claim takes the
// instance over again.
type Claim struct {
	Instance string
	Token    string
	Ended    []Event
}

// Store is the index of active subscriptions per instance, with leases.
// Implementations are safe for concurrent use.
type Store interface {
	// Apply applies a report at time now and renews the instance's lease
	// until now+lease. It returns the events to publish, in order: those
	// of the instance's earlier reports not yet Sent, then the report's
	// changes (documents with Active true for subscriptions it added,
	// false for those it removed), each with a new event id. A non-full
	// report needs a held instance and seq last+1 (seq == last: a retry,
	// applied before: no change, the events not yet Sent again) else
	// ErrResync; a full one (any seq) replaces the instance's set with
	// the report's (the differences are the changes) unless the instance
	// is being terminated (ErrResync). The index holds the changes, and
	// the store the events, when Apply returns.
	Apply(ctx context.Context, r *Report, now time.Time, lease time.Duration) ([]Event, error)
	// Sent records that the events Apply returned for report seq of
	// instance are published. It does nothing when the instance has
	// applied another report since (that one returned them again) or is
	// claimed.
	Sent(ctx context.Context, instance string, seq uint64) error
	// Claim claims up to max instances whose lease (or a previous claim)
	// lapsed at now, removes their subscriptions from the index, and
	// holds each claim until now+hold. Among all processes sharing the
	// store, one claim gets each lapsed instance.
	Claim(ctx context.Context, now time.Time, hold time.Duration, max int) ([]Claim, error)
	// Forget removes a claimed instance once its events are published; it
	// does nothing when the claim was taken over meanwhile.
	Forget(ctx context.Context, c Claim) error
	// List returns the active subscriptions ref names (presence.ScopeAll:
	// every one; ScopeMatch: those of one selector; ScopeOne: at most
	// one), ordered by id.
	List(ctx context.Context, ref presence.Ref) ([]presence.Subscription, error)
	// Close releases the store (not a bolt database or Redis client,
	// which the history owns).
	Close() error
}
