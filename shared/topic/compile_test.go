package topic

import (
	"errors"
	"strings"
	"testing"
)

func TestCompileErrors(t *testing.T) {
	c := newTestCompiler(t)
	cases := []struct {
		name    string
		kind    Kind
		expr    string
		wantErr error
	}{
		{"zero kind", 0, "https://example.com/", ErrUnknownKind},
		{"unknown kind", Kind(9), "https://example.com/", ErrUnknownKind},
		{"too long", KindExact, strings.Repeat("a", DefaultMaxExprLen+1), ErrExprTooLong},
		{"too long wildcard check first", KindURLPattern, strings.Repeat("*", DefaultMaxExprLen+1), ErrExprTooLong},
		{"LF", KindExact, "https://example.com/\nid: 1", ErrInvalidChar},
		{"NUL", KindTopic, "a\x00b", ErrInvalidChar},
		{"DEL", KindExact, "a\x7fb", ErrInvalidChar},
		{"C1", KindExact, "a\u0085b", ErrInvalidChar},
		{"zero width space", KindURLPattern, "https://example.com/\u200b*", ErrInvalidChar},
		{"bidi override", KindExact, "https://example.com/\u202e", ErrInvalidChar},
		{"invalid UTF-8", KindExact, "https://example.com/\xff", ErrInvalidChar},
		{"urlpattern/unbalanced group", KindURLPattern, "https://example.com/books/:id(", ErrInvalidURLPattern},
		{"urlpattern/empty regexp", KindURLPattern, "https://example.com/books/()", ErrInvalidURLPattern},
		{"urlpattern/duplicate name", KindURLPattern, "https://example.com/:id/:id", ErrInvalidURLPattern},
		{"urlpattern/unclosed brace", KindURLPattern, "https://example.com/{books", ErrInvalidURLPattern},
		{"urlpattern/lookahead", KindURLPattern, "https://example.com/:id((?=a)a)", ErrInvalidURLPattern},
		{"urlpattern/backreference", KindURLPattern, `https://example.com/:id((a)\1)`, ErrInvalidURLPattern},
		{"urlpattern/v-mode set operation", KindURLPattern, "https://example.com/:id([[a-z]--a])", ErrInvalidURLPattern},
		{"urlpattern/group escape through class", KindURLPattern, "https://example.com/:x([(?]a)|(?:b[)])", ErrInvalidURLPattern},
		{"urlpattern/group escape through quoting", KindURLPattern, `https://example.com/:x(\Q(?\Ea)|(?:b\Q)\E)`, ErrInvalidURLPattern},
		{"urlpattern/invalid hostname", KindURLPattern, "https://exa mple.com/*", ErrInvalidURLPattern},
		{"urlpattern/unescaped IPv6", KindURLPattern, "https://[::1]/*", ErrInvalidURLPattern},
		{"urlpattern/port out of range", KindURLPattern, "https://example.com:65536/*", ErrInvalidURLPattern},
		{"urlpattern/Unicode hostname", KindURLPattern, "https://bücher.example/*", ErrInvalidURLPattern},
		{"urlpattern/huge regexp", KindURLPattern, "https://example.com/:id(" + strings.Repeat(`\pL{999}`, 20) + ")", ErrTooComplex},
		{"template/too many variables", KindTopic, "https://example.com/{" + strings.Repeat("a,", 1001) + "a}", ErrTooComplex},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Compile(tc.kind, tc.expr)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Compile(%v, %.40q) = %v, want %v", tc.kind, tc.expr, err, tc.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "topic: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if len(err.Error()) > 600 {
				t.Errorf("error message is %d bytes long, should not echo the whole expression", len(err.Error()))
			}
		})
	}
}

func TestCompileAccessors(t *testing.T) {
	c := newTestCompiler(t)
	sel, err := c.Compile(KindURLPattern, "/books/:id")
	if err != nil {
		t.Fatal(err)
	}
	if sel.Kind() != KindURLPattern || sel.Expr() != "/books/:id" || sel.All() {
		t.Errorf("got kind %v expr %q all %v", sel.Kind(), sel.Expr(), sel.All())
	}
	all, err := c.Compile(KindURLPattern, "*")
	if err != nil {
		t.Fatal(err)
	}
	if !all.All() {
		t.Error(`"*" is not All`)
	}
	var zero Selector
	if zero.Match("") || zero.Match("https://example.com/") {
		t.Error("the zero Selector matched")
	}
}

func TestNewCompiler(t *testing.T) {
	cases := []struct {
		name    string
		hubURL  string
		wantErr error
	}{
		{"https", "https://example.com/.well-known/mercure", nil},
		{"http with port", "http://localhost:3000/.well-known/mercure", nil},
		{"empty", "", ErrInvalidHubURL},
		{"relative", "/.well-known/mercure", ErrInvalidHubURL},
		{"not http", "urn:example:hub", ErrInvalidHubURL},
		{"ftp", "ftp://example.com/", ErrInvalidHubURL},
		{"bad host", "https://exa mple.com/", ErrInvalidHubURL},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewCompiler(Config{HubURL: tc.hubURL})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("NewCompiler(%q) = %v, want %v", tc.hubURL, err, tc.wantErr)
			}
		})
	}
}

func TestLimitsConfigurable(t *testing.T) {
	c, err := NewCompiler(Config{HubURL: testHubURL, MaxSelectors: 2, MaxExprLen: 10, MaxRegexpSize: 40})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.NewSet(Spec{KindExact, "a"}, Spec{KindExact, "b"}, Spec{KindExact, "c"}); !errors.Is(err, ErrTooManySelectors) {
		t.Errorf("3 selectors: got %v, want ErrTooManySelectors", err)
	}
	if _, err := c.Compile(KindExact, "0123456789x"); !errors.Is(err, ErrExprTooLong) {
		t.Errorf("11 bytes: got %v, want ErrExprTooLong", err)
	}
	// A template like these costs 25: one fits in the budget, two do not.
	if _, err := c.NewSet(Spec{KindTopic, "/a/{id}"}); err != nil {
		t.Errorf("one template: %v", err)
	}
	if _, err := c.NewSet(Spec{KindTopic, "/a/{id}"}, Spec{KindTopic, "/b/{id}"}); !errors.Is(err, ErrTooComplex) {
		t.Errorf("two templates: got %v, want ErrTooComplex", err)
	}
}
