package topic

import "testing"

// FuzzMatch compiles arbitrary selectors and matches arbitrary topics: it
// must not panic, and every way of matching must agree. Compile errors are
// fine.
func FuzzMatch(f *testing.F) {
	for _, tc := range matchCases {
		f.Add(uint8(tc.kind), tc.expr, tc.topic)
	}
	f.Add(uint8(KindURLPattern), `https://[\:\:1]:*/:a(\d+)?{/:b}*`, "https://[::1]:8080/1/x/y")
	f.Add(uint8(KindURLPattern), `/:x([(?]a)|(?:b[)])`, "/(a")
	f.Add(uint8(KindTopic), "{a,b,c}{+d}{#e}{/f*}{;g}{?h}{&i:3}", "a,b/c#d;g=1?h=2&i=3")
	c, err := NewCompiler(Config{HubURL: testHubURL})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, kind uint8, expr, topic string) {
		_ = c.CheckTopic(topic)
		sel, err := c.Compile(Kind(kind), expr)
		if err != nil {
			return
		}
		want := sel.Match(topic)
		set, err := c.NewSet(Spec{Kind(kind), expr})
		if err != nil {
			t.Fatalf("Compile accepted %q, NewSet: %v", expr, err)
		}
		if got := set.Match(topic); got != want {
			t.Fatalf("Set.Match = %v, Selector.Match = %v", got, want)
		}
		if got := set.MatchTopics(c.Prepare(topic)); got != want {
			t.Fatalf("Set.MatchTopics = %v, Selector.Match = %v", got, want)
		}
		if expr == topic && (Kind(kind) == KindExact || Kind(kind) == KindTopic) && !want {
			t.Fatalf("%v selector %q does not match itself", Kind(kind), expr)
		}
	})
}
