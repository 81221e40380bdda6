package history_test

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/edge-sse/edge-sse/origin/history"
	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/origin/hub/hubtest"
	"github.com/edge-sse/edge-sse/origin/internal/redistest"
)

// benchmarkAppend appends from `parallel` goroutines per CPU: with the
// bbolt store, concurrent appends share one commit and one disk sync.
func benchmarkAppend(b *testing.B, h hub.History, parallel int) {
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(parallel)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e := hubtest.NewEvent(fmt.Sprintf("e%d", n.Add(1)), "data", "https://example.com/t")
			if err := h.Append(e); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkBoltAppend(b *testing.B) {
	for _, parallel := range []int{1, 16} {
		b.Run(fmt.Sprintf("goroutines=%dxCPU", parallel), func(b *testing.B) {
			store, err := history.OpenBolt(filepath.Join(b.TempDir(), "h.db"), history.BoltOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			benchmarkAppend(b, store, parallel)
		})
	}
}

func BenchmarkRedisAppend(b *testing.B) {
	for _, parallel := range []int{1, 16} {
		b.Run(fmt.Sprintf("goroutines=%dxCPU", parallel), func(b *testing.B) {
			benchmarkAppend(b, newRedis(b, redistest.Prefix(b), history.RedisOptions{MaxLen: -1}), parallel)
		})
	}
}
