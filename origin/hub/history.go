package hub

import "context"

// History stores published events for resume. Implementations are safe for
// concurrent use. The hub relies on these invariants:
//
//  1. Append sets e.Seq only when it succeeds, to a Seq above every Seq
//     stored before; Range and Tail report events in Seq order.
//  2. A local History (one that is not a Tailer) assigns consecutive Seqs,
//     starting after the Seq Last reports when the hub is created; a failed
//     Append consumes no Seq. The hub's fan-out waits for the next Seq, so
//     that concurrent publishers cannot reorder events.
//  3. Expiry removes a prefix: while the event with Seq s is held, every
//     event after it is held too. So finding the start of a Range proves
//     that nothing in it has expired.
//  4. An event is visible to Lookup and Range as soon as Append returns.
//
// With 1 and 4 the hub can register a subscriber at the Seq it last fanned
// out (until), and read the replay (after, until] from the History outside
// its locks: the replay and the live queue neither overlap nor leave a gap.
type History interface {
	// Append stores e and sets e.Seq. It returns ErrDuplicateID if e.ID is
	// already held.
	Append(e *Event) error
	// Lookup returns the Seq of the held event with the given id, or
	// ErrUnknownID when it is not held (never stored, or expired).
	Lookup(id string) (uint64, error)
	// Range calls fn, in Seq order, for each held event with
	// after < Seq <= until, stopping early when fn returns false. It returns
	// ErrUnknownID when the event with Seq after is no longer held, because
	// events that followed it may be gone too; fn may have been called for
	// some events before that error, and the caller discards them.
	Range(after, until uint64, fn func(*Event) bool) error
	// RangeOldest calls fn, in Seq order, for each held event with
	// Seq <= until, from the oldest held one, stopping early when fn
	// returns false: the replay of a resume from Earliest. It returns
	// ErrUnknownID when the events it read stop being consecutive (expiry
	// overtook the read), and fn may have been called before that error.
	RangeOldest(until uint64, fn func(*Event) bool) error
	// Last returns the Seq and id of the newest event known to be stored,
	// or zero values. After expiry removed every event, Last still reports
	// the newest Seq (with an empty id) so that Seqs keep increasing.
	Last() (seq uint64, id string)
	// Len returns the number of held events.
	Len() int
	// Close releases the store.
	Close() error
}

// Tailer is a History shared by several hubs, for example one Redis stream
// behind several origin processes. Such a hub does not fan out from
// Publish: it delivers what Tail reports, which includes its own publishes,
// so every event reaches every hub's subscribers exactly once.
type Tailer interface {
	History
	// Tail calls deliver, in Seq order and in batches, with every event
	// stored after Seq after by any hub sharing the store, until ctx is
	// done; then it returns ctx's error. deliver may keep the events but
	// not the batch slice. It retries on its own when the store is
	// unreachable. When events after its position were trimmed before it
	// read them, it calls lost(resume) before delivering anything newer:
	// resume is below the Seq of the next event it delivers and at or
	// above every Seq it skipped. deliver and lost run on the caller's
	// goroutine.
	Tail(ctx context.Context, after uint64, deliver func(batch []*Event), lost func(resume uint64)) error
}
