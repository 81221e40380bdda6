package urlpattern

import (
	"errors"
	"strconv"
	"strings"
)

var (
	errUnexpectedToken = errors.New("unexpected token in pattern")
	errDuplicateName   = errors.New("duplicate group name in pattern")
)

// partType is a part's type (URL Pattern Standard §2.1.3 "Parts").
type partType uint8

const (
	partFixedText partType = iota
	partRegexp
	partSegmentWildcard
	partFullWildcard
)

// modifier is a part's modifier.
type modifier uint8

const (
	modifierNone modifier = iota
	modifierOptional
	modifierZeroOrMore
	modifierOneOrMore
)

// part is one piece of a parsed pattern string.
type part struct {
	typ      partType
	value    string
	modifier modifier
	name     string
	prefix   string
	suffix   string
}

// options are the options struct (URL Pattern Standard §2.1.4); ignore case
// is always false here, as Mercure §"URL Pattern" requires.
type options struct {
	delimiter string
	prefix    string
}

var (
	defaultOptions  = options{}
	hostnameOptions = options{delimiter: "."}
	pathnameOptions = options{delimiter: "/", prefix: "/"}
)

// fullWildcardRegexp is the full wildcard regexp value.
const fullWildcardRegexp = ".*"

// segmentWildcardRegexp implements "generate a segment wildcard regexp". Its
// JavaScript spelling is kept for comparisons; goRegexp translates it.
func segmentWildcardRegexp(o options) string {
	return "[^" + escapeRegexpString(o.delimiter) + "]+?"
}

// encodingCallback validates and encodes fixed text of a component.
type encodingCallback func(string) (string, error)

// patternParser is the pattern parser struct (URL Pattern Standard §2.1.5).
type patternParser struct {
	tokens            []token
	encode            encodingCallback
	segmentWildcard   string
	parts             []part
	names             map[string]bool
	pendingFixedValue strings.Builder
	index             int
	nextNumericName   int
}

// parsePatternString implements "parse a pattern string".
func parsePatternString(input string, o options, encode encodingCallback) ([]part, error) {
	tokens, err := tokenize(input, strict)
	if err != nil {
		return nil, err
	}
	p := &patternParser{tokens: tokens, encode: encode, segmentWildcard: segmentWildcardRegexp(o), names: map[string]bool{}}
	for p.index < len(p.tokens) {
		charToken := p.tryConsume(tokenChar)
		nameToken := p.tryConsume(tokenName)
		regexpOrWildcardToken := p.tryConsumeRegexpOrWildcard(nameToken)
		if nameToken != nil || regexpOrWildcardToken != nil {
			prefix := ""
			if charToken != nil {
				prefix = charToken.value
			}
			if prefix != "" && prefix != o.prefix {
				p.pendingFixedValue.WriteString(prefix)
				prefix = ""
			}
			if err := p.maybeAddPartFromPendingFixedValue(); err != nil {
				return nil, err
			}
			modifierToken := p.tryConsumeModifier()
			if err := p.addPart(prefix, nameToken, regexpOrWildcardToken, "", modifierToken); err != nil {
				return nil, err
			}
			continue
		}
		fixedToken := charToken
		if fixedToken == nil {
			fixedToken = p.tryConsume(tokenEscapedChar)
		}
		if fixedToken != nil {
			p.pendingFixedValue.WriteString(fixedToken.value)
			continue
		}
		if openToken := p.tryConsume(tokenOpen); openToken != nil {
			prefix := p.consumeText()
			nameToken = p.tryConsume(tokenName)
			regexpOrWildcardToken = p.tryConsumeRegexpOrWildcard(nameToken)
			suffix := p.consumeText()
			if p.tryConsume(tokenClose) == nil {
				return nil, errUnexpectedToken
			}
			modifierToken := p.tryConsumeModifier()
			if err := p.addPart(prefix, nameToken, regexpOrWildcardToken, suffix, modifierToken); err != nil {
				return nil, err
			}
			continue
		}
		if err := p.maybeAddPartFromPendingFixedValue(); err != nil {
			return nil, err
		}
		if p.tryConsume(tokenEnd) == nil {
			return nil, errUnexpectedToken
		}
	}
	return p.parts, nil
}

