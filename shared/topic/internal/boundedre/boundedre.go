// Package boundedre compiles regular expressions under a size budget.
//
// Go's regexp package (RE2) matches in time linear in the input, which is
// what Mercure §"URL Pattern" requires, but a short expression can still
// compile to a large program: `\pL{999}` repeated a few times costs tens of
// megabytes. Selectors come from untrusted subscribe requests and tokens, so
// every regular expression is sized from its syntax tree before it is
// compiled, and the caller's budget is charged.
package boundedre

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

// instBytes is about the memory of one instruction of a compiled program,
// the unit of a budget.
const instBytes = 45

// ErrTooComplex reports that an expression does not fit in the budget.
var ErrTooComplex = errors.New("regular expression too complex")

// Regexp is a compiled regular expression with the literal text every match
// of it starts with, which is checked first: most topics a selector is tried
// against do not match, and most of those differ early.
type Regexp struct {
	re     *regexp.Regexp
	prefix string
	size   int
	// dfa, when the expression has one within the budget, matches in
	// time linear in the input alone.
	dfa *dfa
}

// Compile compiles expr with regexp.Compile if its estimated program size
// fits in *budget, and subtracts that size from *budget.
func Compile(expr string, budget *int) (*Regexp, error) {
	tree, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("parse regular expression: %w", err)
	}
	cost := Size(tree, *budget+1)
	if cost > *budget {
		return nil, ErrTooComplex
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("compile regular expression: %w", err)
	}
	*budget -= cost
	r := &Regexp{re: re, prefix: anchoredPrefix(tree), size: cost}
	// The automaton reads what follows the literal prefix. Its tables may
	// take as much memory as the program (about instBytes per
	// instruction) and what is left of the budget.
	rest := tree
	if r.prefix != "" {
		rest = &syntax.Regexp{Op: syntax.OpConcat, Flags: tree.Flags, Sub: append([]*syntax.Regexp{tree.Sub[0]}, tree.Sub[2:]...)}
	}
	if prog, err := syntax.Compile(rest.Simplify()); err == nil {
		r.dfa = newDFA(prog, (cost+*budget)*instBytes)
	}
	if r.dfa != nil {
		extra := (r.dfa.size(len(r.dfa.accept)) + instBytes - 1) / instBytes
		if extra-cost > *budget {
			return nil, ErrTooComplex
		}
		*budget -= max(extra-cost, 0)
	}
	return r, nil
}

// MatchCost bounds the work of one MatchString on a string of at most n
// bytes, in instruction-bytes. With an automaton, a match reads each byte
// once: n. Without, RE2 runs at most every instruction of the program at
// every input position, so a match costs about the program size times the
// input length (roughly 1.5 ns per unit on a current core); the literal
// prefix is compared first, byte for byte, and counts once per byte.
func (r *Regexp) MatchCost(n int) int64 {
	p := len(r.prefix)
	if r.dfa != nil || p > n {
		// A longer input never starts with the prefix: the comparison
		// fails at once.
		return int64(n)
	}
	return int64(max(r.size-p, 1))*int64(n-p) + int64(p)
}

// MatchString reports whether s contains a match of the expression; it does
// not allocate.
func (r *Regexp) MatchString(s string) bool {
	if !strings.HasPrefix(s, r.prefix) {
		return false
	}
	if r.dfa != nil {
		return r.dfa.match(s[len(r.prefix):])
	}
	return r.re.MatchString(s)
}

// String returns the source text of the expression.
func (r *Regexp) String() string { return r.re.String() }

// anchoredPrefix returns the case-sensitive literal that follows a leading
// "^", the text every match of such an expression starts with.
func anchoredPrefix(re *syntax.Regexp) string {
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 || re.Sub[0].Op != syntax.OpBeginText {
		return ""
	}
	// U+FFFD also stands for each invalid byte of the input, which a byte
	// comparison would not see.
	if lit := re.Sub[1]; lit.Op == syntax.OpLiteral && lit.Flags&syntax.FoldCase == 0 && !slices.Contains(lit.Rune, utf8.RuneError) {
		return string(lit.Rune)
	}
	return ""
}

// Size estimates the number of instructions the program compiled from re
// needs, counting repetitions as many times as they are unrolled. The result
// saturates at limit, so deep nesting cannot overflow.
func Size(re *syntax.Regexp, limit int) int {
	n := 0
	switch re.Op {
	case syntax.OpLiteral:
		n = len(re.Rune)
	case syntax.OpCharClass:
		// One instruction, but its rune ranges are stored with it.
		n = 1 + len(re.Rune)/8
	case syntax.OpCapture, syntax.OpStar, syntax.OpPlus, syntax.OpQuest:
		n = 2 + Size(re.Sub[0], limit)
	case syntax.OpRepeat:
		times := re.Max
		if times < 0 {
			times = re.Min + 1
		}
		sub := Size(re.Sub[0], limit)
		if times > 0 && sub+1 > limit/times {
			return limit
		}
		n = 1 + times*(sub+1)
	case syntax.OpConcat, syntax.OpAlternate:
		for _, s := range re.Sub {
			n += 1 + Size(s, limit)
			if n >= limit {
				return limit
			}
		}
	default:
		n = 1
	}
	return min(n, limit)
}
