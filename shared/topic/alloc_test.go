package topic

import (
	"fmt"
	"strings"
	"testing"
)

// benchSets are the Sets the allocation tests and benchmarks match with: one
// per kind of selector, as a subscriber with a few selectors has them.
func benchSets(tb testing.TB, c *Compiler) []struct {
	name  string
	set   *Set
	topic string
} {
	tb.Helper()
	var many []Spec
	for i := range DefaultMaxSelectors {
		many = append(many, Spec{KindExact, fmt.Sprintf("https://example.com/books/%d", i)})
	}
	mk := func(specs ...Spec) *Set {
		s, err := c.NewSet(specs...)
		if err != nil {
			tb.Fatal(err)
		}
		return s
	}
	return []struct {
		name  string
		set   *Set
		topic string
	}{
		{"exact", mk(Spec{KindExact, "https://example.com/books/1"}, Spec{KindExact, "https://example.com/books/2"}),
			"https://example.com/books/2"},
		{"exact-100", mk(many...), "https://example.com/books/99"},
		{"wildcard", mk(Spec{KindExact, "*"}), "https://example.com/books/1"},
		{"template", mk(Spec{KindTopic, "https://example.com/books/{id}"}), "https://example.com/books/1"},
		{"template-miss", mk(Spec{KindTopic, "https://example.com/books/{id}"}), "https://example.com/authors/1"},
		{"urlpattern", mk(Spec{KindURLPattern, "https://example.com/books/:id"}), "https://example.com/books/1"},
		{"urlpattern-miss", mk(Spec{KindURLPattern, "https://example.com/books/:id"}), "https://example.com/authors/1"},
	}
}

// TestMatchAllocs is the allocation budget of the fan-out hot path: matching
// a prepared update allocates nothing, and matching a topic string allocates
// nothing unless a URL pattern has to parse it.
//
// It holds under -race too, because nothing on this path uses a sync.Pool:
// a template is matched by its automaton (boundedre), not by regexp, whose
// matcher state comes from a sync.Pool. Under -race sync.Pool drops one
// Put in four at random (and a GC empties pools), so a pooled path
// allocates now and then and the average flips between 0 and 1: before
// templates had automata (5e27afb), the template case failed 31 of 500
// runs of `go test -race -run TestMatchAllocs` under load. With the
// default limits every accepted template has an automaton: one without
// costs more than DefaultMaxSelectorCost.
func TestMatchAllocs(t *testing.T) {
	c := newTestCompiler(t)
	for _, bc := range benchSets(t, c) {
		t.Run(bc.name, func(t *testing.T) {
			ts := c.Prepare(bc.topic)
			if n := testing.AllocsPerRun(100, func() { bc.set.MatchTopics(ts) }); n != 0 {
				t.Errorf("MatchTopics allocates %v times per run", n)
			}
			if bc.set.patterns != nil {
				return
			}
			if n := testing.AllocsPerRun(100, func() { bc.set.Match(bc.topic) }); n != 0 {
				t.Errorf("Match allocates %v times per run", n)
			}
		})
	}
}

func BenchmarkMatch(b *testing.B) {
	c := newTestCompiler(b)
	for _, bc := range benchSets(b, c) {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bc.set.Match(bc.topic)
			}
		})
	}
}

func BenchmarkMatchTopics(b *testing.B) {
	c := newTestCompiler(b)
	for _, bc := range benchSets(b, c) {
		ts := c.Prepare(bc.topic)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bc.set.MatchTopics(ts)
			}
		})
	}
}

func BenchmarkPrepare(b *testing.B) {
	c := newTestCompiler(b)
	b.ReportAllocs()
	for b.Loop() {
		c.Prepare("https://example.com/books/1", "https://example.com/users/42/books/1")
	}
}

func BenchmarkNewSet(b *testing.B) {
	c := newTestCompiler(b)
	for _, spec := range []Spec{
		{KindExact, "https://example.com/books/1"},
		{KindTopic, "https://example.com/books/{id}"},
		{KindURLPattern, "https://example.com/books/:id"},
	} {
		b.Run(spec.Kind.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.NewSet(spec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCompileWorstCase compiles expressions of the maximum length built
// to be expensive, successfully or not: the cost a subscribe request can
// impose per selector.
func BenchmarkCompileWorstCase(b *testing.B) {
	c := newTestCompiler(b)
	n := DefaultMaxExprLen
	for _, bc := range []struct {
		name string
		kind Kind
		expr string
	}{
		{"urlpattern-literal", KindURLPattern, "/" + strings.Repeat("é", (n-1)/2)},
		{"urlpattern-wildcards", KindURLPattern, strings.Repeat("/*", n/2)},
		{"urlpattern-names", KindURLPattern, strings.Repeat("/:a", n/3)},
		{"urlpattern-host", KindURLPattern, "https://" + strings.Repeat("a.", (n-10)/2) + "/"},
		{"template-expressions", KindTopic, "https://" + strings.Repeat("{a}.", (n-10)/4) + "/"},
		{"template-variables", KindTopic, "{" + strings.Repeat("a,", (n-2)/2) + "}"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = c.Compile(bc.kind, bc.expr)
			}
		})
	}
}
