package history

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/redis/go-redis/v9"
)

// RedisOptions configures a Redis history. Zero values take the defaults
// documented on each field.
type RedisOptions struct {
	// Prefix starts every key (default "{edge-sse}:"). Processes that act as
	// one hub use the same prefix. The {hash tag} keeps the keys in one
	// Redis Cluster slot, which the publish script needs.
	Prefix string
	// MaxLen bounds the stream (default 10000; negative: no count bound).
	// Trimming is approximate ("MAXLEN ~"): Redis may keep up to about a
	// hundred more entries, unless ExactTrim is set.
	MaxLen int64
	// MaxAge, when positive, expires entries older than MaxAge ("MINID").
	MaxAge time.Duration
	// ExactTrim trims to MaxLen and MaxAge exactly, at some CPU cost in Redis.
	ExactTrim bool
	// DedupeTTL is how long a published id stays refused (default MaxAge
	// when set, else 24h). Resume needs the id too, so it also bounds how
	// long an id can be resumed from.
	DedupeTTL time.Duration
	// Block is the XREAD BLOCK time of the tail; Tail notices cancellation
	// within it (default 1s).
	Block time.Duration
	// Timeout bounds every other Redis call (default 5s).
	Timeout time.Duration
	// ReadCount bounds the entries of one XREAD or XRANGE page (default 512).
	ReadCount int64
	// Logger receives the tail's errors (default slog.Default()).
	Logger *slog.Logger
}

