package presence

import (
	"context"
	"sync"
	"time"

	"github.com/edge-sse/edge-sse/shared/presence"
)

// Memory is a Store in this process's memory: an origin restart forgets
// every instance, so each edge hub's next report is answered with a
// resync and its full report announces its subscriptions again.
type Memory struct {
	hubPath string
	mu      sync.Mutex
	s       *state
	// p, when set, persists each planned change before it is committed;
	// an error leaves the state as it was.
	p Persister
}

// Persister makes a Memory store durable (see origin/presence/boltstore).
// Memory calls it with its lock held, before it changes its state; an
// error leaves the state unchanged and is returned to the caller.
type Persister interface {
	// Save records instance id's new state in: its Name, Seq, Expires
	// and Unsent, and, for each subscriber in changed, its new documents
	// (nil: the connection ended).
	Save(id string, in *Instance, changed map[string][]presence.Subscription) error
	// SaveClaim records instance id as claimed: its Token, Expires and
	// Ended events replace everything held for it.
	SaveClaim(id string, in *Instance) error
	// Remove forgets instance id.
	Remove(id string) error
}

// NewMemory returns an empty in-memory Store for the hub whose URL has
// path hubPath.
func NewMemory(hubPath string) *Memory {
	return &Memory{hubPath: hubPath, s: newState()}
}

// NewDurable returns a Memory store holding the instances p loaded,
// which saves every change with p before making it.
func NewDurable(hubPath string, loaded map[string]*Instance, p Persister) *Memory {
	m := &Memory{hubPath: hubPath, s: newState(), p: p}
	for id, in := range loaded {
		if in.Subs == nil {
			in.Subs = map[string][]presence.Subscription{}
		}
		m.s.inst[id] = in
		for _, docs := range in.Subs {
			for _, d := range docs {
				m.s.index[d.ID] = d
			}
		}
	}
	return m
}

// Apply implements Store.
func (m *Memory) Apply(_ context.Context, r *Report, now time.Time, lease time.Duration) ([]Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, err := m.s.plan(r, now, lease)
	if err != nil {
		return nil, err
	}
	if m.p != nil {
		if err := m.p.Save(c.id, c.inst, c.overlay); err != nil {
			return nil, err
		}
	}
	m.s.commit(c)
	return c.events, nil
}

// Sent implements Store.
func (m *Memory) Sent(_ context.Context, instance string, seq uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	next := m.s.sent(instance, seq)
	if next == nil {
		return nil
	}
	if m.p != nil {
		if err := m.p.Save(instance, next, nil); err != nil {
			return err
		}
	}
	m.s.inst[instance] = next
	return nil
}

// Claim implements Store.
func (m *Memory) Claim(_ context.Context, now time.Time, hold time.Duration, max int) ([]Claim, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Claim
	for _, id := range m.s.lapsed(now, max) {
		next := m.s.claimed(id, now, hold)
		if m.p != nil {
			if err := m.p.SaveClaim(id, next); err != nil {
				return out, err
			}
		}
		m.s.commitClaim(id, next)
		out = append(out, Claim{Instance: id, Token: next.Token, Ended: next.Ended})
	}
	return out, nil
}

// Forget implements Store.
func (m *Memory) Forget(_ context.Context, c Claim) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	in := m.s.inst[c.Instance]
	if in == nil || in.Token != c.Token {
		return nil
	}
	if m.p != nil {
		if err := m.p.Remove(c.Instance); err != nil {
			return err
		}
	}
	delete(m.s.inst, c.Instance)
	return nil
}

// List implements Store.
func (m *Memory) List(_ context.Context, ref presence.Ref) ([]presence.Subscription, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.s.list(ref, m.hubPath), nil
}

// Close implements Store.
func (m *Memory) Close() error { return nil }
