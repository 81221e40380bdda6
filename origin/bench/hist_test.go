package bench

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram counts durations in microseconds in log-linear buckets of 1/64
// of a power of two (1.6% resolution); it is safe for concurrent use.
type histogram struct {
	counts [64 + 40*64]atomic.Uint64
}

func bucketOf(us uint64) int {
	if us < 64 {
		return int(us)
	}
	e := bits.Len64(us) - 7
	return 64 + e*64 + int(us>>e-64)
}

func lowerBound(b int) uint64 {
	if b < 64 {
		return uint64(b)
	}
	e := (b - 64) / 64
	return uint64(64+(b-64)%64) << e
}

func (h *histogram) record(d time.Duration) {
	us := uint64(max(d, 0) / time.Microsecond)
	b := min(bucketOf(us), len(h.counts)-1)
	h.counts[b].Add(1)
}

// quantiles returns the total count and the given quantiles.
func (h *histogram) quantiles(qs ...float64) (uint64, []time.Duration) {
	var total uint64
	for i := range h.counts {
		total += h.counts[i].Load()
	}
	out := make([]time.Duration, len(qs))
	for j, q := range qs {
		rank := uint64(q * float64(total))
		var seen uint64
		for i := range h.counts {
			seen += h.counts[i].Load()
			if seen > rank {
				out[j] = time.Duration(lowerBound(i)) * time.Microsecond
				break
			}
		}
	}
	return total, out
}
