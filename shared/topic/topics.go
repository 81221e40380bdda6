package topic

import "github.com/edge-sse/edge-sse/shared/topic/internal/urlpattern"

// Topics is an update's topics, its canonical topic and alternate topics
// (§"Publication"), prepared once for matching against the Sets of every
// subscriber: each topic is parsed against the hub's URL here instead of in
// every URL pattern match. A Topics is immutable and safe for concurrent use.
type Topics struct {
	c      *Compiler
	topics []string
	inputs []urlpattern.Input
	parsed []bool
}

// Prepare prepares an update's topics for Set.MatchTopics. It keeps topics;
// the caller must not modify it afterwards.
func (c *Compiler) Prepare(topics ...string) *Topics {
	t := &Topics{
		c:      c,
		topics: topics,
		inputs: make([]urlpattern.Input, len(topics)),
		parsed: make([]bool, len(topics)),
	}
	for i, topic := range topics {
		t.inputs[i], t.parsed[i] = c.parse(topic)
	}
	return t
}
