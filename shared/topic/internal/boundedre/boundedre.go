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
)

// ErrTooComplex reports that an expression does not fit in the budget.
var ErrTooComplex = errors.New("regular expression too complex")

// Compile compiles expr with regexp.Compile if its estimated program size
// fits in *budget, and subtracts that size from *budget.
func Compile(expr string, budget *int) (*regexp.Regexp, error) {
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
	return re, nil
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
