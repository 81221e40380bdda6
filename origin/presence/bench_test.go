package presence_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/edge-sse/edge-sse/shared/presence"
)

// Costs of the index per store, for sizing (run: go test -run '^$'
// -bench . -benchtime 20x ./origin/presence/):
//
//   - Batch100: an incremental report of 50 connections arriving and 50
//     leaving, on an instance holding 1,000 (a busy edge hub's second);
//   - Full10k: a full report of 10,000 connections the store already
//     holds, as after an edge hub's resync (a diff, no change);
//   - List10k: the API's whole list of 10,000 subscriptions.
func BenchmarkStore(b *testing.B) {
	for _, name := range []string{"memory", "bolt", "redis"} {
		b.Run(name+"/Batch100", func(b *testing.B) {
			s := backends[name](b).open()
			ctx := context.Background()
			hub := presence.NewInstanceID()
			held := make([]conn, 1000)
			ops := make([]presence.Op, len(held))
			for i := range held {
				held[i] = newConn(fmt.Sprintf("https://e/%d", i%10))
				ops[i] = held[i].add()
			}
			if _, err := s.Apply(ctx, report(hub, 1, true, ops...), t0, lease); err != nil {
				b.Fatal(err)
			}
			seq := uint64(1)
			b.ResetTimer()
			for range b.N {
				ops := make([]presence.Op, 0, 100)
				for j := range 50 {
					c := newConn(fmt.Sprintf("https://e/%d", j%10))
					ops = append(ops, c.add(), held[0].remove())
					held = append(held[1:], c)
				}
				seq++
				if _, err := s.Apply(ctx, report(hub, seq, false, ops...), t0, lease); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/Full10k", func(b *testing.B) {
			s := backends[name](b).open()
			ctx := context.Background()
			ops := make([]presence.Op, 10000)
			for i := range ops {
				ops[i] = newConn(fmt.Sprintf("https://e/%d", i%10)).add()
			}
			hub := presence.NewInstanceID()
			if _, err := s.Apply(ctx, report(hub, 1, true, ops...), t0, lease); err != nil {
				b.Fatal(err)
			}
			r := report(hub, 2, true, ops...)
			b.ResetTimer()
			for range b.N {
				if ev, err := s.Apply(ctx, r, t0, lease); err != nil || len(ev) != 0 {
					b.Fatal(err, len(ev))
				}
			}
		})
		b.Run(name+"/List10k", func(b *testing.B) {
			s := backends[name](b).open()
			ctx := context.Background()
			ops := make([]presence.Op, 10000)
			for i := range ops {
				ops[i] = newConn(fmt.Sprintf("https://e/%d", i%10)).add()
			}
			if _, err := s.Apply(ctx, report(presence.NewInstanceID(), 1, true, ops...), t0, lease); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if l, err := s.List(ctx, presence.Ref{Scope: presence.ScopeAll}); err != nil || len(l) != 10000 {
					b.Fatal(err, len(l))
				}
			}
		})
	}
}
