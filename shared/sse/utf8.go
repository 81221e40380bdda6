package sse

import "unicode/utf8"

// replacement is U+FFFD REPLACEMENT CHARACTER in UTF-8.
const replacement = "\uFFFD"

// appendUTF8 appends src to dst as the WHATWG Encoding Standard's UTF-8
// decoder reads it (§4.1 "UTF-8 decoder"), which an event stream must be
// decoded with (WHATWG HTML §9.2.6): each maximal ill-formed subpart becomes
// one U+FFFD. Valid input, the common case, is copied as is.
//
// This differs from ranging over a Go string, which yields one U+FFFD per
// byte: the truncated sequence E2 80 followed by "A" decodes to "\uFFFDA"
// here and to "\uFFFD\uFFFDA" in Go.
//
// Decoding field values apart from the rest of their line gives the same text
// as decoding the whole stream, because the bytes the parser cuts at (CR, LF,
// ':' and ' ') are ASCII, and an ASCII byte always ends an ill-formed
// sequence and is then decoded as itself.
func appendUTF8(dst, src []byte) []byte {
	if utf8.Valid(src) {
		return append(dst, src...)
	}
	for i := 0; i < len(src); {
		b := src[i]
		if b < utf8.RuneSelf {
			dst = append(dst, b)
			i++
			continue
		}
		// The decoder's "UTF-8 bytes needed" and its lower and upper
		// boundaries for the first continuation byte.
		need, lo, hi := 0, byte(0x80), byte(0xBF)
		switch {
		case 0xC2 <= b && b <= 0xDF:
			need = 1
		case 0xE0 <= b && b <= 0xEF:
			need = 2
			if b == 0xE0 {
				lo = 0xA0
			} else if b == 0xED {
				hi = 0x9F
			}
		case 0xF0 <= b && b <= 0xF4:
			need = 3
			if b == 0xF0 {
				lo = 0x90
			} else if b == 0xF4 {
				hi = 0x8F
			}
		}
		j := i + 1
		for ; need > 0; need-- {
			if j == len(src) || src[j] < lo || src[j] > hi {
				break // src[j] is not consumed: it is decoded afresh.
			}
			lo, hi = 0x80, 0xBF
			j++
		}
		if need > 0 || j == i+1 {
			// An invalid lead byte (need was 0 and j == i+1), or a sequence
			// cut short by the end of input or an unexpected byte.
			dst = append(dst, replacement...)
		} else {
			dst = append(dst, src[i:j]...)
		}
		i = j
	}
	return dst
}
