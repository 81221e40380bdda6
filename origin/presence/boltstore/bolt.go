// Package boltstore keeps the presence index (origin/presence) in the
// bbolt file of the bolt history. It is a package of its own so that the
// origin's server, which the worker's tests import under js/wasm, does not
// depend on bbolt.
package boltstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	opresence "github.com/edge-sse/edge-sse/origin/presence"
	"github.com/edge-sse/edge-sse/shared/presence"
	bolt "go.etcd.io/bbolt"
)

// boltRoot is the bucket of the index in the history's bbolt file: one
// nested bucket per instance, holding boltMetaKey (the instance's seq,
// lease and claim), boltUnsentKey while events of its reports are not
// yet published, boltEventsKey while it is claimed (boltEndedKey: the
// same as documents, written by versions before events had ids), and one
// key per connection ("s:" + subscriber id) with its active documents.
var (
	boltRoot      = []byte("edge-sse/presence")
	boltMetaKey   = []byte("\x00meta")
	boltUnsentKey = []byte("\x00unsent")
	boltEventsKey = []byte("\x00ended-events")
	boltEndedKey  = []byte("\x00ended")
)

const boltSubPrefix = "s:"

type boltMeta struct {
	Name    string `json:"name,omitempty"`
	Seq     uint64 `json:"seq"`
	Expires int64  `json:"expires_ms"`
	Token   string `json:"token,omitempty"`
}

// Open returns a presence Store kept in db, the bbolt database of the
// bolt history (history.Bolt.DB), for the hub whose URL has path hubPath.
// The index lives in the history's file, so it survives a restart exactly
// as far as the events that announced it: an origin restart neither
// announces a subscription twice nor forgets one it announced. It reads
// the whole index into memory; every change is written through, in one
// transaction, before it is made and published. The caller closes db.
func Open(db *bolt.DB, hubPath string) (*opresence.Memory, error) {
	loaded := map[string]*opresence.Instance{}
	err := db.Update(func(tx *bolt.Tx) error {
		root, err := tx.CreateBucketIfNotExists(boltRoot)
		if err != nil {
			return err
		}
		return root.ForEachBucket(func(id []byte) error {
			in, err := loadInstance(string(id), root.Bucket(id))
			loaded[string(id)] = in
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("open the presence index in the bolt history: %w", err)
	}
	return opresence.NewDurable(hubPath, loaded, persister{db}), nil
}

// persister implements opresence.Persister in db.
type persister struct{ db *bolt.DB }

func (p persister) Save(id string, in *opresence.Instance, changed map[string][]presence.Subscription) error {
	return p.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(boltRoot).CreateBucketIfNotExists([]byte(id))
		if err != nil {
			return err
		}
		if err := putMeta(b, in); err != nil {
			return err
		}
		if err := putEvents(b, boltUnsentKey, in.Unsent); err != nil {
			return err
		}
		for sub, docs := range changed {
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

func (p persister) SaveClaim(id string, in *opresence.Instance) error {
	return p.db.Update(func(tx *bolt.Tx) error {
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
		return putEvents(b, boltEventsKey, in.Ended)
	})
}

func (p persister) Remove(id string) error {
	return p.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(boltRoot).Bucket([]byte(id)) == nil {
			return nil
		}
		return tx.Bucket(boltRoot).DeleteBucket([]byte(id))
	})
}

func putMeta(b *bolt.Bucket, in *opresence.Instance) error {
	return putJSON(b, boltMetaKey, boltMeta{Name: in.Name, Seq: in.Seq, Expires: in.Expires.UnixMilli(), Token: in.Token})
}

// putEvents keeps events under key, or no key when there are none.
func putEvents(b *bolt.Bucket, key []byte, events []opresence.Event) error {
	if len(events) == 0 {
		return b.Delete(key)
	}
	return putJSON(b, key, events)
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

// loadInstance reads one instance's bucket.
func loadInstance(id string, b *bolt.Bucket) (*opresence.Instance, error) {
	var meta boltMeta
	if err := json.Unmarshal(b.Get(boltMetaKey), &meta); err != nil {
		return nil, fmt.Errorf("instance %s: meta: %w", id, err)
	}
	in := &opresence.Instance{Name: meta.Name, Seq: meta.Seq, Expires: time.UnixMilli(meta.Expires), Token: meta.Token,
		Subs: map[string][]presence.Subscription{}}
	for _, k := range [][]byte{boltUnsentKey, boltEventsKey} {
		v := b.Get(k)
		if v == nil {
			continue
		}
		var events []opresence.Event
		if err := json.Unmarshal(v, &events); err != nil {
			return nil, fmt.Errorf("instance %s: %q: %w", id, k, err)
		}
		if bytes.Equal(k, boltUnsentKey) {
			in.Unsent = events
		} else {
			in.Ended = events
		}
	}
	if v := b.Get(boltEndedKey); v != nil && in.Ended == nil {
		var docs []presence.Subscription
		if err := json.Unmarshal(v, &docs); err != nil {
			return nil, fmt.Errorf("instance %s: ended: %w", id, err)
		}
		in.Ended = opresence.NewEvents(docs)
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
		in.Subs[sub] = docs
		return nil
	})
	return in, err
}

func cutPrefix(k []byte, prefix string) (string, bool) {
	if len(k) < len(prefix) || string(k[:len(prefix)]) != prefix {
		return "", false
	}
	return string(k[len(prefix):]), true
}
