package presence

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/edge-sse/edge-sse/shared/presence"
	bolt "go.etcd.io/bbolt"
)

// boltRoot is the bucket of the index in the history's bbolt file: one
// nested bucket per instance, holding boltMetaKey (the instance's seq,
// lease and claim), boltEndedKey while it is claimed, and one key per
// connection ("s:" + subscriber id) with its active documents.
var (
	boltRoot     = []byte("edge-sse/presence")
	boltMetaKey  = []byte("\x00meta")
	boltEndedKey = []byte("\x00ended")
)

const boltSubPrefix = "s:"

type boltMeta struct {
	Name    string `json:"name,omitempty"`
	Seq     uint64 `json:"seq"`
	Expires int64  `json:"expires_ms"`
	Token   string `json:"token,omitempty"`
}

// OpenBolt returns a Store kept in db, the bbolt database of the bolt
// history (history.Bolt.DB), for the hub whose URL has path hubPath. The
// index lives in the history's file, so it survives a restart exactly as
// far as the events that announced it: an origin restart neither
// announces a subscription twice nor forgets one it announced. It reads
// the whole index into memory; every change is written through, in one
// transaction, before it is published. The caller closes db.
func OpenBolt(db *bolt.DB, hubPath string) (*Memory, error) {
	m := NewMemory(hubPath)
	err := db.Update(func(tx *bolt.Tx) error {
		root, err := tx.CreateBucketIfNotExists(boltRoot)
		if err != nil {
			return err
		}
		return root.ForEachBucket(func(id []byte) error {
			return loadInstance(m.s, string(id), root.Bucket(id))
		})
	})
	if err != nil {
		return nil, fmt.Errorf("open the presence index in the bolt history: %w", err)
	}
	m.save = func(id string, in *instance, overlay map[string][]presence.Subscription) error {
		return db.Update(func(tx *bolt.Tx) error {
			b, err := tx.Bucket(boltRoot).CreateBucketIfNotExists([]byte(id))
			if err != nil {
				return err
			}
			if err := putMeta(b, in); err != nil {
				return err
			}
			for sub, docs := range overlay {
				key := []byte(boltSubPrefix + sub)
				if docs == nil {
					if err := b.Delete(key); err != nil {
						return err
					}
					continue
				}
				if err := putJSON(b, key, docs); err != nil {
					return err
				}
			}
			return nil
		})
	}
	m.saveClaim = func(id string, in *instance) error {
		return db.Update(func(tx *bolt.Tx) error {
			root := tx.Bucket(boltRoot)
			if root.Bucket([]byte(id)) != nil {
				if err := root.DeleteBucket([]byte(id)); err != nil {
					return err
				}
			}
			b, err := root.CreateBucket([]byte(id))
			if err != nil {
				return err
			}
			if err := putMeta(b, in); err != nil {
				return err
			}
			return putJSON(b, boltEndedKey, in.ended)
		})
	}
	m.remove = func(id string) error {
		return db.Update(func(tx *bolt.Tx) error {
			if tx.Bucket(boltRoot).Bucket([]byte(id)) == nil {
				return nil
			}
			return tx.Bucket(boltRoot).DeleteBucket([]byte(id))
		})
	}
	return m, nil
}

func putMeta(b *bolt.Bucket, in *instance) error {
	return putJSON(b, boltMetaKey, boltMeta{Name: in.name, Seq: in.seq, Expires: in.expires.UnixMilli(), Token: in.token})
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

// loadInstance reads one instance's bucket into s.
func loadInstance(s *state, id string, b *bolt.Bucket) error {
	var meta boltMeta
	if err := json.Unmarshal(b.Get(boltMetaKey), &meta); err != nil {
		return fmt.Errorf("instance %s: meta: %w", id, err)
	}
	in := &instance{name: meta.Name, seq: meta.Seq, expires: time.UnixMilli(meta.Expires), token: meta.Token,
		subs: map[string][]presence.Subscription{}}
	if v := b.Get(boltEndedKey); v != nil {
		if err := json.Unmarshal(v, &in.ended); err != nil {
			return fmt.Errorf("instance %s: ended: %w", id, err)
		}
	}
	err := b.ForEach(func(k, v []byte) error {
		sub, ok := cutPrefix(k, boltSubPrefix)
		if !ok {
			return nil
		}
		var docs []presence.Subscription
		if err := json.Unmarshal(v, &docs); err != nil {
			return fmt.Errorf("instance %s, subscriber %s: %w", id, sub, err)
		}
		in.subs[sub] = docs
		for _, d := range docs {
			s.index[d.ID] = d
		}
		return nil
	})
	s.inst[id] = in
	return err
}

func cutPrefix(k []byte, prefix string) (string, bool) {
	if len(k) < len(prefix) || string(k[:len(prefix)]) != prefix {
		return "", false
	}
	return string(k[len(prefix):]), true
}
