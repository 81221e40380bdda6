package urlpattern

import (
	"errors"
	"fmt"
	"regexp/syntax"
)

// errRegexpSyntax rejects a regexp group Go would read differently from
// JavaScript.
var errRegexpSyntax = errors.New("regexp group uses syntax that differs between JavaScript and RE2 " +
	"(a bracket or parenthesis inside a character class, a class set operation, an empty class, " +
	`a backreference or \Q); escape the character with a backslash`)

// checkRegexpGroup rejects the JavaScript "v"-mode syntax that RE2 accepts
// with another meaning. The standard compiles regexp groups as JavaScript
// regular expressions with the "v" flag (URL Pattern Standard §1.5 "compile a
// component"); this package compiles them with Go's RE2, which agrees on the
// common syntax but reads these differently:
//
//   - "[" inside a class starts a nested class in "v" mode (and "&&", "--"
//     are set operators); RE2 takes them as literal characters, or "[:a:]" as
//     a POSIX class.
//   - "[]" and "[^]" are the empty and the full class in JavaScript; RE2
//     takes the "]" as a member.
//   - "\1" to "\9" are backreferences in JavaScript and octal escapes or
//     errors in RE2.
//   - The tokenizer balances parentheses without regard to classes or RE2's
//     "\Q...\E" quoting, while RE2 ignores parentheses there: "[(?]a)|(?:b[)]"
//     is one group to the tokenizer but would split the generated
//     "^(...)$" into an unanchored alternation. "v" mode requires "(" and ")"
//     in a class to be escaped, and has no "\Q".
//
// Syntax only one engine accepts is left to RE2: what it rejects is an error
// of the pattern; what JavaScript would reject is accepted.
//
// Finally the group must parse on its own, so that its parentheses balance
// for RE2 too and it can never close the group the generated expression
// wraps it in.
func checkRegexpGroup(s string) error {
	if err := checkRegexpSyntax(s); err != nil {
		return err
	}
	if _, err := syntax.Parse(s, syntax.Perl); err != nil {
		return fmt.Errorf("regexp group: %w", err)
	}
	return nil
}

func checkRegexpSyntax(s string) error {
	inClass := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' {
			i++
			if i < len(s) && ((s[i] >= '1' && s[i] <= '9') || s[i] == 'Q') {
				return errRegexpSyntax
			}
			continue
		}
		if !inClass {
			if c == '[' {
				inClass = true
				if i+1 < len(s) && s[i+1] == '^' {
					i++
				}
				if i+1 < len(s) && s[i+1] == ']' {
					return errRegexpSyntax
				}
			}
			continue
		}
		switch {
		case c == ']':
			inClass = false
		case c == '[', c == '(', c == ')':
			return errRegexpSyntax
		case (c == '&' || c == '-') && i+1 < len(s) && s[i+1] == c:
			return errRegexpSyntax
		}
	}
	return nil
}