func (p *patternParser) tryConsume(typ tokenType) *token {
	if p.index >= len(p.tokens) || p.tokens[p.index].typ != typ {
		return nil
	}
	t := &p.tokens[p.index]
	p.index++
	return t
}

func (p *patternParser) tryConsumeModifier() *token {
	if t := p.tryConsume(tokenOtherModifier); t != nil {
		return t
	}
	return p.tryConsume(tokenAsterisk)
}

func (p *patternParser) tryConsumeRegexpOrWildcard(nameToken *token) *token {
	t := p.tryConsume(tokenRegexp)
	if nameToken == nil && t == nil {
		t = p.tryConsume(tokenAsterisk)
	}
	return t
}

// consumeText implements "consume text".
func (p *patternParser) consumeText() string {
	var result strings.Builder
	for {
		t := p.tryConsume(tokenChar)
		if t == nil {
			t = p.tryConsume(tokenEscapedChar)
		}
		if t == nil {
			return result.String()
		}
		result.WriteString(t.value)
	}
}

// maybeAddPartFromPendingFixedValue implements "maybe add a part from the
// pending fixed value".
func (p *patternParser) maybeAddPartFromPendingFixedValue() error {
	if p.pendingFixedValue.Len() == 0 {
		return nil
	}
	encoded, err := p.encode(p.pendingFixedValue.String())
	if err != nil {
		return err
	}
	p.pendingFixedValue.Reset()
	p.parts = append(p.parts, part{typ: partFixedText, value: encoded})
	return nil
}

// addPart implements "add a part".
func (p *patternParser) addPart(prefix string, nameToken, regexpOrWildcardToken *token, suffix string, modifierToken *token) error {
	mod := modifierNone
	if modifierToken != nil {
		switch modifierToken.value {
		case "?":
			mod = modifierOptional
		case "*":
			mod = modifierZeroOrMore
		case "+":
			mod = modifierOneOrMore
		}
	}
	if nameToken == nil && regexpOrWildcardToken == nil && mod == modifierNone {
		p.pendingFixedValue.WriteString(prefix)
		return nil
	}
	if err := p.maybeAddPartFromPendingFixedValue(); err != nil {
		return err
	}
	if nameToken == nil && regexpOrWildcardToken == nil {
		if prefix == "" {
			return nil
		}
		encoded, err := p.encode(prefix)
		if err != nil {
			return err
		}
		p.parts = append(p.parts, part{typ: partFixedText, value: encoded, modifier: mod})
		return nil
	}
	regexpValue := ""
	switch {
	case regexpOrWildcardToken == nil:
		regexpValue = p.segmentWildcard
	case regexpOrWildcardToken.typ == tokenAsterisk:
		regexpValue = fullWildcardRegexp
	default:
		regexpValue = regexpOrWildcardToken.value
		if err := checkRegexpGroup(regexpValue); err != nil {
			return err
		}
	}
	typ := partRegexp
	switch regexpValue {
	case p.segmentWildcard:
		typ, regexpValue = partSegmentWildcard, ""
	case fullWildcardRegexp:
		typ, regexpValue = partFullWildcard, ""
	}
	name := ""
	if nameToken != nil {
		name = nameToken.value
	} else if regexpOrWildcardToken != nil {
		name = strconv.Itoa(p.nextNumericName)
		p.nextNumericName++
	}
	if p.names[name] {
		return errDuplicateName
	}
	p.names[name] = true
	encodedPrefix, err := p.encode(prefix)
	if err != nil {
		return err
	}
	encodedSuffix, err := p.encode(suffix)
	if err != nil {
		return err
	}
	p.parts = append(p.parts, part{typ: typ, value: regexpValue, modifier: mod, name: name, prefix: encodedPrefix, suffix: encodedSuffix})
	return nil
}
