package topic

import "testing"

const testHubURL = "https://example.com/.well-known/mercure"

func newTestCompiler(t testing.TB) *Compiler {
	t.Helper()
	c, err := NewCompiler(Config{HubURL: testHubURL})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// matchCases is the behaviour of each kind of selector, from the Mercure
// specification's rules and examples.
var matchCases = []struct {
	name  string
	kind  Kind
	expr  string
	topic string
	want  bool
}{
	// §"Exact Matching": byte for byte, no resolution, no normalization.
	{"exact/equal", KindExact, "https://example.com/books/1", "https://example.com/books/1", true},
	{"exact/different", KindExact, "https://example.com/books/1", "https://example.com/books/2", false},
	{"exact/case-sensitive", KindExact, "https://example.com/books/1", "https://example.com/Books/1", false},
	{"exact/no dot-segment removal", KindExact, "https://example.com/books/1", "https://example.com/books/./1", false},
	{"exact/no host case folding", KindExact, "https://example.com/books/1", "https://EXAMPLE.com/books/1", false},
	{"exact/relative not resolved", KindExact, "/books/1", "https://example.com/books/1", false},
	{"exact/relative equal", KindExact, "/books/1", "/books/1", true},
	{"exact/not a URL", KindExact, "bar", "bar", true},
	{"exact/no template semantics", KindExact, "https://example.com/books/{id}", "https://example.com/books/1", false},
	{"exact/empty", KindExact, "", "", true},
	{"exact/empty vs topic", KindExact, "", "a", false},
	{"exact/unicode", KindExact, "https://example.com/café", "https://example.com/café", true},
	{"exact/no NFC", KindExact, "https://example.com/caf\u00e9", "https://example.com/cafe\u0301", false},

	// §"Matcher Types": "*" matches every topic whatever the kind.
	{"wildcard/exact kind", KindExact, "*", "https://example.com/books/1", true},
	{"wildcard/not a URL", KindExact, "*", "bar", true},
	{"wildcard/urlpattern kind", KindURLPattern, "*", "not a URL at all ::", true},
	{"wildcard/topic kind", KindTopic, "*", "urn:uuid:1", true},

	// Pre-standardization selectors: exact, then URI Template (RFC 6570).
	{"template/simple", KindTopic, "https://example.com/books/{id}", "https://example.com/books/1", true},
	{"template/simple stops at slash", KindTopic, "https://example.com/books/{id}", "https://example.com/books/1/2", false},
	{"template/simple stops at query", KindTopic, "https://example.com/books/{id}", "https://example.com/books/1?x=y", false},
	{"template/simple pct-encoded", KindTopic, "https://example.com/books/{id}", "https://example.com/books/a%20b", true},
	{"template/simple empty value", KindTopic, "https://example.com/books/{id}", "https://example.com/books/", true},
	{"template/simple other host", KindTopic, "https://example.com/books/{id}", "https://example.org/books/1", false},
	{"template/two variables", KindTopic, "https://example.com/users/{user}/books/{book}", "https://example.com/users/kevin/books/42", true},
	{"template/reserved", KindTopic, "https://example.com/{+path}", "https://example.com/a/b/c", true},
	{"template/reserved with query", KindTopic, "https://example.com/{+path}", "https://example.com/a/b?c=d", true},
	{"template/reserved other prefix", KindTopic, "https://example.com/{+path}", "https://example.org/a", false},
	{"template/fragment", KindTopic, "https://example.com/page{#section}", "https://example.com/page#intro", true},
	{"template/fragment absent", KindTopic, "https://example.com/page{#section}", "https://example.com/page", true},
	{"template/path segments", KindTopic, "https://example.com{/segments*}", "https://example.com/a/b", true},
	{"template/query", KindTopic, "https://example.com/search{?q,lang}", "https://example.com/search?q=go&lang=en", true},
	{"template/query too many", KindTopic, "https://example.com/search{?q,lang}", "https://example.com/search?q=go&lang=en&x=1", false},
	{"template/label", KindTopic, "https://example.com/file{.ext}", "https://example.com/file.json", true},
	{"template/literal match first", KindTopic, "https://example.com/books/{id}", "https://example.com/books/{id}", true},
	{"template/invalid is exact", KindTopic, "https://example.com/{", "https://example.com/{", true},
	{"template/invalid is exact only", KindTopic, "https://example.com/{", "https://example.com/x", false},
	{"template/without expression is exact", KindTopic, "https://example.com/books/1", "https://example.com/books/1", true},
	{"template/case-sensitive", KindTopic, "https://example.com/books/{id}", "https://example.com/BOOKS/1", false},

	// §"URL Pattern", with the hub's URL as base URL.
	{"urlpattern/named group", KindURLPattern, "https://example.com/books/:id", "https://example.com/books/1", true},
	{"urlpattern/named group one segment", KindURLPattern, "https://example.com/books/:id", "https://example.com/books/1/2", false},
	{"urlpattern/named group not empty", KindURLPattern, "https://example.com/books/:id", "https://example.com/books/", false},
	{"urlpattern/search and hash wildcarded", KindURLPattern, "https://example.com/books/:id", "https://example.com/books/1?x=1#f", true},
	{"urlpattern/protocol", KindURLPattern, "https://example.com/books/:id", "http://example.com/books/1", false},
	{"urlpattern/host case-insensitive", KindURLPattern, "https://example.com/books/:id", "https://EXAMPLE.com/books/1", true},
	{"urlpattern/pattern host canonicalized", KindURLPattern, "https://EXAMPLE.COM/books/:id", "https://example.com/books/1", true},
	{"urlpattern/default port", KindURLPattern, "https://example.com/books/:id", "https://example.com:443/books/1", true},
	{"urlpattern/other port", KindURLPattern, "https://example.com/books/:id", "https://example.com:8443/books/1", false},
	{"urlpattern/any port", KindURLPattern, "https://example.com:*/books/:id", "https://example.com:8443/books/1", true},
	{"urlpattern/path case-sensitive", KindURLPattern, "https://example.com/books/:id", "https://example.com/Books/1", false},
	{"urlpattern/topic dot-segments", KindURLPattern, "https://example.com/books/:id", "https://example.com/books/./1", true},
	{"urlpattern/regexp group", KindURLPattern, `https://example.com/books/:id(\d+)`, "https://example.com/books/42", true},
	{"urlpattern/regexp group mismatch", KindURLPattern, `https://example.com/books/:id(\d+)`, "https://example.com/books/abc", false},
	{"urlpattern/wildcard", KindURLPattern, "https://example.com/users/42/*", "https://example.com/users/42/books/1", true},
	{"urlpattern/wildcard other user", KindURLPattern, "https://example.com/users/42/*", "https://example.com/users/43/books/1", false},
	{"urlpattern/wildcard needs slash", KindURLPattern, "https://example.com/users/42/*", "https://example.com/users/42", false},
	{"urlpattern/optional present", KindURLPattern, "https://example.com/books/:id?", "https://example.com/books/1", true},
	{"urlpattern/optional absent", KindURLPattern, "https://example.com/books/:id?", "https://example.com/books", true},
	{"urlpattern/one or more", KindURLPattern, "https://example.com/files/:path+", "https://example.com/files/a/b", true},
	{"urlpattern/group", KindURLPattern, "https://example.com/books{/:id}?", "https://example.com/books", true},
	{"urlpattern/hostname wildcard", KindURLPattern, "https://*.example.com/*", "https://api.example.com/x", true},
	{"urlpattern/hostname wildcard needs label", KindURLPattern, "https://*.example.com/*", "https://example.com/x", false},
	{"urlpattern/search", KindURLPattern, "https://example.com/search?q=:q", "https://example.com/search?q=go", true},
	{"urlpattern/relative pattern", KindURLPattern, "/books/:id", "https://example.com/books/1", true},
	{"urlpattern/relative pattern relative topic", KindURLPattern, "/books/:id", "/books/1", true},
	{"urlpattern/relative pattern other origin", KindURLPattern, "/books/:id", "https://example.org/books/1", false},
	{"urlpattern/relative topic", KindURLPattern, "https://example.com/.well-known/mercure/subscriptions/*", "/.well-known/mercure/subscriptions/exact/x/y", true},
	{"urlpattern/subscription events", KindURLPattern, "/.well-known/mercure/subscriptions/:type/:match/:subscriber",
		"/.well-known/mercure/subscriptions/exact/https%3A%2F%2Fexample.com%2Ffoo/urn%3Auuid%3Abb3de268", true},
	// Absolute patterns get no base URL, or their opaque paths would be
	// prefixed with the hub URL's directory.
	{"urlpattern/opaque path", KindURLPattern, `urn\:uuid\:*`, "urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6", true},
	{"urlpattern/opaque path other", KindURLPattern, `urn\:uuid\:*`, "urn:isbn:0451450523", false},
	{"urlpattern/any URN", KindURLPattern, "urn:*", "urn:isbn:0451450523", true},
	{"urlpattern/any URN not https", KindURLPattern, "urn:*", "https://example.com/urn:x", false},
	{"urlpattern/unparsable topic", KindURLPattern, "http://*/*", "http://exa mple.com/", false},
	{"urlpattern/IPv6", KindURLPattern, `https://[\:\:1]/*`, "https://[0:0::1]/x", true},
	{"urlpattern/IPv6 other", KindURLPattern, `https://[\:\:1]/*`, "https://[::2]/x", false},
	{"urlpattern/A-label host", KindURLPattern, "https://xn--bcher-kva.example/books/:id", "https://xn--bcher-kva.example/books/1", true},
	{"urlpattern/A-label host uppercase topic", KindURLPattern, "https://xn--bcher-kva.example/books/:id", "https://XN--BCHER-KVA.example/books/1", true},
	// The documented IDNA subset: a Unicode hostname fails closed.
	{"urlpattern/Unicode host topic", KindURLPattern, "https://*.example/*", "https://bücher.example/books/1", false},
}

func TestMatch(t *testing.T) {
	c := newTestCompiler(t)
	for _, tc := range matchCases {
		t.Run(tc.name, func(t *testing.T) {
			sel, err := c.Compile(tc.kind, tc.expr)
			if err != nil {
				t.Fatalf("Compile(%v, %q): %v", tc.kind, tc.expr, err)
			}
			if got := sel.Match(tc.topic); got != tc.want {
				t.Errorf("Selector.Match(%q) = %v, want %v", tc.topic, got, tc.want)
			}
			set, err := c.NewSet(Spec{tc.kind, tc.expr})
			if err != nil {
				t.Fatal(err)
			}
			if got := set.Match(tc.topic); got != tc.want {
				t.Errorf("Set.Match(%q) = %v, want %v", tc.topic, got, tc.want)
			}
			if got := set.MatchTopics(c.Prepare("tag:decoy", tc.topic)); got != tc.want {
				t.Errorf("Set.MatchTopics(%q) = %v, want %v", tc.topic, got, tc.want)
			}
		})
	}
}
