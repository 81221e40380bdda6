package whatwgurl

import "testing"

// Sample strings of RFC 3492 §7.1.
var punycodeSamples = []struct {
	name    string
	unicode string
	puny    string
}{
	{"Arabic", "\u0644\u064A\u0647\u0645\u0627\u0628\u062A\u0643\u0644\u0645\u0648\u0634\u0639\u0631\u0628\u064A\u061F", "egbpdaj6bu4bxfgehfvwxn"},
	{"Chinese (simplified)", "\u4ED6\u4EEC\u4E3A\u4EC0\u4E48\u4E0D\u8BF4\u4E2D\u6587", "ihqwcrb4cv8a8dqg056pqjye"},
	{"Czech", "Pro\u010Dprost\u011Bnemluv\u00ED\u010Desky", "Proprostnemluvesky-uyb24dma41a"},
	{"Japanese", "\u3072\u3068\u3064\u5C4B\u6839\u306E\u4E0B2", "2-u9tlzr9756bt3uc0v"},
	{"Russian", "\u043F\u043E\u0447\u0435\u043C\u0443\u0436\u0435\u043E\u043D\u0438\u043D\u0435\u0433\u043E\u0432\u043E\u0440\u044F\u0442\u043F\u043E\u0440\u0443\u0441\u0441\u043A\u0438", "b1abfaaepdrnnbgefbadotcwatmq2g4l"},
	{"German", "bücher", "bcher-kva"},
}

func TestPunycode(t *testing.T) {
	for _, tc := range punycodeSamples {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := punycodeEncode([]rune(tc.unicode))
			if !ok || got != tc.puny {
				t.Errorf("encode = %q, %v; want %q", got, ok, tc.puny)
			}
			dec, ok := punycodeDecode(tc.puny)
			if !ok || string(dec) != tc.unicode {
				t.Errorf("decode = %q, %v; want %q", string(dec), ok, tc.unicode)
			}
		})
	}
	for _, bad := range []string{"é-abc", "abc-!", "99999999999", "a-zzzzzzzzzzzz"} {
		if r, ok := punycodeDecode(bad); ok && len(r) > 0 && r[len(r)-1] > 0x10FFFF {
			t.Errorf("decode(%q) = %q", bad, string(r))
		}
	}
}

func TestDomainToASCII(t *testing.T) {
	cases := []struct {
		name   string
		domain string
		want   string
		ok     bool
	}{
		{"lowercased", "EXAMPLE.com", "example.com", true},
		{"A-label", "xn--bcher-kva.example", "xn--bcher-kva.example", true},
		{"A-label uppercase", "XN--BCHER-KVA.example", "xn--bcher-kva.example", true},
		{"A-label of ASCII", "xn--abc-.example", "", false},
		{"empty A-label", "xn--.example", "", false},
		{"bad Punycode", "xn--bcher-!.example", "", false},
		{"Unicode fails closed", "bücher.example", "", false},
		{"forbidden code point", "exa%mple.com", "", false},
		{"underscore allowed", "a_b.example", "a_b.example", true},
		{"trailing dot kept", "example.com.", "example.com.", true},
		{"empty label kept", "a..b", "a..b", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := domainToASCII(tc.domain)
			if ok != tc.ok || got != tc.want {
				t.Errorf("domainToASCII(%q) = %q, %v; want %q, %v", tc.domain, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// FuzzParse checks that parsing never panics and that a parsed URL's
// serialization parses back to the same serialization (URL Standard §4.5).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"https://example.com/books/1?x#y", "/books/1", "urn:uuid:1", "file:///C|/a", "http://[::1]:80/",
		"http://0x7f.1/", "https://u:p@h/p", "foo://h/ a?b#c", "../a/./b/%2e%2E/c", "xn--bcher-kva.example",
	} {
		f.Add(s)
	}
	base, err := Parse("https://example.com/.well-known/mercure", nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, input string) {
		u, err := Parse(input, base)
		if err != nil {
			return
		}
		s := u.String()
		again, err := Parse(s, nil)
		if err != nil {
			t.Fatalf("Parse(%q) = %q, which does not parse: %v", input, s, err)
		}
		if again.String() != s {
			t.Fatalf("Parse(%q) = %q, reparsed as %q", input, s, again.String())
		}
	})
}
