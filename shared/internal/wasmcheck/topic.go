package wasmcheck

import (
	"strings"

	"github.com/edge-sse/edge-sse/shared/topic"
)

// hubURLs are the hubs random cases compile for, the last two invalid.
var hubURLs = []string{
	"https://example.com/.well-known/mercure",
	"https://example.com/.well-known/mercure",
	"http://localhost:3000/.well-known/mercure",
	"https://hub.example.org/hub/",
	"ftp://example.com/",
	"/.well-known/mercure",
}

// selectorExprs are selectors of every kind: the wildcard, exact topics, URI
// templates (levels 1 to 4, and malformed), URL patterns (absolute,
// relative, with regexp groups, wildcards and modifiers, and invalid).
var selectorExprs = []string{
	"*", "*", "",
	"https://example.com/books/1", "urn:uuid:5e94c686", "/books/1",
	"https://example.com/books/{id}", "https://example.com/{+path}", "/books/{id}",
	"https://example.com/users/{user}/books/{book}", "https://example.com/books{?page,size}",
	"https://example.com/books/{id}{.ext}", "{scheme}://example.com/books/1", "https://example.com{/path*}",
	"https://example.com/{#frag}", "https://example.com/books/{id:3}", "https://example.com/{id", "https://example.com/{}",
	"https://example.com/books/:id", "/books/:id", "/books/*", "https://example.com/books/:id(\\d+)",
	"https://*.example.com/*", "http{s}?://example.com/*", "/users/:user/books/:book?", "https://example.com/books/:id{.json}?",
	"*://*/*", "(", "https://example.com/[", ":id", "/books/(\\d+)", "https://example.com/{books", "/.well-known/mercure/*",
	"https://example.com/books/:id/*", "https://example.com/books?page=:p", "https://example.com/books/1#:frag",
	"https://example.com/:id/:id", "https://example.com/:id((?=a)a)", "https://bücher.example/*", "https://[::1]/*",
	"https://example.com:65536/*",
}

// selectorPieces are joined into random selectors.
var selectorPieces = []string{
	"books", "1", ":id", "{id}", "*", "(\\d+)", "{+path}", "?", "{?q}", ":id?", "**", "%2e", "..", "{,}", "{x", "}",
	"/", "/", ".json", "#", "%", "%41", "é", "\u200b", "\x00", "\xff", " ", ":", "\\", "(", ")", "[a-z]", "{/p*}",
}

// topicValues are topics of updates: URLs that match the selectors above and
// near misses, relative references, URNs, the reserved namespace, "*", and
// values with forbidden characters.
var topicValues = []string{
	"https://example.com/books/1", "https://example.com/books/12345", "https://example.com/books/abc",
	"https://example.com/users/42/books/1", "https://example.com/books?page=2", "https://example.com/books/1.json",
	"https://sub.example.com/x", "http://example.com/books/1", "/books/1", "books/1", "urn:uuid:5e94c686", "*",
	"https://example.com/.well-known/mercure", "https://example.com/.well-known/mercure/subscriptions",
	"https://example.com/.well-known/%6Dercure/x", "https://EXAMPLE.com/books/%31", "https://example.com/books/1#frag",
	"https://exa mple.com/", "https://example.com/ü", "https://[::1]/x", "https://192.168.0.1:8080/a",
	"mailto:x@example.com", "", " ", "\x00", "https://example.com/\xff", "https://example.com/books/../books/1",
	"https://xn--nxasmq6b.com/", "https://bücher.example/", "https://example.com/books/1\u200b",
}

// kinds are the selector kinds of random specs.
var kinds = []topic.Kind{topic.KindExact, topic.KindURLPattern, topic.KindURLPattern, topic.KindTopic, topic.KindTopic}

// kind returns a valid kind mostly, and sometimes an invalid one.
func (g *gen) kind() topic.Kind {
	if g.chance(3) {
		return []topic.Kind{0, 4, 255}[g.intn(3)]
	}
	return kinds[g.intn(len(kinds))]
}

// paramNames are subscribe query parameter and match_type names.
var paramNames = []string{"match", "match_exact", "match_urlpattern", "topic", "Match", "MATCH_x", "matchx", "last_event_id", "lastEventID", "", "m", "exact", "urlpattern", "Exact", "regexp"}

// selector returns a selector expression: "*", one from the list, one built
// from pieces, or one from the list with a piece inserted.
func (g *gen) selector() string {
	switch g.intn(10) {
	case 0:
		return "*"
	case 1, 2:
		var b strings.Builder
		if g.chance(50) {
			b.WriteString("https://example.com/")
		}
		for range g.intn(5) {
			b.WriteString(g.pick(selectorPieces))
		}
		return b.String()
	case 3, 4:
		s := g.pick(selectorExprs)
		at := g.intn(len(s) + 1)
		return s[:at] + g.pick(selectorPieces) + s[at:]
	}
	return g.pick(selectorExprs)
}

