package urlpattern

import (
	"strings"
)

// generateRegexp implements "generate a regular expression and name list"
// (URL Pattern Standard §2.2), without the name list, which matching does not
// need. It writes Go (RE2) syntax: the standard's regular expressions are
// JavaScript ones, and the only generated construct the two spell differently
// is the segment wildcard of an empty delimiter, "[^]".
func generateRegexp(parts []part, o options) string {
	var b strings.Builder
	b.WriteByte('^')
	for _, p := range parts {
		if p.typ == partFixedText {
			if p.modifier == modifierNone {
				b.WriteString(escapeRegexpString(p.value))
			} else {
				b.WriteString("(?:")
				b.WriteString(escapeRegexpString(p.value))
				b.WriteByte(')')
				b.WriteString(modifierString(p.modifier))
			}
			continue
		}
		regexpValue := p.value
		switch p.typ {
		case partSegmentWildcard:
			regexpValue = goSegmentWildcard(o)
		case partFullWildcard:
			regexpValue = fullWildcardRegexp
		}
		if p.prefix == "" && p.suffix == "" {
			if p.modifier == modifierNone || p.modifier == modifierOptional {
				b.WriteByte('(')
				b.WriteString(regexpValue)
				b.WriteByte(')')
				b.WriteString(modifierString(p.modifier))
			} else {
				b.WriteString("((?:")
				b.WriteString(regexpValue)
				b.WriteByte(')')
				b.WriteString(modifierString(p.modifier))
				b.WriteByte(')')
			}
			continue
		}
		if p.modifier == modifierNone || p.modifier == modifierOptional {
			b.WriteString("(?:")
			b.WriteString(escapeRegexpString(p.prefix))
			b.WriteByte('(')
			b.WriteString(regexpValue)
			b.WriteByte(')')
			b.WriteString(escapeRegexpString(p.suffix))
			b.WriteByte(')')
			b.WriteString(modifierString(p.modifier))
			continue
		}
		b.WriteString("(?:")
		b.WriteString(escapeRegexpString(p.prefix))
		b.WriteString("((?:")
		b.WriteString(regexpValue)
		b.WriteString(")(?:")
		b.WriteString(escapeRegexpString(p.suffix))
		b.WriteString(escapeRegexpString(p.prefix))
		b.WriteString("(?:")
		b.WriteString(regexpValue)
		b.WriteString("))*)")
		b.WriteString(escapeRegexpString(p.suffix))
		b.WriteByte(')')
		if p.modifier == modifierZeroOrMore {
			b.WriteByte('?')
		}
	}
	b.WriteByte('$')
	return b.String()
}

// goSegmentWildcard is segmentWildcardRegexp in Go syntax: "[^]" (any code
// point) does not parse in Go.
func goSegmentWildcard(o options) string {
	if o.delimiter == "" {
		return `(?s:.)+?`
	}
	return segmentWildcardRegexp(o)
}

// escapeRegexpString implements "escape a regexp string".
func escapeRegexpString(s string) string {
	return escapeWith(s, `.+*?^${}()[]|/\`)
}

// escapePatternString implements "escape a pattern string".
func escapePatternString(s string) string {
	return escapeWith(s, `+*?:{}()\`)
}

func escapeWith(s, special string) string {
	if !strings.ContainsAny(s, special) {
		return s
	}
	var b strings.Builder
	for i := range len(s) {
		if strings.IndexByte(special, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// modifierString implements "convert a modifier to a string".
func modifierString(m modifier) string {
	switch m {
	case modifierZeroOrMore:
		return "*"
	case modifierOptional:
		return "?"
	case modifierOneOrMore:
		return "+"
	}
	return ""
}
