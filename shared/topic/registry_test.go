package topic_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/edge-sse/edge-sse/shared/topic"
)

const costHub = "https://example.com/.well-known/mercure"

func costCompiler(t testing.TB, cfg topic.Config) *topic.Compiler {
	t.Helper()
	cfg.HubURL = costHub
	c, err := topic.NewCompiler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// hostile is a template whose expression needs more automaton states than
// allowed (its operators mix overlapping separators), so that RE2 runs it
// instruction by instruction.
const hostile = "é{/v}a{+v}a{#v}a{.v,w*}x-y{&v}x-y{.v,w*}"

// TestSelectorCost: a selector with an automaton costs the topic length,
// whatever its size; one without costs its program size times the topic
// length, the literal prefix counted once; exact selectors and "*" cost a
// comparison.
func TestSelectorCost(t *testing.T) {
	big := topic.Config{MaxSelectorCost: 1 << 40, MaxSetCost: 1 << 40}
	c := costCompiler(t, big)
	big.MaxTopicLen = topic.DefaultMaxTopicLen / 2
	half := costCompiler(t, big)
	cost := func(c *topic.Compiler, k topic.Kind, expr string) int64 {
		t.Helper()
		s, err := c.Compile(k, expr)
		if err != nil {
			t.Fatal(err)
		}
		return s.Cost()
	}
	n := int64(topic.DefaultMaxTopicLen)
	if got := cost(c, topic.KindExact, "https://example.com/books/1"); got != int64(len("https://example.com/books/1")) {
		t.Errorf("exact selector costs %d, want its length", got)
	}
	if got := cost(c, topic.KindTopic, "*"); got > 1 {
		t.Errorf("* costs %d, want at most 1", got)
	}
	one, many := cost(c, topic.KindTopic, "{+a}"), cost(c, topic.KindTopic, strings.Repeat("{+a}", 900))
	if one < n || one > n+100 || many > n+4000 {
		t.Errorf("{+a} costs %d and 900 × {+a} %d: want the topic length (%d) and the expression's", one, many, n)
	}
	if p := cost(c, topic.KindURLPattern, "https://example.com/users/:uid/books/:bid"); p > 2*n {
		t.Errorf("URL pattern with an automaton costs %d, want about the topic length", p)
	}
	h := cost(c, topic.KindTopic, hostile)
	if h < 20*n {
		t.Errorf("%q costs %d: want its program size times the topic length", hostile, h)
	}
	if hh := cost(half, topic.KindTopic, hostile); hh > h/2+200 || hh < h/2-200 {
		t.Errorf("cost %d for topics half as long, %d for full: want half", hh, h)
	}
	prefixed := cost(c, topic.KindTopic, "https://example.com/books/"+hostile)
	if prefixed > h+2*n {
		t.Errorf("the literal prefix counts once per byte: with it %d, without %d", prefixed, h)
	}
}

// TestCostLimits: a selector or a Set over its limit is refused with an
// error naming the limit; the limits are configurable.
func TestCostLimits(t *testing.T) {
	c := costCompiler(t, topic.Config{})
	_, err := c.Compile(topic.KindTopic, hostile)
	if !errors.Is(err, topic.ErrSelectorCost) || !strings.Contains(err.Error(), fmt.Sprint(topic.DefaultMaxSelectorCost)) {
		t.Fatalf("Compile(hostile) = %v, want ErrSelectorCost naming %d", err, topic.DefaultMaxSelectorCost)
	}
	if _, err := c.NewSet(topic.Spec{Kind: topic.KindTopic, Expr: hostile}); !errors.Is(err, topic.ErrSelectorCost) {
		t.Fatalf("NewSet(hostile) = %v, want ErrSelectorCost", err)
	}
	var specs []topic.Spec
	for i := range 10 {
		specs = append(specs, topic.Spec{Kind: topic.KindTopic, Expr: fmt.Sprintf("{+a%d}", i)})
	}
	_, err = c.NewSet(specs...)
	if !errors.Is(err, topic.ErrSetCost) || !strings.Contains(err.Error(), fmt.Sprint(topic.DefaultMaxSetCost)) {
		t.Fatalf("NewSet(10 templates) = %v, want ErrSetCost naming %d", err, topic.DefaultMaxSetCost)
	}
	if _, err := c.NewSet(specs[:3]...); err != nil {
		t.Fatalf("NewSet(3 templates) = %v", err)
	}
	// The selector, 910 × "{+a}", is matched by an automaton: it
	// costs no more than "{+a}" per topic byte, and is accepted.
	if _, err := c.NewSet(topic.Spec{Kind: topic.KindTopic, Expr: strings.Repeat("{+a}", 910)}); err != nil {
		t.Fatalf(`910 × "{+a}": %v`, err)
	}
	big := costCompiler(t, topic.Config{MaxSelectorCost: 1 << 30, MaxSetCost: 1 << 30})
	if _, err := big.NewSet(append(specs, topic.Spec{Kind: topic.KindTopic, Expr: hostile})...); err != nil {
		t.Fatalf("raised limits: %v", err)
	}
	short := costCompiler(t, topic.Config{MaxTopicLen: 32})
	if _, err := short.Compile(topic.KindTopic, hostile); err != nil {
		t.Fatalf("shorter topics make the same selector cheaper: %v", err)
	}
}

// TestRegistryInterning: Sets holding the same costly selector share one
// entry, charged once; the last Release frees it, and the hub budget
// refuses new selectors that do not fit until then.
func TestRegistryInterning(t *testing.T) {
	base := costCompiler(t, topic.Config{})
	a := topic.Spec{Kind: topic.KindTopic, Expr: "https://example.com/a/{x}"}
	b := topic.Spec{Kind: topic.KindURLPattern, Expr: "/b/:id"}
	sa, _ := base.Compile(a.Kind, a.Expr)
	sb, _ := base.Compile(b.Kind, b.Expr)
	reg := topic.NewRegistry(sa.Cost() + sb.Cost())
	c := base.Shared(reg)
	s1, err := c.NewSet(a, topic.Spec{Kind: topic.KindExact, Expr: "https://example.com/x"})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := c.NewSet(a, a)
	if err != nil {
		t.Fatal(err)
	}
	if st := reg.Stats(); st.Selectors != 1 || st.Cost != sa.Cost() {
		t.Fatalf("after two Sets holding a: %+v, want 1 selector costing %d", st, sa.Cost())
	}
	s3, err := c.NewSet(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.NewSet(topic.Spec{Kind: topic.KindTopic, Expr: "{y}"}); !errors.Is(err, topic.ErrHubCost) {
		t.Fatalf("NewSet over the hub budget = %v, want ErrHubCost", err)
	}
	// A failed Set leaves nothing behind, and a held selector fits.
	if _, err := c.NewSet(a, topic.Spec{Kind: topic.KindTopic, Expr: "{y}"}); !errors.Is(err, topic.ErrHubCost) {
		t.Fatalf("NewSet(a, new) over the budget = %v", err)
	}
	s4, err := c.NewSet(a)
	if err != nil {
		t.Fatalf("a selector the hub holds costs it nothing more: %v", err)
	}
	s1.Release()
	s1.Release() // idempotent
	s2.Release()
	if st := reg.Stats(); st.Selectors != 2 {
		t.Fatalf("a still held by s4: %+v", st)
	}
	s4.Release()
	s3.Release()
	if st := reg.Stats(); st.Selectors != 0 || st.Cost != 0 {
		t.Fatalf("after every Release: %+v, want empty", st)
	}
	s5, err := c.NewSet(topic.Spec{Kind: topic.KindTopic, Expr: "{y}"})
	if err != nil {
		t.Fatalf("after release the budget is free again: %v", err)
	}
	s5.Release()
	// A Set compiled without a Registry has nothing to release.
	plain, _ := base.NewSet(a)
	plain.Release()
}

// TestMemoSlotReuse: a memo slot freed by one selector and reused by
// another never answers for the first.
func TestMemoSlotReuse(t *testing.T) {
	base := costCompiler(t, topic.Config{})
	reg := topic.NewRegistry(0)
	c := base.Shared(reg)
	yes, err := c.NewSet(topic.Spec{Kind: topic.KindTopic, Expr: "https://example.com/{+p}"})
	if err != nil {
		t.Fatal(err)
	}
	ts := reg.Share(c.Prepare("https://example.com/books/1"))
	if !yes.MatchTopics(ts) || !yes.MatchTopics(ts) {
		t.Fatal("template does not match")
	}
	yes.Release()
	no, err := c.NewSet(topic.Spec{Kind: topic.KindTopic, Expr: "https://other.example/{+p}"})
	if err != nil {
		t.Fatal(err)
	}
	defer no.Release()
	if no.MatchTopics(ts) {
		t.Fatal("a reused memo slot answered for the selector that left it")
	}
}

// TestShareWithNothingInterned: while a Registry holds no costly selector,
// Share hands back the topics themselves (no copy for a memo with nothing
// to keep), and a template interned afterwards still matches them, and
// right: first run, then memoized once a later Share has a slot for it.
func TestShareWithNothingInterned(t *testing.T) {
	base := costCompiler(t, topic.Config{})
	reg := topic.NewRegistry(0)
	c := base.Shared(reg)
	plain, err := c.NewSet(topic.Spec{Kind: topic.KindTopic, Expr: "https://example.com/books/1"})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Release()
	prepared := c.Prepare("https://example.com/books/1")
	ts := reg.Share(prepared)
	if ts != prepared {
		t.Fatal("Share copied topics for a Registry with no costly selector")
	}
	yes, err := c.NewSet(topic.Spec{Kind: topic.KindTopic, Expr: "https://example.com/{+p}"})
	if err != nil {
		t.Fatal(err)
	}
	defer yes.Release()
	no, err := c.NewSet(topic.Spec{Kind: topic.KindTopic, Expr: "https://other.example/{+p}"})
	if err != nil {
		t.Fatal(err)
	}
	defer no.Release()
	if !plain.MatchTopics(ts) || !yes.MatchTopics(ts) || no.MatchTopics(ts) {
		t.Fatal("topics shared before the templates were interned matched wrongly")
	}
	later := reg.Share(c.Prepare("https://example.com/books/1"))
	if later == prepared || !yes.MatchTopics(later) || !yes.MatchTopics(later) || no.MatchTopics(later) {
		t.Fatal("topics shared after the templates were interned matched wrongly, or were not copied for the memo")
	}
}

// TestSharedMatchingSame: for random selectors of every kind (exact, URI
// template, URL pattern, "*") and random topics, Sets matched through a
// Registry's shared topics, concurrently, decide as Sets compiled without
// one, for subscriptions and grants alike.
func TestSharedMatchingSame(t *testing.T) {
	base := costCompiler(t, topic.Config{MaxSelectorCost: 1 << 30, MaxSetCost: 1 << 30})
	reg := topic.NewRegistry(1 << 40)
	c := base.Shared(reg)
	exprs := []topic.Spec{
		{topic.KindExact, "https://example.com/books/1"},
		{topic.KindExact, "/books/1"},
		{topic.KindTopic, "https://example.com/books/{id}"},
		{topic.KindTopic, "https://example.com/{+p}"},
		{topic.KindTopic, "{+p}"},
		{topic.KindTopic, "https://example.com/books/1"},
		{topic.KindTopic, "*"},
		{topic.KindURLPattern, "/books/:id"},
		{topic.KindURLPattern, "https://example.com/books/*"},
		{topic.KindURLPattern, "https://example.com/books/:id(\\d+)"},
		{topic.KindURLPattern, "*"},
		{topic.KindURLPattern, "/users/:u/books/:b"},
	}
	topicsPool := []string{
		"https://example.com/books/1", "https://example.com/books/abc", "/books/1",
		"https://example.com/users/7/books/9", "https://other.example/books/1",
		"urn:isbn:1", "https://example.com/books/1?x=1", "https://example.com/a b",
	}
	r := rand.New(rand.NewPCG(1, 2))
	const sets = 200
	shared := make([]*topic.Set, sets)
	plain := make([]*topic.Set, sets)
	for i := range sets {
		var specs []topic.Spec
		for range 1 + r.IntN(3) {
			specs = append(specs, exprs[r.IntN(len(exprs))])
		}
		var err error
		if shared[i], err = c.NewSet(specs...); err != nil {
			t.Fatal(err)
		}
		if plain[i], err = base.NewSet(specs...); err != nil {
			t.Fatal(err)
		}
	}
	for round := range 50 {
		var topics []string
		for range 1 + r.IntN(3) {
			topics = append(topics, topicsPool[r.IntN(len(topicsPool))])
		}
		ts := reg.Share(c.Prepare(topics...))
		want := make([]bool, sets)
		for i, s := range plain {
			want[i] = s.MatchAny(topics)
		}
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range sets {
					i := (k + g*sets/4) % sets
					if got := shared[i].MatchTopics(ts); got != want[i] {
						t.Errorf("round %d: set %v on %q: shared %v, plain %v", round, shared[i].Selectors(), topics, got, want[i])
					}
					if got := shared[i].MatchAny(topics); got != want[i] {
						t.Errorf("round %d: set %v MatchAny %q: %v, want %v", round, shared[i].Selectors(), topics, got, want[i])
					}
				}
			}()
		}
		wg.Wait()
	}
	for _, s := range shared {
		s.Release()
	}
	if st := reg.Stats(); st.Selectors != 0 {
		t.Fatalf("after every Release: %+v", st)
	}
}