func (o *RedisOptions) setDefaults() {
	if o.Prefix == "" {
		o.Prefix = "{edge-sse}:"
	}
	if o.MaxLen == 0 {
		o.MaxLen = 10000
	}
	if o.DedupeTTL <= 0 {
		o.DedupeTTL = 24 * time.Hour
		if o.MaxAge > 0 {
			o.DedupeTTL = o.MaxAge
		}
	}
	if o.Block <= 0 {
		o.Block = time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.ReadCount <= 0 {
		o.ReadCount = 512
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Redis is a hub.Tailer on a Redis stream: several origin processes with
// the same Redis and Prefix act as one hub. Keys, under Prefix:
//
//	stream    the events; entry id = "<ms>-<n>", fields e (record) and c
//	          (a counter that rises by one per entry, to detect trimmed gaps)
//	meta      hash of the newest entry's ms, n and c
//	id:<id>   the entry id of the event with that id, expiring after DedupeTTL
//
// One Lua script stores an event: it refuses a held id, picks an entry id
// above the newest, adds the entry, trims, and records the id, atomically.
// An event's Seq is its entry id packed as ms<<22 | n; the script keeps n
// below 1<<22 by moving to the next millisecond.
type Redis struct {
	client redis.UniversalClient
	owned  bool // Close closes client
	opts   RedisOptions
	stream string
	meta   string
	last   atomic.Pointer[lastEvent]
	once   sync.Once

	// start is the newest entry ever added when NewRedis ran: its Seq and
	// counter let a tail that starts there check continuity even after the
	// entry expired.
	startSeq, startCount uint64
}

type lastEvent struct {
	seq uint64
	id  string
}

// DialRedis connects to the Redis at url (redis://[user:pass@]host:port/db
// or rediss://…), checks it answers, and returns a history that closes the
// client on Close.
func DialRedis(ctx context.Context, url string, opts RedisOptions) (*Redis, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("parse redis url: %w", err)
	}
	r, err := NewRedis(ctx, redis.NewClient(o), opts)
	if err != nil {
		return nil, err
	}
	r.owned = true
	return r, nil
}

// NewRedis returns a history on client, which the caller keeps and closes.
// It reads the newest stored event, so it fails when Redis is unreachable.
func NewRedis(ctx context.Context, client redis.UniversalClient, opts RedisOptions) (*Redis, error) {
	opts.setDefaults()
	r := &Redis{client: client, opts: opts, stream: opts.Prefix + "stream", meta: opts.Prefix + "meta"}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	last := &lastEvent{}
	seq, count, ok, err := r.newest(ctx)
	if err != nil {
		return nil, err
	}
	if ok {
		r.startSeq, r.startCount = seq, count
		last.seq = seq
		msgs, err := client.XRangeN(ctx, r.stream, streamID(seq), streamID(seq), 1).Result()
		if err != nil {
			return nil, fmt.Errorf("read newest event from redis: %w", err)
		}
		if len(msgs) == 1 { // else it expired: Last reports its Seq only
			_, _, e, err := decodeMessage(msgs[0])
			if err != nil {
				return nil, err
			}
			last.id = e.ID
		}
	}
	r.last.Store(last)
	return r, nil
}

// newest returns the Seq and counter of the newest entry ever added, from
// the meta hash, or from the stream when the hash is missing; ok is false
// for a stream that never had an entry.
func (r *Redis) newest(ctx context.Context) (seq, count uint64, ok bool, err error) {
	m, err := r.client.HMGet(ctx, r.meta, "ms", "n", "c").Result()
	if err != nil {
		return 0, 0, false, fmt.Errorf("read stream state from redis: %w", err)
	}
	if ms, _ := m[0].(string); ms != "" {
		n, _ := m[1].(string)
		c, _ := m[2].(string)
		seq, err := parseStreamID(ms + "-" + n)
		if err != nil {
			return 0, 0, false, err
		}
		count, err := strconv.ParseUint(c, 10, 64)
		if err != nil {
			return 0, 0, false, fmt.Errorf("read stream counter %q: %w", c, ErrCorrupt)
		}
		return seq, count, true, nil
	}
	msgs, err := r.client.XRevRangeN(ctx, r.stream, "+", "-", 1).Result()
	if err != nil {
		return 0, 0, false, fmt.Errorf("read newest event from redis: %w", err)
	}
	if len(msgs) == 0 {
		return 0, 0, false, nil
	}
	seq, count, _, err = decodeMessage(msgs[0])
	return seq, count, err == nil, err
}

// seqBits is the width of the entry id's sequence part inside a Seq.
const seqBits = 22

// streamID returns the entry id of a Seq.
func streamID(seq uint64) string {
	return strconv.FormatUint(seq>>seqBits, 10) + "-" + strconv.FormatUint(seq&(1<<seqBits-1), 10)
}

// parseStreamID returns the Seq of an entry id.
func parseStreamID(id string) (uint64, error) {
	msPart, nPart, ok := strings.Cut(id, "-")
	ms, err1 := strconv.ParseUint(msPart, 10, 64)
	n, err2 := strconv.ParseUint(nPart, 10, 64)
	if !ok || err1 != nil || err2 != nil || n >= 1<<seqBits || ms >= 1<<(64-seqBits) {
		return 0, fmt.Errorf("parse stream id %q: %w", id, ErrCorrupt)
	}
	return ms<<seqBits | n, nil
}

// decodeMessage returns the Seq, counter and event of a stream entry.
func decodeMessage(m redis.XMessage) (seq, count uint64, e *hub.Event, err error) {
	if seq, err = parseStreamID(m.ID); err != nil {
		return 0, 0, nil, err
	}
	rec, _ := m.Values["e"].(string)
	c, _ := m.Values["c"].(string)
	if count, err = strconv.ParseUint(c, 10, 64); err != nil {
		return 0, 0, nil, fmt.Errorf("read entry %s counter: %w", m.ID, ErrCorrupt)
	}
	if e, err = decodeRecord([]byte(rec)); err != nil {
		return 0, 0, nil, fmt.Errorf("read entry %s: %w", m.ID, err)
	}
	e.Seq = seq
	return seq, count, e, nil
}

// Lookup implements hub.History.
func (r *Redis) Lookup(id string) (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.Timeout)
	defer cancel()
	sid, err := r.client.Get(ctx, r.idKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return 0, hub.ErrUnknownID
	}
	if err != nil {
		return 0, fmt.Errorf("look up id in redis: %w", err)
	}
	return parseStreamID(sid)
}

// Range implements hub.History. It reads pages of XRANGE; each page starts
// at the last entry read, whose presence proves that nothing after it was
// trimmed (trimming removes a prefix), and the counters of the entries must
// rise by one.
func (r *Redis) Range(after, until uint64, fn func(*hub.Event) bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.Timeout)
	defer cancel()
	start, stop := streamID(after), streamID(until)
	for {
		msgs, err := r.client.XRangeN(ctx, r.stream, start, stop, r.opts.ReadCount+1).Result()
		if err != nil {
			return fmt.Errorf("read events from redis: %w", err)
		}
		if len(msgs) == 0 || msgs[0].ID != start {
			return hub.ErrUnknownID
		}
		_, prev, _, err := decodeMessage(msgs[0])
		if err != nil {
			return err
		}
		for _, m := range msgs[1:] {
			_, c, e, err := decodeMessage(m)
			if err != nil {
				return err
			}
			if c != prev+1 {
				return hub.ErrUnknownID
			}
			prev = c
			if !fn(e) {
				return nil
			}
		}
		if int64(len(msgs)) <= r.opts.ReadCount {
			return nil
		}
		start = msgs[len(msgs)-1].ID
	}
}

