package urlpattern

import (
	"github.com/edge-sse/edge-sse/shared/topic/internal/boundedre"
	"github.com/edge-sse/edge-sse/shared/topic/internal/whatwgurl"
)

// matchKind says how a component is matched. The standard matches every
// component with its regular expression; it allows matching "directly
// against the part list when possible" (URL Pattern Standard §1.5 "compile a
// component"), which is done for the two shapes almost every Mercure pattern
// is made of.
type matchKind uint8

const (
	// matchAny is a lone "*": the regular expression ^(.*)$, which matches
	// every component string since those never contain a line terminator.
	matchAny matchKind = iota
	// matchLiteral is fixed text only: ^<escaped text>$.
	matchLiteral
	// matchRegexp runs the regular expression.
	matchRegexp
)

// component is a compiled component (URL Pattern Standard §1.3 "The URL
// pattern struct").
type component struct {
	kind          matchKind
	literal       string
	re            *boundedre.Regexp
	patternString string
	hasRegexp     bool
}

// compileComponent implements "compile a component", charging the regular
// expression it needs to budget.
func compileComponent(input string, encode encodingCallback, o options, budget *int) (component, error) {
	parts, err := parsePatternString(input, o, encode)
	if err != nil {
		return component{}, err
	}
	c := component{patternString: generatePatternString(parts, o)}
	for _, p := range parts {
		if p.typ == partRegexp {
			c.hasRegexp = true
		}
	}
	switch {
	case len(parts) == 1 && parts[0].typ == partFullWildcard && parts[0].modifier == modifierNone &&
		parts[0].prefix == "" && parts[0].suffix == "":
		c.kind = matchAny
	case allFixedText(parts):
		c.kind = matchLiteral
		for _, p := range parts {
			c.literal += p.value
		}
	default:
		c.kind = matchRegexp
		// Every regular expression is compiled here, so an invalid one is an
		// error of the pattern, as the standard requires.
		if c.re, err = boundedre.Compile(generateRegexp(parts, o), budget); err != nil {
			return component{}, err
		}
	}
	return c, nil
}

func allFixedText(parts []part) bool {
	for _, p := range parts {
		if p.typ != partFixedText || p.modifier != modifierNone {
			return false
		}
	}
	return true
}

// match reports whether the component's regular expression matches s.
func (c *component) match(s string) bool {
	switch c.kind {
	case matchAny:
		return true
	case matchLiteral:
		return s == c.literal
	}
	return c.re.MatchString(s)
}

// matchesSpecialScheme implements "protocol component matches a special
// scheme".
func (c *component) matchesSpecialScheme() bool {
	for _, scheme := range whatwgurl.SpecialSchemes {
		if c.match(scheme) {
			return true
		}
	}
	return false
}
