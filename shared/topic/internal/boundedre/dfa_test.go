package boundedre

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/edge-sse/edge-sse/shared/topic/internal/uritemplate"
)

// randExpr returns a random expression over a small alphabet, with the
// constructs templates and URL patterns generate and some they do not.
func randExpr(r *rand.Rand, depth int) string {
	atoms := []string{"a", "b", "A", "/", "%", "é", "K", `\.`, `[a-c]`, `[^/]`, `[\x2d\x2e\x30-\x39\x41-\x5a]`, `.`, `(?i:k)`, `(?i:é)`, `\d`, `[[:xdigit:]]`, `(?s:.)`, `\x{FFFD}`}
	if depth <= 0 || r.IntN(3) == 0 {
		return atoms[r.IntN(len(atoms))]
	}
	sub := func() string { return randExpr(r, depth-1) }
	switch r.IntN(8) {
	case 0:
		return sub() + sub()
	case 1:
		return "(?:" + sub() + "|" + sub() + ")"
	case 2:
		return "(?:" + sub() + ")*"
	case 3:
		return "(?:" + sub() + ")+"
	case 4:
		return "(" + sub() + ")?"
	case 5:
		return "(?:" + sub() + "){1,3}"
	case 6:
		return "(?:" + sub() + ")*?" + sub()
	}
	return sub() + sub() + sub()
}

func randInput(r *rand.Rand) string {
	pieces := []string{"a", "b", "A", "B", "/", "%", "é", "É", "\u212a", "k", "K", ".", "0", "9", "\n", "\xff", "\ufffd", "-", "Z"}
	var b strings.Builder
	for range r.IntN(12) {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

// TestDFAMatchesRegexp: for random expressions, anchored or not, with or
// without "$", and random inputs (case variants, non-ASCII, newlines,
// invalid UTF-8), the automaton decides as regexp does.
func TestDFAMatchesRegexp(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	withDFA := 0
	for i := 0; i < 3000; i++ {
		expr := randExpr(r, 4)
		switch r.IntN(4) {
		case 0:
			expr = "^" + expr + "$"
		case 1:
			expr = "^" + expr
		case 2:
			expr = "^(?:" + expr + ")?$"
		}
		budget := 1 << 20
		got, err := Compile(expr, &budget)
		if err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		if got.dfa != nil {
			withDFA++
		}
		want := regexp.MustCompile(expr)
		for range 40 {
			s := randInput(r)
			if got.MatchString(s) != want.MatchString(s) {
				t.Fatalf("%q on %q: %v, regexp says %v (dfa %v)", expr, s, got.MatchString(s), want.MatchString(s), got.dfa != nil)
			}
		}
	}
	if withDFA < 1000 {
		t.Fatalf("only %d of 3000 expressions got an automaton", withDFA)
	}
}

// TestDFATemplates: template expressions, the costliest kind of selector,
// mostly get an automaton (a few mixes of operators need more states than
// allowed) and decide as regexp does.
func TestDFATemplates(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	ops := []string{"", "+", "#", ".", "/", ";", "?", "&"}
	without := 0
	defer func() {
		if without > 50 {
			t.Errorf("%d of 500 templates without an automaton", without)
		}
	}()
	for i := 0; i < 500; i++ {
		var tpl strings.Builder
		for range 1 + r.IntN(6) {
			if r.IntN(2) == 0 {
				tpl.WriteString([]string{"a", "/", "x-y", "é", "%20"}[r.IntN(5)])
			}
			tpl.WriteString("{" + ops[r.IntN(len(ops))] + "v")
			if r.IntN(3) == 0 {
				tpl.WriteString(",w*")
			}
			tpl.WriteString("}")
		}
		expr, ok := uritemplate.Regexp(tpl.String())
		if !ok {
			t.Fatalf("template %q", tpl.String())
		}
		budget := 1 << 20
		got, err := Compile(expr, &budget)
		if err != nil {
			t.Fatal(err)
		}
		if got.dfa == nil {
			without++
		}
		want := regexp.MustCompile(expr)
		for range 40 {
			s := randInput(r) + strings.Repeat("a/", r.IntN(3)) + randInput(r)
			if got.MatchString(s) != want.MatchString(s) {
				t.Fatalf("template %q on %q: %v, regexp says %v", tpl.String(), s, got.MatchString(s), want.MatchString(s))
			}
		}
	}
}

// FuzzDFA compares the automaton with regexp on any expression and input.
func FuzzDFA(f *testing.F) {
	f.Add("^a*b$", "aab")
	f.Add("^(?i:k)+", "\u212aK")
	f.Add(`^((?:[\x2d\x2e]|%[[:xdigit:]][[:xdigit:]])*)?$`, "%2e-")
	f.Fuzz(func(t *testing.T, expr, s string) {
		want, err := regexp.Compile(expr)
		if err != nil {
			return
		}
		budget := 1 << 16
		got, err := Compile(expr, &budget)
		if err != nil {
			return
		}
		if got.MatchString(s) != want.MatchString(s) {
			t.Fatalf("%q on %q: %v, regexp says %v", expr, s, got.MatchString(s), want.MatchString(s))
		}
	})
}
