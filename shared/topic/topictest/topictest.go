// Package topictest builds the inputs of the matching-cost benchmarks and
// chaos tests: the costliest selectors a Compiler's limits allow, and long
// topics that make them scan every byte.
package topictest

import (
	"fmt"
	"strings"

	"github.com/edge-sse/edge-sse/shared/topic"
)

// CostliestTemplate returns the costliest URI template c accepts that
// repeats "{+v}": every repetition matches any run of URL characters, so a
// topic of such characters keeps all of them live to its last byte, and
// the longest is the costliest. Its variable name is v, so that different
// names give distinct selectors that compile to the same program.
func CostliestTemplate(c *topic.Compiler, v string) string {
	part := "{+" + v + "}"
	ok := func(n int) bool {
		_, err := c.Compile(topic.KindTopic, strings.Repeat(part, n))
		return err == nil
	}
	lo, hi := 0, 1 // ok(lo), and hi is past the last ok
	for ok(hi) {
		lo, hi = hi, 2*hi
	}
	for hi-lo > 1 {
		if mid := (lo + hi) / 2; ok(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return strings.Repeat(part, lo)
}

// CostliestSet returns the selectors of one subscription that cost the
// most c accepts together: costliest templates, each with its own
// variable name prefix+index, while the Set's limit allows.
func CostliestSet(c *topic.Compiler, prefix string) []topic.Spec {
	var specs []topic.Spec
	for i := 0; ; i++ {
		tpl := CostliestTemplate(c, fmt.Sprintf("%s%d", prefix, i))
		if tpl == "" {
			return specs
		}
		next := append(specs, topic.Spec{Kind: topic.KindTopic, Expr: tpl})
		if _, err := c.NewSet(next...); err != nil {
			return specs
		}
		specs = next
	}
}

// Topics returns n distinct topics of size bytes each: an https URL of
// URL characters that every costliest template scans to its last byte and
// then fails on (a final "<").
func Topics(n, size int) []string {
	topics := make([]string, n)
	for i := range topics {
		head := fmt.Sprintf("https://example.com/%d/", i)
		body := strings.Repeat("a/b-c", size/5+1)
		topics[i] = head + body[:size-len(head)-1] + "<"
	}
	return topics
}
