package urlpattern

import (
	"strings"
	"unicode/utf8"
)

// generatePatternString implements "generate a pattern string" (URL Pattern
// Standard §2.3): the normalized form of a component, as the URLPattern
// attributes return it.
func generatePatternString(parts []part, o options) string {
	var b strings.Builder
	for i, p := range parts {
		var previous, next *part
		if i > 0 {
			previous = &parts[i-1]
		}
		if i < len(parts)-1 {
			next = &parts[i+1]
		}
		if p.typ == partFixedText {
			if p.modifier == modifierNone {
				b.WriteString(escapePatternString(p.value))
				continue
			}
			b.WriteByte('{')
			b.WriteString(escapePatternString(p.value))
			b.WriteByte('}')
			b.WriteString(modifierString(p.modifier))
			continue
		}
		customName := !isDigit(p.name[0])
		needsGrouping := p.suffix != "" || (p.prefix != "" && p.prefix != o.prefix)
		if !needsGrouping && customName && p.typ == partSegmentWildcard && p.modifier == modifierNone &&
			next != nil && next.prefix == "" && next.suffix == "" {
			if next.typ == partFixedText {
				r, _ := utf8.DecodeRuneInString(next.value)
				needsGrouping = isValidNameCodePoint(r, false)
			} else {
				needsGrouping = isDigit(next.name[0])
			}
		}
		if !needsGrouping && p.prefix == "" && previous != nil && previous.typ == partFixedText &&
			o.prefix != "" && strings.HasSuffix(previous.value, o.prefix) {
			needsGrouping = true
		}
		if needsGrouping {
			b.WriteByte('{')
		}
		b.WriteString(escapePatternString(p.prefix))
		if customName {
			b.WriteByte(':')
			b.WriteString(p.name)
		}
		switch {
		case p.typ == partRegexp:
			b.WriteByte('(')
			b.WriteString(p.value)
			b.WriteByte(')')
		case p.typ == partSegmentWildcard && !customName:
			b.WriteByte('(')
			b.WriteString(segmentWildcardRegexp(o))
			b.WriteByte(')')
		case p.typ == partFullWildcard:
			if !customName && (previous == nil || previous.typ == partFixedText || previous.modifier != modifierNone ||
				needsGrouping || p.prefix != "") {
				b.WriteByte('*')
			} else {
				b.WriteByte('(')
				b.WriteString(fullWildcardRegexp)
				b.WriteByte(')')
			}
		}
		if p.typ == partSegmentWildcard && customName && p.suffix != "" {
			if r, _ := utf8.DecodeRuneInString(p.suffix); isValidNameCodePoint(r, false) {
				b.WriteByte('\\')
			}
		}
		b.WriteString(escapePatternString(p.suffix))
		if needsGrouping {
			b.WriteByte('}')
		}
		b.WriteString(modifierString(p.modifier))
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
