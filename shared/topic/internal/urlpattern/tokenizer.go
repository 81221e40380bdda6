package urlpattern

import (
	"errors"
	"unicode"
	"unicode/utf8"
)

// errTokenize is the TypeError of "process a tokenizing error".
var errTokenize = errors.New("invalid pattern syntax")

// tokenType is a token's type (URL Pattern Standard §2.1.1 "Tokens").
type tokenType uint8

const (
	tokenInvalidChar tokenType = iota
	tokenOpen
	tokenClose
	tokenRegexp
	tokenName
	tokenChar
	tokenEscapedChar
	tokenOtherModifier
	tokenAsterisk
	tokenEnd
)

// token is a lexical token of a pattern string; index is a code point
// offset, pos the corresponding byte offset.
type token struct {
	typ   tokenType
	index int
	pos   int
	value string
}

// tokenizePolicy is "strict" (errors throw) or "lenient" (errors become
// invalid-char tokens).
type tokenizePolicy bool

const (
	strict  tokenizePolicy = false
	lenient tokenizePolicy = true
)

// tokenizer is the tokenizer struct (URL Pattern Standard §2.1.2). It works
// on code points; offsets maps a code point index to a byte offset in src,
// so that token values are substrings of src.
type tokenizer struct {
	src       string
	offsets   []int
	input     []rune
	policy    tokenizePolicy
	tokens    []token
	index     int
	nextIndex int
	cp        rune
}

// tokenize implements "tokenize" (URL Pattern Standard §2.1.2).
func tokenize(src string, policy tokenizePolicy) ([]token, error) {
	if !utf8.ValidString(src) {
		src = string([]rune(src)) // one U+FFFD per invalid byte, as []rune has it
	}
	t := &tokenizer{src: src, input: []rune(src), policy: policy}
	t.offsets = make([]int, 0, len(t.input)+1)
	for i := range src {
		t.offsets = append(t.offsets, i)
	}
	t.offsets = append(t.offsets, len(src))
	for t.index < len(t.input) {
		t.seekAndGetNext(t.index)
		var err error
		switch t.cp {
		case '*':
			t.addDefault(tokenAsterisk)
		case '+', '?':
			t.addDefault(tokenOtherModifier)
		case '\\':
			if t.index == len(t.input)-1 {
				err = t.fail(t.nextIndex, t.index)
				break
			}
			escapedIndex := t.nextIndex
			t.getNext()
			t.addWithLength(tokenEscapedChar, t.nextIndex, escapedIndex)
		case '{':
			t.addDefault(tokenOpen)
		case '}':
			t.addDefault(tokenClose)
		case ':':
			err = t.name()
		case '(':
			err = t.regexp()
		default:
			t.addDefault(tokenChar)
		}
		if err != nil {
			return nil, err
		}
	}
	t.addWithLength(tokenEnd, t.index, t.index)
	return t.tokens, nil
}

// name tokenizes a ":name" group.
func (t *tokenizer) name() error {
	namePosition := t.nextIndex
	nameStart := namePosition
	for namePosition < len(t.input) {
		t.seekAndGetNext(namePosition)
		if !isValidNameCodePoint(t.cp, namePosition == nameStart) {
			break
		}
		namePosition = t.nextIndex
	}
	if namePosition <= nameStart {
		return t.fail(nameStart, t.index)
	}
	t.addWithLength(tokenName, namePosition, nameStart)
	return nil
}

// regexp tokenizes a "(regexp)" group.
func (t *tokenizer) regexp() error {
	depth := 1
	regexpPosition := t.nextIndex
	regexpStart := regexpPosition
	for regexpPosition < len(t.input) {
		t.seekAndGetNext(regexpPosition)
		if t.cp > unicode.MaxASCII || (regexpPosition == regexpStart && t.cp == '?') {
			return t.fail(regexpStart, t.index)
		}
		if t.cp == '\\' {
			if regexpPosition == len(t.input)-1 {
				return t.fail(regexpStart, t.index)
			}
			t.getNext()
			if t.cp > unicode.MaxASCII {
				return t.fail(regexpStart, t.index)
			}
			regexpPosition = t.nextIndex
			continue
		}
		if t.cp == ')' {
			depth--
			if depth == 0 {
				regexpPosition = t.nextIndex
				break
			}
		} else if t.cp == '(' {
			depth++
			if regexpPosition == len(t.input)-1 {
				return t.fail(regexpStart, t.index)
			}
			temporaryPosition := t.nextIndex
			t.getNext()
			if t.cp != '?' {
				return t.fail(regexpStart, t.index)
			}
			t.nextIndex = temporaryPosition
		}
		regexpPosition = t.nextIndex
	}
	if depth != 0 {
		return t.fail(regexpStart, t.index)
	}
	regexpLength := regexpPosition - regexpStart - 1
	if regexpLength == 0 {
		return t.fail(regexpStart, t.index)
	}
	t.add(tokenRegexp, regexpPosition, regexpStart, regexpLength)
	return nil
}

func (t *tokenizer) getNext() {
	t.cp = t.input[t.nextIndex]
	t.nextIndex++
}

func (t *tokenizer) seekAndGetNext(index int) {
	t.nextIndex = index
	t.getNext()
}

func (t *tokenizer) add(typ tokenType, nextPosition, valuePosition, valueLength int) {
	t.tokens = append(t.tokens, token{
		typ:   typ,
		index: t.index,
		pos:   t.offsets[t.index],
		value: t.src[t.offsets[valuePosition]:t.offsets[valuePosition+valueLength]],
	})
	t.index = nextPosition
}

func (t *tokenizer) addWithLength(typ tokenType, nextPosition, valuePosition int) {
	t.add(typ, nextPosition, valuePosition, nextPosition-valuePosition)
}

func (t *tokenizer) addDefault(typ tokenType) {
	t.addWithLength(typ, t.nextIndex, t.index)
}

// fail implements "process a tokenizing error". In lenient mode it records an
// invalid-char token and tokenizing goes on; the caller must then continue
// with the main loop, which nil tells it.
func (t *tokenizer) fail(nextPosition, valuePosition int) error {
	if t.policy == strict {
		return errTokenize
	}
	t.addWithLength(tokenInvalidChar, nextPosition, valuePosition)
	return nil
}

// isValidNameCodePoint implements "is a valid name code point": JavaScript's
// IdentifierStart and IdentifierPart (ECMA-262 §12.7).
func isValidNameCodePoint(c rune, first bool) bool {
	if c == '$' || c == '_' {
		return true
	}
	if !first && (c == 0x200C || c == 0x200D) {
		return true
	}
	if c <= unicode.MaxASCII {
		return isASCIIAlpha(c) || (!first && c >= '0' && c <= '9')
	}
	if unicode.Is(unicode.Pattern_Syntax, c) || unicode.Is(unicode.Pattern_White_Space, c) {
		return false
	}
	if unicode.In(c, unicode.L, unicode.Nl, unicode.Other_ID_Start) {
		return true
	}
	return !first && unicode.In(c, unicode.Mn, unicode.Mc, unicode.Nd, unicode.Pc, unicode.Other_ID_Continue)
}

func isASCIIAlpha(c rune) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
