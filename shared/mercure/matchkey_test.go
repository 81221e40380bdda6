package mercure_test

import (
	"testing"

	"github.com/edge-sse/edge-sse/shared/mercure"
	"github.com/edge-sse/edge-sse/shared/topic"
)

// Subscriptions with equal MatchKeys receive the same updates; any
// difference in selectors or grants, their kind, expression or order,
// gives another key.
func TestMatchKey(t *testing.T) {
	c, err := topic.NewCompiler(topic.Config{HubURL: "https://hub.example/.well-known/mercure"})
	if err != nil {
		t.Fatal(err)
	}
	set := func(specs ...topic.Spec) *topic.Set {
		s, err := c.NewSet(specs...)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	exact := func(e string) topic.Spec { return topic.Spec{Kind: topic.KindExact, Expr: e} }
	tmpl := func(e string) topic.Spec { return topic.Spec{Kind: topic.KindTopic, Expr: e} }
	key := func(sel, grants *topic.Set) string {
		return (&mercure.Subscription{Selectors: sel, Grants: grants}).MatchKey()
	}
	a := key(set(exact("https://a.example/1")), nil)
	if b := key(set(exact("https://a.example/1")), nil); a != b {
		t.Fatalf("the same selector gives two keys: %q, %q", a, b)
	}
	distinct := map[string]string{"a": a}
	for name, k := range map[string]string{
		"other selector":        key(set(exact("https://a.example/2")), nil),
		"other kind":            key(set(tmpl("https://a.example/1")), nil),
		"with grants":           key(set(exact("https://a.example/1")), set(exact("https://a.example/1"))),
		"empty grants":          key(set(exact("https://a.example/1")), set()),
		"two selectors":         key(set(exact("https://a.example/1"), exact("b")), nil),
		"two selectors swapped": key(set(exact("b"), exact("https://a.example/1")), nil),
		"joined expression":     key(set(exact("https://a.example/1,b")), nil),
	} {
		for other, k2 := range distinct {
			if k == k2 {
				t.Errorf("%s and %s share the key %q", name, other, k)
			}
		}
		distinct[name] = k
	}
}
