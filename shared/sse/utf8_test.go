package sse_test

import (
	"testing"

	"github.com/edge-sse/edge-sse/shared/sse"
)

// utf8Cases are decoder vectors for the WHATWG Encoding Standard's UTF-8
// decoder (§4.1), which replaces each maximal ill-formed subpart with one
// U+FFFD (the Unicode Standard's recommended practice, §3.9).
var utf8Cases = []struct {
	name, in, want string
}{
	{"empty", "", ""},
	{"ASCII", "data", "data"},
	{"two bytes", "\xC3\xA9", "é"},
	{"three bytes", "\xE2\x80\xA6", "…"},
	{"four bytes", "\xF0\x9F\x98\x80", "😀"},
	{"lone continuation", "\x80", "\uFFFD"},
	{"two continuations", "\x80\xBF", "\uFFFD\uFFFD"},
	{"invalid lead C0", "\xC0\x80", "\uFFFD\uFFFD"},
	{"invalid lead C1", "\xC1\xBF", "\uFFFD\uFFFD"},
	{"invalid lead F5", "\xF5\x80\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD"},
	{"invalid lead FF", "a\xFFb", "a\uFFFDb"},
	{"truncated 2 of 3", "\xE2\x80", "\uFFFD"},
	{"truncated 2 of 3 then ASCII", "\xE2\x80A", "\uFFFDA"},
	{"truncated 3 of 4", "\xF0\x9F\x98", "\uFFFD"},
	{"truncated then valid", "\xF0\x9F\xC3\xA9", "\uFFFDé"},
	{"truncated then colon", "\xE2:", "\uFFFD:"},
	{"overlong E0", "\xE0\x80\xAF", "\uFFFD\uFFFD\uFFFD"},
	{"overlong F0", "\xF0\x8F\xBF\xBF", "\uFFFD\uFFFD\uFFFD\uFFFD"},
	{"surrogate ED A0 80", "\xED\xA0\x80", "\uFFFD\uFFFD\uFFFD"},
	{"last before surrogates", "\xED\x9F\xBF", "\uD7FF"},
	{"above U+10FFFF", "\xF4\x90\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD"},
	{"U+10FFFF", "\xF4\x8F\xBF\xBF", "\U0010FFFF"},
	{"BOM is text here", "\xEF\xBB\xBF", "\uFEFF"},
}

func TestDecodeUTF8(t *testing.T) {
	for _, tc := range utf8Cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(sse.AppendUTF8(nil, []byte(tc.in))); got != tc.want {
				t.Errorf("decode %q = %q, want %q", tc.in, got, tc.want)
			}
			if got := refDecoder([]byte(tc.in)); got != tc.want {
				t.Errorf("reference decode %q = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
