// Package uritemplate turns a URI Template (RFC 6570) into the regular
// expression that pre-standardization Mercure hubs match topics with.
//
// The reference hub (dunglas/mercure, "deprecated topic" mode) matches a
// `topic` selector that parses as a template with the expression that
// github.com/yosida95/uritemplate/v3 builds; this package accepts the same
// templates and writes the same expression, so legacy subscriptions keep
// their meaning. It returns the expression as a string instead of compiling
// it, so the caller can bound its size first: the library compiles with
// regexp.MustCompile, which panics on templates with more than a thousand
// variables in one expression.
package uritemplate

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Character classes of the generated expression (RFC 6570 §1.5).
const (
	reUnreserved = `\x2d\x2e\x30-\x39\x41-\x5a\x5f\x61-\x7a\x7e`
	reReserved   = `\x21\x23\x24\x26-\x2c\x2f\x3a\x3b\x3d\x3f\x40\x5b\x5d`
)

// operator holds the expansion rules of an expression's operator (RFC 6570
// §3.2.1) that matching uses.
type operator struct {
	first    string
	sep      string
	named    bool
	reserved bool
}

var operators = map[byte]operator{
	0:   {sep: ","},
	'+': {sep: ",", reserved: true},
	'#': {first: "#", sep: ",", reserved: true},
	'.': {first: ".", sep: "."},
	'/': {first: "/", sep: "/"},
	';': {first: ";", sep: ";", named: true},
	'?': {first: "?", sep: "&", named: true},
	'&': {first: "&", sep: "&", named: true},
}

// expression is a parsed "{...}" expression; explode records each
// variable's "*" modifier.
type expression struct {
	op      operator
	explode []bool
}

// Regexp returns the regular expression matching the expansions of template,
// and false if template is not a URI Template.
func Regexp(template string) (string, bool) {
	var b strings.Builder
	b.WriteByte('^')
	literalStart := 0
	for i := 0; i < len(template); {
		r, size := utf8.DecodeRuneInString(template[i:])
		switch {
		case r == '{':
			writeLiteral(&b, template[literalStart:i])
			e, n, ok := parseExpression(template[i+1:])
			if !ok {
				return "", false
			}
			e.writeRegexp(&b)
			i += 1 + n
			literalStart = i
			continue
		case r == '%':
			if !isTriplet(template[i:]) {
				return "", false
			}
			size = 3
		case !isLiteral(r):
			return "", false
		}
		i += size
	}
	writeLiteral(&b, template[literalStart:])
	b.WriteByte('$')
	return b.String(), true
}

// parseExpression parses the expression after a "{" and returns it with the
// number of bytes consumed, the closing "}" included.
func parseExpression(s string) (expression, int, bool) {
	var e expression
	i := 0
	if i < len(s) {
		switch c := s[i]; c {
		case '+', '#', '.', '/', ';', '?', '&':
			e.op = operators[c]
			i++
		case '=', ',', '!', '@', '|':
			return e, 0, false // reserved operators
		default:
			e.op = operators[0]
		}
	}
	for {
		start := i
		for i < len(s) && s[i] != ':' && s[i] != '*' && s[i] != ',' && s[i] != '}' {
			switch c := s[i]; {
			case c == '%':
				if !isTriplet(s[i:]) {
					return e, 0, false
				}
				i += 3
				continue
			case c == '.':
				if i == start || s[i-1] == '.' {
					return e, 0, false
				}
			case !isVarchar(c):
				return e, 0, false
			}
			i++
		}
		if i == len(s) || i == start || s[i-1] == '.' {
			return e, 0, false
		}
		explode := s[i] == '*'
		e.explode = append(e.explode, explode)
		switch s[i] {
		case '*':
			i++
		case ':':
			i++
			maxLength := 0
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				maxLength = maxLength*10 + int(s[i]-'0')
				if maxLength == 0 || maxLength > 9999 {
					return e, 0, false
				}
				i++
			}
			if maxLength == 0 {
				return e, 0, false
			}
		}
		if i == len(s) {
			return e, 0, false
		}
		switch s[i] {
		case ',':
			i++
		case '}':
			return e, i + 1, true
		default:
			return e, 0, false
		}
	}
}

func writeLiteral(b *strings.Builder, s string) {
	if s == "" {
		return
	}
	b.WriteString("(?:")
	b.WriteString(regexp.QuoteMeta(s))
	b.WriteByte(')')
}

// writeRegexp writes the expression's part of the regular expression.
func (e expression) writeRegexp(b *strings.Builder) {
	if e.op.first != "" {
		b.WriteString("(?:")
		b.WriteString(regexp.QuoteMeta(e.op.first))
	}
	b.WriteByte('(')
	e.writeClass(b, e.op.named || e.explode[0])
	if len(e.explode) > 1 || e.explode[0] {
		maxRepeat := len(e.explode) - 1
		for _, x := range e.explode {
			if x {
				maxRepeat = -1
				break
			}
		}
		b.WriteString("(?:")
		b.WriteString(regexp.QuoteMeta(e.op.sep))
		e.writeClass(b, e.op.named || maxRepeat < 0)
		b.WriteByte(')')
		if maxRepeat > 0 {
			b.WriteString("{0,")
			b.WriteString(strconv.Itoa(maxRepeat))
			b.WriteByte('}')
		} else {
			b.WriteByte('*')
		}
	}
	b.WriteByte(')')
	if e.op.first != "" {
		b.WriteByte(')')
	}
	b.WriteByte('?')
}

// writeClass writes the expression matching one expanded value.
func (e expression) writeClass(b *strings.Builder, named bool) {
	b.WriteString("(?:(?:[")
	if !e.op.reserved {
		b.WriteString(`\x2c`)
		if named {
			b.WriteString(`\x3d`)
		}
	}
	b.WriteString(reUnreserved)
	if e.op.reserved {
		b.WriteString(reReserved)
	}
	b.WriteString("]|%[[:xdigit:]][[:xdigit:]])*)")
}

// isTriplet reports whether s starts with a pct-encoded triplet.
func isTriplet(s string) bool {
	return len(s) >= 3 && s[0] == '%' && isHex(s[1]) && isHex(s[2])
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'f')
}

// isVarchar reports whether c is an ALPHA, DIGIT or "_" (RFC 6570 §2.3).
func isVarchar(c byte) bool {
	return (c|0x20 >= 'a' && c|0x20 <= 'z') || (c >= '0' && c <= '9') || c == '_'
}

// isLiteral reports whether r may appear unencoded in a template's literals
// (RFC 6570 §2.1, with the "'" of erratum 6937, as the reference hub's
// library reads it).
func isLiteral(r rune) bool {
	switch {
	case r == '!', r == '#', r == '$', r >= '&' && r <= ';', r == '=', r >= '?' && r <= '[',
		r == ']', r == '_', r >= 'a' && r <= 'z', r == '~':
		return true
	case r >= 0xA0 && r <= 0xD7FF, r >= 0xE000 && r <= 0xF8FF, r >= 0xF900 && r <= 0xFDCF, r >= 0xFDF0 && r <= 0xFFEF:
		return true
	case r >= 0x10000 && r <= 0x10FFFD:
		return r&0xFFFF <= 0xFFFD && (r < 0xE0000 || r >= 0xE1000)
	}
	return false
}
