package topic

import (
	"errors"
	"testing"
)

// TestNoBase checks a compiler without a configured hub URL: relative URL
// patterns are refused, absolute ones and every other kind still work, and a
// relative topic is not a URL, so no URL pattern matches it.
func TestNoBase(t *testing.T) {
	c, err := NewCompiler(Config{HubURL: "http://localhost/.well-known/mercure", NoBase: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, expr := range []string{"/books/:id", "books/*", "?q=1"} {
		if _, err := c.Compile(KindURLPattern, expr); !errors.Is(err, ErrRelativePattern) {
			t.Errorf("Compile(urlpattern %q) = %v, want ErrRelativePattern", expr, err)
		}
	}
	abs := mustSet(t, c, Spec{Kind: KindURLPattern, Expr: "http://localhost/*"})
	if !abs.Match("http://localhost/books/1") {
		t.Error("absolute pattern does not match an absolute topic")
	}
	if abs.Match("/books/1") || abs.Match("books/1") {
		t.Error("a relative topic matched a URL pattern, resolved against a base nobody configured")
	}
	exact := mustSet(t, c, Spec{Kind: KindExact, Expr: "books/1"}, Spec{Kind: KindTopic, Expr: "/b/{id}"})
	if !exact.Match("books/1") || !exact.Match("/b/7") {
		t.Error("exact and template selectors of relative topics must not need a base")
	}
	if err := c.CheckTopic("/.well-known/mercure/x"); !errors.Is(err, ErrReservedTopic) {
		t.Errorf("CheckTopic(reserved) = %v, want ErrReservedTopic", err)
	}

	based, err := NewCompiler(Config{HubURL: "https://hub.example/.well-known/mercure"})
	if err != nil {
		t.Fatal(err)
	}
	rel := mustSet(t, based, Spec{Kind: KindURLPattern, Expr: "/books/:id"})
	if !rel.Match("https://hub.example/books/1") || !rel.Match("/books/1") {
		t.Error("with a configured hub URL, relative patterns and topics resolve against it")
	}
}