// topic returns an update's topic: one from the list, or a URL with random
// path segments.
func (g *gen) topic() string {
	if g.chance(60) {
		return g.pick(topicValues)
	}
	var b strings.Builder
	b.WriteString(g.pick([]string{"https://example.com/", "/", "http://localhost:3000/", "urn:"}))
	for i := range g.intn(4) {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(g.pick([]string{"books", "users", "42", "1", "abc", "é", "%2e", "..", ".json", "?page=1", "#x"}))
	}
	return b.String()
}

// topicCase records a Compiler for a random hub and limits, the compile
// result of each of a subscription's random selectors, the Set they make,
// and the matches of each selector and of the Set against random topics,
// prepared and not.
func topicCase(t *transcript, g *gen) {
	name := g.pick(paramNames)
	kind, ok, err := topic.ParamKind(name)
	pk, perr := topic.ParseKind(name)
	t.line("topic.ParamKind %q -> %v %t %s; ParseKind -> %v %s", name, kind, ok, errString(err), pk, errString(perr))

	cfg := topic.Config{HubURL: g.pick(hubURLs)}
	if g.chance(15) {
		cfg.MaxSelectors = 1 + g.intn(3)
		cfg.MaxExprLen = 1 + g.intn(60)
		cfg.MaxRegexpSize = 1 + g.intn(200)
	}
	c, err := topic.NewCompiler(cfg)
	t.line("topic.NewCompiler hub=%q max_selectors=%d max_expr=%d max_regexp=%d -> %s",
		cfg.HubURL, cfg.MaxSelectors, cfg.MaxExprLen, cfg.MaxRegexpSize, errString(err))
	if err != nil {
		return
	}

	specs := make([]topic.Spec, 1+g.intn(4))
	selectors := make([]*topic.Selector, len(specs))
	var compiled []topic.Spec
	for i := range specs {
		specs[i] = topic.Spec{Kind: g.kind(), Expr: g.selector()}
		sel, err := c.Compile(specs[i].Kind, specs[i].Expr)
		t.line("topic.Compile %d %q -> %s all=%t", uint8(specs[i].Kind), specs[i].Expr, errString(err), sel.All())
		if err == nil {
			selectors[i] = &sel
			compiled = append(compiled, specs[i])
		}
	}
	set, err := c.NewSet(specs...)
	t.line("topic.NewSet all specs -> %s", errString(err))
	if err != nil {
		// Match with the selectors that compiled, as a hub that dropped the
		// bad ones would. The Set budget may still refuse them together.
		set, err = c.NewSet(compiled...)
		t.line("topic.NewSet compiled specs -> %s", errString(err))
	}
	if set != nil {
		t.line("topic.Set len=%d all=%t", set.Len(), set.All())
	}

	topics := make([]string, 1+g.intn(3))
	for i := range topics {
		if g.chance(40) {
			topics[i] = g.instantiate(specs[g.intn(len(specs))].Expr)
		} else {
			topics[i] = g.topic()
		}
	}
	for _, tp := range topics {
		matches := make([]byte, len(selectors))
		for i, sel := range selectors {
			switch {
			case sel == nil:
				matches[i] = '-'
			case sel.Match(tp):
				matches[i] = '1'
			default:
				matches[i] = '0'
			}
		}
		setMatch := "-"
		if set != nil {
			setMatch = sprintf("%t", set.Match(tp))
		}
		t.line("topic %q check=%s selectors=%s set=%s", tp, errString(c.CheckTopic(tp)), matches, setMatch)
	}
	if set != nil {
		t.line("topic.Set.MatchAny=%t MatchTopics=%t", set.MatchAny(topics), set.MatchTopics(c.Prepare(topics...)))
	}
}

// instantiate returns a topic that a selector may match: expr with each
// template expression ("{...}"), named group (":name") and wildcard ("*")
// replaced by a random value. Regexp groups and modifiers stay as they are,
// so the topic is sometimes a near miss.
func (g *gen) instantiate(expr string) string {
	values := []string{"1", "42", "abc", "", "a/b", "x.json", "%20", "é"}
	var b strings.Builder
	for i := 0; i < len(expr); i++ {
		switch c := expr[i]; {
		case c == '{':
			if end := strings.IndexByte(expr[i:], '}'); end > 0 {
				i += end
			}
			b.WriteString(g.pick(values))
		case c == ':' && i+1 < len(expr) && isNameByte(expr[i+1]):
			for i+1 < len(expr) && isNameByte(expr[i+1]) {
				i++
			}
			b.WriteString(g.pick(values))
		case c == '*':
			b.WriteString(g.pick(values))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isNameByte(c byte) bool {
	return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') || (c >= '0' && c <= '9')
}
