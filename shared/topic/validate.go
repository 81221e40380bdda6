package topic

import (
	"unicode"
	"unicode/utf8"
)

// validValue reports whether s satisfies the constraints Mercure puts on
// topics and topic matcher values (§"Terminology", §"Subscription"): valid
// UTF-8 without C0 (U+0000-U+001F) or C1 (U+0080-U+009F) control characters,
// U+007F, or format characters (general category Cf).
func validValue(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c <= 0x1F || c == 0x7F {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return false
		}
		if r <= 0x9F || unicode.Is(unicode.Cf, r) {
			return false
		}
		i += size
	}
	return true
}