// RangeOldest implements hub.History. It reads pages of XRANGE from the
// oldest entry, each page after the last entry read (an exclusive start,
// so a trim of that entry does not matter), and requires the counters to
// rise by one from the first entry on. Entries older than MaxAge that no
// publish has trimmed yet are skipped (by the time in their entry id).
func (r *Redis) RangeOldest(until uint64, fn func(*hub.Event) bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.Timeout)
	defer cancel()
	var cutoff uint64
	if r.opts.MaxAge > 0 {
		cutoff = uint64(time.Now().Add(-r.opts.MaxAge).UnixMilli()) << seqBits
	}
	start, stop := "-", streamID(until)
	var prev uint64
	for first := true; ; {
		msgs, err := r.client.XRangeN(ctx, r.stream, start, stop, r.opts.ReadCount).Result()
		if err != nil {
			return fmt.Errorf("read events from redis: %w", err)
		}
		for _, m := range msgs {
			seq, c, e, err := decodeMessage(m)
			if err != nil {
				return err
			}
			if !first && c != prev+1 {
				return hub.ErrUnknownID
			}
			first, prev = false, c
			if seq < cutoff {
				continue
			}
			if !fn(e) {
				return nil
			}
		}
		if int64(len(msgs)) < r.opts.ReadCount {
			return nil
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
}

// Last implements hub.History: the newest event this process stored or
// read from the stream.
func (r *Redis) Last() (uint64, string) {
	l := r.last.Load()
	return l.seq, l.id
}

// Len implements hub.History with XLEN; it returns 0 when Redis does not
// answer.
func (r *Redis) Len() int {
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.Timeout)
	defer cancel()
	n, _ := r.client.XLen(ctx, r.stream).Result()
	return int(n)
}

// Close closes the client when DialRedis created it. The tail stops with
// the context given to Tail, which the hub cancels on its Close.
func (r *Redis) Close() error {
	var err error
	r.once.Do(func() {
		if r.owned {
			err = r.client.Close()
		}
	})
	return err
}

// Client returns the Redis client and the key prefix, for stores that
// keep their data next to the history's (the presence index: see
// origin/presence.NewRedis). Their keys must start with the prefix, so
// that they share its Redis Cluster slot, and must not clash with the
// history's (stream, meta, id:*). They stop using the client before
// Close.
func (r *Redis) Client() (redis.UniversalClient, string) { return r.client, r.opts.Prefix }
