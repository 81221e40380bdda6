package topic

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func mustSet(t *testing.T, c *Compiler, specs ...Spec) *Set {
	t.Helper()
	s, err := c.NewSet(specs...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAuthorization replays the examples of Mercure §"Subscribers": routing
// selects, the token's grant authorizes private updates, and an update is
// authorized when any of its topics is granted.
func TestAuthorization(t *testing.T) {
	c := newTestCompiler(t)
	routing := mustSet(t, c, Spec{KindURLPattern, "https://example.com/books/:id"})
	books := mustSet(t, c,
		Spec{KindExact, "https://example.com/books/1"},
		Spec{KindExact, "https://example.com/books/7"})
	ownNamespace := mustSet(t, c, Spec{KindURLPattern, "https://example.com/users/42/*"})
	legacy := mustSet(t, c, Spec{KindTopic, "https://example.com/users/42/{+rest}"})
	none := mustSet(t, c)

	cases := []struct {
		name    string
		grant   *Set
		topics  []string
		private bool
		want    bool
	}{
		{"granted book", books, []string{"https://example.com/books/1"}, true, true},
		{"book not granted", books, []string{"https://example.com/books/2"}, true, false},
		{"public needs no grant", none, []string{"https://example.com/books/2"}, false, true},
		{"private without grant", none, []string{"https://example.com/books/2"}, true, false},
		{"alternate topic granted", ownNamespace,
			[]string{"https://example.com/books/1", "https://example.com/users/42/books/1"}, true, true},
		{"alternate topic granted by legacy claim", legacy,
			[]string{"https://example.com/books/1", "https://example.com/users/42/books/1"}, true, true},
		{"other user's alternate topic", ownNamespace,
			[]string{"https://example.com/books/1", "https://example.com/users/43/books/1"}, true, false},
		{"granted but not routed", books, []string{"https://example.com/magazines/1"}, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := c.Prepare(tc.topics...)
			got := routing.MatchTopics(ts) && (!tc.private || tc.grant.MatchTopics(ts))
			if got != tc.want {
				t.Errorf("delivered = %v, want %v", got, tc.want)
			}
			gotAny := routing.MatchAny(tc.topics) && (!tc.private || tc.grant.MatchAny(tc.topics))
			if gotAny != tc.want {
				t.Errorf("delivered with MatchAny = %v, want %v", gotAny, tc.want)
			}
		})
	}
}

func TestSet(t *testing.T) {
	c := newTestCompiler(t)
	s := mustSet(t, c,
		Spec{KindExact, "https://example.com/foo"},
		Spec{KindExact, "bar"},
		Spec{KindURLPattern, "https://example.com/bar/:id"},
		Spec{KindTopic, "https://example.com/baz/{id}"},
	)
	if s.All() {
		t.Error("All() without *")
	}
	if s.Len() != 4 {
		t.Errorf("Len() = %d", s.Len())
	}
	sels := s.Selectors()
	if len(sels) != 4 || sels[2].Kind() != KindURLPattern || sels[2].Expr() != "https://example.com/bar/:id" {
		t.Errorf("Selectors() = %+v", sels)
	}
	sels[0] = Selector{}
	if s.Selectors()[0].Expr() != "https://example.com/foo" {
		t.Error("Selectors() exposes the Set's slice")
	}
	for topic, want := range map[string]bool{
		"https://example.com/foo":    true,
		"bar":                        true,
		"https://example.com/bar/1":  true,
		"https://example.com/baz/1":  true,
		"https://example.com/qux/1":  false,
		"https://example.com/foo/":   false,
		"https://example.com/bar/1/": false,
	} {
		if got := s.Match(topic); got != want {
			t.Errorf("Match(%q) = %v, want %v", topic, got, want)
		}
	}
	if !s.MatchAny([]string{"nope", "bar"}) || s.MatchAny([]string{"nope"}) || s.MatchAny(nil) {
		t.Error("MatchAny disagrees with Match")
	}
	if s.MatchTopics(c.Prepare()) {
		t.Error("MatchTopics of no topics is true")
	}
	wild := mustSet(t, c, Spec{KindExact, "x"}, Spec{KindURLPattern, "*"})
	if !wild.All() || !wild.Match("anything") {
		t.Error(`a Set with "*" does not match everything`)
	}
	if mustSet(t, c).Match("") {
		t.Error("the empty Set matched")
	}
}

func TestSetManyExact(t *testing.T) {
	c := newTestCompiler(t)
	var specs []Spec
	for i := range 50 {
		specs = append(specs, Spec{KindExact, fmt.Sprintf("https://example.com/books/%d", i)})
	}
	s := mustSet(t, c, specs...)
	if !s.Match("https://example.com/books/49") || s.Match("https://example.com/books/50") {
		t.Error("hashed exact selectors disagree")
	}
}

func TestSetPreparedByOtherCompiler(t *testing.T) {
	c := newTestCompiler(t)
	other, err := NewCompiler(Config{HubURL: "https://other.example/.well-known/mercure"})
	if err != nil {
		t.Fatal(err)
	}
	s := mustSet(t, c, Spec{KindURLPattern, "/books/:id"})
	if !s.MatchTopics(other.Prepare("/books/1")) {
		t.Error("relative topic prepared by another Compiler not resolved against this hub")
	}
	if s.MatchTopics(other.Prepare("https://other.example/books/1")) {
		t.Error("matched another hub's topic")
	}
}

func TestNewSetErrors(t *testing.T) {
	c := newTestCompiler(t)
	tooMany := make([]Spec, DefaultMaxSelectors+1)
	for i := range tooMany {
		tooMany[i] = Spec{KindExact, "x"}
	}
	manyTemplates := make([]Spec, DefaultMaxSelectors)
	for i := range manyTemplates {
		manyTemplates[i] = Spec{KindTopic, "https://example.com/" + strings.Repeat("x", 300) + "/{id}"}
	}
	cases := []struct {
		name    string
		specs   []Spec
		wantErr error
	}{
		{"too many selectors", tooMany, ErrTooManySelectors},
		{"budget exhausted", manyTemplates, ErrTooComplex},
		{"second selector invalid", []Spec{{KindExact, "ok"}, {KindURLPattern, "https://example.com/:id("}}, ErrInvalidURLPattern},
		{"unknown kind", []Spec{{Kind(0), "x"}}, ErrUnknownKind},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := c.NewSet(tc.specs...)
			if !errors.Is(err, tc.wantErr) || s != nil {
				t.Fatalf("NewSet = %v, %v; want nil, %v", s, err, tc.wantErr)
			}
		})
	}
	_, err := c.NewSet(Spec{KindExact, "ok"}, Spec{KindURLPattern, "https://example.com/:id("})
	if !strings.Contains(err.Error(), "selector 2") {
		t.Errorf("error %q does not say which selector", err)
	}
}

// TestConcurrentMatch shares one Set and one prepared Topics between
// goroutines, as the origin's fan-out does; run it with -race.
func TestConcurrentMatch(t *testing.T) {
	c := newTestCompiler(t)
	s := mustSet(t, c,
		Spec{KindURLPattern, "https://example.com/books/:id"},
		Spec{KindTopic, "https://example.com/authors/{id}"},
		Spec{KindExact, "https://example.com/"})
	ts := c.Prepare("https://example.com/books/1")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if !s.MatchTopics(ts) || !s.Match("https://example.com/authors/2") || s.Match("https://example.com/x") {
					t.Error("wrong result under concurrency")
					return
				}
			}
		})
	}
	wg.Wait()
}
