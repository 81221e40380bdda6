package boundedre

import (
	"errors"
	"regexp"
	"regexp/syntax"
	"strings"
	"testing"
)

// errSyntax stands for any error of RE2's parser in the table below.
var errSyntax = errors.New("any syntax error")

func TestCompile(t *testing.T) {
	cases := []struct {
		name       string
		expr       string
		budget     int
		wantErr    error
		wantMinUse int
	}{
		{"small", `^\/books\/([^\/]+?)$`, 100, nil, 10},
		{"exact fit", `abc`, 3, nil, 3},
		{"over budget", `abc`, 2, ErrTooComplex, 0},
		{"repetition unrolled", `(?:ab){500}`, 1000, ErrTooComplex, 0},
		{"nested repetition", `(?:(?:a{100}){100}){100}`, 1 << 20, errSyntax, 0},
		{"big class", `\pL{999}`, 10000, ErrTooComplex, 0},
		{"invalid", `(`, 100, errSyntax, 0},
		{"repeat count above RE2 limit", `a{1001}`, 1 << 20, errSyntax, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			budget := tc.budget
			re, err := Compile(tc.expr, &budget)
			var syntaxErr *syntax.Error
			switch {
			case tc.wantErr == errSyntax:
				if !errors.As(err, &syntaxErr) {
					t.Fatalf("Compile(%q) = %v, want a syntax error", tc.expr, err)
				}
			case !errors.Is(err, tc.wantErr):
				t.Fatalf("Compile(%q) = %v, want %v", tc.expr, err, tc.wantErr)
			}
			if err != nil {
				if re != nil || budget != tc.budget {
					t.Errorf("failed compile returned %v and charged %d", re, tc.budget-budget)
				}
				return
			}
			if used := tc.budget - budget; used < tc.wantMinUse || used > tc.budget {
				t.Errorf("charged %d, want between %d and %d", used, tc.wantMinUse, tc.budget)
			}
		})
	}
}

// TestSizeBoundsProgram checks that the estimate is not below the size of
// the program regexp actually compiles.
func TestSizeBoundsProgram(t *testing.T) {
	for _, expr := range []string{
		`^\/books\/([^\/]+?)$`,
		`^(?:https://example\.com/)((?:(?:[\x2c\x2d\x2e\x30-\x39\x41-\x5a\x5f\x61-\x7a\x7e]|%[[:xdigit:]][[:xdigit:]])*))?$`,
		`(?:a|b|c){0,10}x+y*z?`,
		`((?:[^\/]+?)(?:\/(?:[^\/]+?))*)`,
		strings.Repeat(`(a)`, 50),
	} {
		tree, err := syntax.Parse(expr, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		prog, err := syntax.Compile(tree.Simplify())
		if err != nil {
			t.Fatal(err)
		}
		if est := Size(tree, 1<<30); est < len(prog.Inst) {
			t.Errorf("Size(%q) = %d, below the %d instructions compiled", expr, est, len(prog.Inst))
		}
	}
}

// TestPrefixAgreesWithRegexp checks that the literal prefix checked before
// running an expression never changes its result.
func TestPrefixAgreesWithRegexp(t *testing.T) {
	exprs := []string{
		`^(?:https://example\.com/books/)((?:[a-z]*))?$`,
		`^\/books\/([^\/]+?)$`,
		`^(?i)abc$`,
		`^(?i:ab)c$`,
		`abc`,
		`^$`,
		`^(a|ab)c$`,
		`^a*b$`,
	}
	inputs := []string{"", "abc", "ABC", "abC", "https://example.com/books/x", "https://example.com/books/", "/books/1",
		"/books/", "ac", "abcc", "b", "aab", "https://example.com/book"}
	for _, expr := range exprs {
		budget := 1000
		r, err := Compile(expr, &budget)
		if err != nil {
			t.Fatal(err)
		}
		std := regexp.MustCompile(expr)
		for _, in := range inputs {
			if got, want := r.MatchString(in), std.MatchString(in); got != want {
				t.Errorf("%q.MatchString(%q) = %v, regexp says %v (prefix %q)", expr, in, got, want, r.prefix)
			}
		}
	}
}
