package whatwgurl

import (
	"strings"
	"unicode/utf8"
)

// encodeSet is a percent-encode set restricted to ASCII (URL Standard §1.3
// "Percent-encoded bytes"): every set used here contains all code points above
// U+007E, so only the ASCII members need a table.
type encodeSet [128]bool

func newEncodeSet(base *encodeSet, extra string) encodeSet {
	var s encodeSet
	if base != nil {
		s = *base
	}
	for i := range len(extra) {
		s[extra[i]] = true
	}
	return s
}

// c0ControlSet is the C0 control percent-encode set.
var c0ControlSet = func() encodeSet {
	var s encodeSet
	for c := range 0x20 {
		s[c] = true
	}
	s[0x7F] = true // greater than U+007E
	return s
}()

var (
	fragmentSet     = newEncodeSet(&c0ControlSet, " \"<>`")
	querySet        = newEncodeSet(&c0ControlSet, " \"#<>")
	specialQuerySet = newEncodeSet(&querySet, "'")
	pathSet         = newEncodeSet(&querySet, "?^`{}")
	userinfoSet     = newEncodeSet(&pathSet, "/:;=@[\\]|")
)

const upperHex = "0123456789ABCDEF"

// appendPercentEncoded appends the UTF-8 percent-encoding of c using set
// ("UTF-8 percent-encode", URL Standard §1.3).
func appendPercentEncoded(dst []rune, c rune, set *encodeSet) []rune {
	if c < utf8.RuneSelf && !set[c] {
		return append(dst, c)
	}
	var b [utf8.UTFMax]byte
	n := utf8.EncodeRune(b[:], c)
	for _, x := range b[:n] {
		dst = append(dst, '%', rune(upperHex[x>>4]), rune(upperHex[x&15]))
	}
	return dst
}

// writePercentEncoded writes the UTF-8 percent-encoding of c using set.
func writePercentEncoded(w *strings.Builder, c rune, set *encodeSet) {
	if c < utf8.RuneSelf && !set[c] {
		w.WriteByte(byte(c))
		return
	}
	var b [utf8.UTFMax]byte
	n := utf8.EncodeRune(b[:], c)
	for _, x := range b[:n] {
		w.WriteByte('%')
		w.WriteByte(upperHex[x>>4])
		w.WriteByte(upperHex[x&15])
	}
}

// percentEncodeString returns s UTF-8 percent-encoded with set; invalid UTF-8
// is encoded as U+FFFD, as a scalar value string would carry it.
func percentEncodeString(s string, set *encodeSet) string {
	var b strings.Builder
	for _, c := range s {
		writePercentEncoded(&b, c, set)
	}
	return b.String()
}

// percentDecode implements "percent-decode" of a string's UTF-8 bytes (URL
// Standard §1.3).
func percentDecode(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && isASCIIHexDigit(rune(s[i+1])) && isASCIIHexDigit(rune(s[i+2])) {
			out = append(out, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		out = append(out, c)
	}
	return out
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
