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
	// save, when set (Bolt), persists a planned change before it is
	// committed; an error leaves the state as it was.
	save      func(id string, in *instance, overlay map[string][]presence.Subscription) error
	saveClaim func(id string, in *instance) error
	remove    func(id string) error
}

// NewMemory returns an empty in-memory Store for the hub whose URL has
// path hubPath.
func NewMemory(hubPath string) *Memory {
	return &Memory{hubPath: hubPath, s: newState()}
}

// Apply implements Store.
func (m *Memory) Apply(_ context.Context, r *Report, now time.Time, lease time.Duration) ([]presence.Subscription, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, err := m.s.plan(r, now, lease)
	if err != nil {
		return nil, err
	}
	if m.save != nil {
		if err := m.save(c.id, c.inst, c.overlay); err != nil {
			return nil, err
		}
	}
	m.s.commit(c)
	return c.events, nil
}

// Claim implements Store.
func (m *Memory) Claim(_ context.Context, now time.Time, hold time.Duration, max int) ([]Claim, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Claim
	for _, id := range m.s.lapsed(now, max) {
		next := m.s.claimed(id, now, hold)
		if m.saveClaim != nil {
			if err := m.saveClaim(id, next); err != nil {
				return out, err
			}
		}
		m.s.commitClaim(id, next)
		out = append(out, Claim{Instance: id, Token: next.token, Ended: next.ended})
	}
	return out, nil
}

// Forget implements Store.
func (m *Memory) Forget(_ context.Context, c Claim) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	in := m.s.inst[c.Instance]
	if in == nil || in.token != c.Token {
		return nil
	}
	if m.remove != nil {
		if err := m.remove(c.Instance); err != nil {
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
