package urlpattern

import (
	"errors"
	"testing"
)

const testBase = "https://example.com/.well-known/mercure"

func TestCheckRegexpGroup(t *testing.T) {
	cases := []struct {
		name  string
		group string
		ok    bool
	}{
		{"digits", `\d+`, true},
		{"class", `[a-z0-9_-]+`, true},
		{"escaped bracket in class", `[\[\]]`, true},
		{"escaped parenthesis in class", `[\(\)]`, true},
		{"non-capturing group", `(?:a|b)c`, true},
		{"named group", `(?<x>a)`, true},
		{"NUL escape", `\0`, true},
		{"nested class", `[[a-z]]`, false},
		{"POSIX class", `[[:alpha:]]`, false},
		{"set difference", `[a-z--b]`, false},
		{"set intersection", `[\d&&[0-1]]`, false},
		{"empty class", `[]a]`, false},
		{"full class", `[^]a]`, false},
		{"backreference", `(a)\1`, false},
		{"parenthesis in class", `[(?]`, false},
		{"closing parenthesis in class", `[)]`, false},
		{"quoting", `\Q(\E`, false},
		{"unbalanced for RE2", `a)|(?:b`, false},
		{"lookahead", `(?=a)a`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := checkRegexpGroup(tc.group); (err == nil) != tc.ok {
				t.Errorf("checkRegexpGroup(%q) = %v, want ok %v", tc.group, err, tc.ok)
			}
		})
	}
}

// TestGroupCannotEscape checks that a regexp group cannot close the group the
// generated expression wraps it in and so unanchor the component.
func TestGroupCannotEscape(t *testing.T) {
	for _, pattern := range []string{
		`/:x([(?]a)|(?:b[)])`,
		`/:x(\Q(?\Ea)|(?:b\Q)\E)`,
		`/:x([(?]a)|(?:.*[)])`,
	} {
		budget := 1 << 16
		if p, err := NewRelative(pattern, testBase, &budget); err == nil {
			in, _ := ParseInput("/(a/anything/else", nil)
			t.Errorf("NewRelative(%q) compiled; matches %q: %v", pattern, in.Pathname, p.Match(&in))
		}
	}
}

func TestNewRelative(t *testing.T) {
	cases := []struct {
		name     string
		pattern  string
		pathname string
		hostname string
	}{
		{"relative gets the hub's origin", "/books/:id", "/books/:id", "example.com"},
		{"relative path joins the hub's directory", "books/:id", "/.well-known/books/:id", "example.com"},
		{"absolute keeps its opaque path", `urn\:uuid\:*`, `uuid\:*`, ""},
		{"absolute keeps its host", "https://other.example/*", "/*", "other.example"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			budget := 1 << 16
			p, err := NewRelative(tc.pattern, testBase, &budget)
			if err != nil {
				t.Fatal(err)
			}
			c := p.Components()
			if c["pathname"] != tc.pathname || c["hostname"] != tc.hostname {
				t.Errorf("pathname %q hostname %q, want %q %q", c["pathname"], c["hostname"], tc.pathname, tc.hostname)
			}
		})
	}
	budget := 1 << 16
	if _, err := New("/books/:id", "", &budget); !errors.Is(err, ErrNoProtocol) {
		t.Errorf("relative pattern without base: %v", err)
	}
}

// FuzzNew compiles arbitrary patterns: no panic, and a compiled pattern
// matches without panicking either.
func FuzzNew(f *testing.F) {
	for _, s := range []string{
		"https://example.com/books/:id", "/books/:id(\\d+)?", "https://*.example.com:*/*?q=:q#*",
		"{/:a}*{/:b(x|y)}+", `urn\:uuid\:*`, `https://[\:\:1]/*`, "a:b@c:d/e", "(a)(b)(c)", "\\",
	} {
		f.Add(s, "https://example.com/books/1")
	}
	f.Fuzz(func(t *testing.T, pattern, topic string) {
		budget := 1 << 14
		p, err := NewRelative(pattern, testBase, &budget)
		if err != nil {
			return
		}
		in, _ := ParseInput(topic, nil)
		p.Match(&in)
	})
}
