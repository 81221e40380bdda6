package history

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/edge-sse/edge-sse/origin/hub"
	bolt "go.etcd.io/bbolt"
)

// Bucket and key names of the bbolt layout. events maps an 8-byte
// big-endian Seq to a record, and its bucket sequence is the newest Seq ever
// assigned; ids maps an event id to its 8-byte Seq; meta holds the format.
var (
	boltEvents  = []byte("edge-sse/events")
	boltIDs     = []byte("edge-sse/ids")
	boltMeta    = []byte("edge-sse/meta")
	boltVersion = []byte("version")
)

// boltFormat is the layout version written to the meta bucket.
const boltFormat = 1

// BoltOptions configures a Bolt history. Zero values take the defaults
// documented on each field.
type BoltOptions struct {
	// MaxEvents bounds the number of events kept (default 10000; negative:
	// no count bound).
	MaxEvents int
	// MaxAge, when positive, expires events older than MaxAge (default 0:
	// no age bound).
	MaxAge time.Duration
	// PruneInterval is how often expired events are removed while nothing is
	// published (default MaxAge/10, within [1s, 1m]). Lookup refuses an
	// expired id even before it is removed.
	PruneInterval time.Duration
	// MaxBatch bounds the events committed in one transaction (default
	// 256): concurrent publishes share one write and one disk sync.
	MaxBatch int
	// NoSync skips the fsync of each commit (default false). Committed
	// events then survive a crash of the process, which leaves them in the
	// operating system's page cache, but not a crash of the machine.
	NoSync bool
	// OpenTimeout bounds the wait for the file lock another process holds
	// (default 1s).
	OpenTimeout time.Duration
	// Now returns the current time (default time.Now); tests replace it.
	Now func() time.Time
}

func (o *BoltOptions) setDefaults() {
	if o.MaxEvents == 0 {
		o.MaxEvents = 10000
	}
	if o.PruneInterval <= 0 {
		o.PruneInterval = min(max(o.MaxAge/10, time.Second), time.Minute)
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	if o.OpenTimeout <= 0 {
		o.OpenTimeout = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Bolt is a hub.History in a bbolt file: durable across restarts, bounded
// by count and/or age. One goroutine, started by OpenBolt and stopped by
// Close, writes: it commits the appends waiting at that moment in one
// transaction (group commit) and prunes expired events.
type Bolt struct {
	db      *bolt.DB
	opts    BoltOptions
	reqs    chan *boltAppend // unbuffered: a send is taken by the writer
	stopped chan struct{}    // closed when the writer returns
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	once    sync.Once

	mu     sync.RWMutex // guards the fields below; written by the writer only
	first  uint64       // Seq of the oldest held event; last+1 when empty
	last   uint64       // newest Seq ever assigned
	lastID string       // id of the event with Seq last, "" if expired
}

type boltAppend struct {
	e    *hub.Event
	seq  uint64
	err  error
	done chan struct{}
}

// OpenBolt opens or creates the bbolt history at path and starts its
// writer goroutine. It refuses a file of another layout version with
// ErrFormat, and a file another process has open after opts.OpenTimeout.
func OpenBolt(path string, opts BoltOptions) (*Bolt, error) {
	opts.setDefaults()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.OpenTimeout, FreelistType: bolt.FreelistMapType, NoSync: opts.NoSync})
	if err != nil {
		return nil, fmt.Errorf("open bolt history %s: %w", path, err)
	}
	b := &Bolt{db: db, opts: opts, reqs: make(chan *boltAppend), stopped: make(chan struct{})}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(boltMeta)
		if err != nil {
			return err
		}
		switch v := meta.Get(boltVersion); {
		case v == nil:
			if err := meta.Put(boltVersion, []byte{boltFormat}); err != nil {
				return err
			}
		case len(v) != 1 || v[0] != boltFormat:
			return fmt.Errorf("check %s: format %v, want %d: %w", path, v, boltFormat, ErrFormat)
		}
		events, err := tx.CreateBucketIfNotExists(boltEvents)
		if err != nil {
			return err
		}
		if _, err := tx.CreateBucketIfNotExists(boltIDs); err != nil {
			return err
		}
		b.last = events.Sequence()
		b.first = b.last + 1
		if k, _ := events.Cursor().First(); k != nil {
			b.first = binary.BigEndian.Uint64(k)
		}
		if b.first, err = b.pruneTx(tx, b.first, b.opts.Now()); err != nil {
			return err
		}
		if v := events.Get(seqKey(b.last)); v != nil {
			b.lastID, err = recordID(v)
		}
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open bolt history %s: %w", path, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	b.wg.Add(1)
	go b.run(ctx)
	return b, nil
}

func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq)
}

// run is the writer goroutine.
func (b *Bolt) run(ctx context.Context) {
	defer b.wg.Done()
	defer close(b.stopped)
	var prune <-chan time.Time
	if b.opts.MaxAge > 0 {
		t := time.NewTicker(b.opts.PruneInterval)
		defer t.Stop()
		prune = t.C
	}
	batch := make([]*boltAppend, 0, b.opts.MaxBatch)
	for {
		select {
		case <-ctx.Done():
			return
		case <-prune:
			if b.oldestExpired() {
				b.commit(nil)
			}
		case r := <-b.reqs:
			batch = append(batch[:0], r)
		drain:
			for len(batch) < b.opts.MaxBatch {
				select {
				case r := <-b.reqs:
					batch = append(batch, r)
				default:
					break drain
				}
			}
			b.commit(batch)
			clear(batch)
		}
	}
}

// commit stores batch in one transaction, prunes, and answers every request.
func (b *Bolt) commit(batch []*boltAppend) {
	now := b.opts.Now()
	b.mu.RLock()
	first := b.first
	b.mu.RUnlock()
	err := b.db.Update(func(tx *bolt.Tx) error {
		events, ids := tx.Bucket(boltEvents), tx.Bucket(boltIDs)
		for _, r := range batch {
			r.seq, r.err = 0, nil
			if ids.Get([]byte(r.e.ID)) != nil {
				r.err = hub.ErrDuplicateID
				continue
			}
			seq, err := events.NextSequence()
			if err != nil {
				return err
			}
			key := seqKey(seq)
			if err := events.Put(key, appendRecord(nil, r.e, now.UnixMilli())); err != nil {
				return err
			}
			if err := ids.Put([]byte(r.e.ID), key); err != nil {
				return err
			}
			r.seq = seq
		}
		var err error
		first, err = b.pruneTx(tx, first, now)
		return err
	})
	if err != nil {
		for _, r := range batch {
			r.err = fmt.Errorf("commit to bolt: %w", err)
			close(r.done)
		}
		return
	}
	b.mu.Lock()
	b.first = first
	for _, r := range batch {
		if r.err == nil {
			r.e.Seq = r.seq
			b.last, b.lastID = r.seq, r.e.ID
		}
	}
	if b.first > b.last {
		b.lastID = ""
	}
	b.mu.Unlock()
	for _, r := range batch {
		close(r.done)
	}
}

// Append implements hub.History. It returns once the event is committed
// to the file, together with the other appends of the same moment.
func (b *Bolt) Append(e *hub.Event) error {
	if e.ID == "" {
		return ErrNoID
	}
	r := &boltAppend{e: e, done: make(chan struct{})}
	select {
	case b.reqs <- r:
	case <-b.stopped:
		return ErrClosed
	}
	<-r.done
	return r.err
}

// Lookup implements hub.History. An event older than MaxAge counts as
// expired even before the writer removes it.
func (b *Bolt) Lookup(id string) (seq uint64, err error) {
	err = b.db.View(func(tx *bolt.Tx) error {
		key := tx.Bucket(boltIDs).Get([]byte(id))
		if len(key) != 8 {
			return hub.ErrUnknownID
		}
		if b.opts.MaxAge > 0 {
			v := tx.Bucket(boltEvents).Get(key)
			t, err := recordTime(v)
			if err != nil || t < b.opts.Now().Add(-b.opts.MaxAge).UnixMilli() {
				return hub.ErrUnknownID
			}
		}
		seq = binary.BigEndian.Uint64(key)
		return nil
	})
	return seq, err
}

// Range implements hub.History. It reads one consistent snapshot of the
// file; each event it passes to fn is a fresh copy.
func (b *Bolt) Range(after, until uint64, fn func(*hub.Event) bool) error {
	return b.db.View(func(tx *bolt.Tx) error {
		events := tx.Bucket(boltEvents)
		if events.Get(seqKey(after)) == nil {
			return hub.ErrUnknownID
		}
		c := events.Cursor()
		k, v := c.Seek(seqKey(after + 1))
		return walk(c, k, v, until, 0, fn)
	})
}

// RangeOldest implements hub.History. It reads one consistent snapshot of
// the file, skipping the events older than MaxAge that the writer has not
// removed yet; each event it passes to fn is a fresh copy.
func (b *Bolt) RangeOldest(until uint64, fn func(*hub.Event) bool) error {
	var cutoff int64
	if b.opts.MaxAge > 0 {
		cutoff = b.opts.Now().Add(-b.opts.MaxAge).UnixMilli()
	}
	return b.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(boltEvents).Cursor()
		k, v := c.First()
		return walk(c, k, v, until, cutoff, fn)
	})
}

// walk passes fn a fresh copy of each event from the cursor's record k, v
// on, up to sequence until, skipping those written before cutoff (Unix
// milliseconds; 0: none), until fn returns false.
func walk(c *bolt.Cursor, k, v []byte, until uint64, cutoff int64, fn func(*hub.Event) bool) error {
	for ; k != nil; k, v = c.Next() {
		seq := binary.BigEndian.Uint64(k)
		if seq > until {
			break
		}
		if cutoff != 0 {
			if t, err := recordTime(v); err == nil && t < cutoff {
				continue
			}
		}
		e, err := decodeRecord(bytes.Clone(v))
		if err != nil {
			return fmt.Errorf("read event %d: %w", seq, err)
		}
		e.Seq = seq
		if !fn(e) {
			break
		}
	}
	return nil
}

// Last implements hub.History.
func (b *Bolt) Last() (uint64, string) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.last, b.lastID
}

// Len implements hub.History.
func (b *Bolt) Len() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return int(b.last + 1 - b.first)
}

// Close stops the writer goroutine and closes the file. Appends waiting at
// that moment fail with ErrClosed; committed events are on disk.
func (b *Bolt) Close() error {
	var err error
	b.once.Do(func() {
		b.cancel()
		b.wg.Wait()
		err = b.db.Close()
	})
	return err
}

// DB returns the bbolt database, for stores that keep their data next to
// the history's in the same file (the presence index: see
// origin/presence.OpenBolt). They must use buckets of their own, and
// stop using the database before Close.
func (b *Bolt) DB() *bolt.DB { return b.db }
