package whatwgurl

import (
	"strings"
	"unicode/utf8"
)

// idnaToASCII stands in for UTS #46 ToASCII in "domain to ASCII" (URL
// Standard §3.3 "IDNA") when the domain is not plain ASCII without "xn--"
// labels, the case the standard itself reduces to ASCII lowercasing.
//
// Full UTS #46 needs the Unicode IDNA mapping, normalization and bidi tables
// (about 100 KB gzipped in js/wasm). This implementation carries no tables:
//
//   - A domain with any non-ASCII code point fails, so a topic such as
//     "https://bücher.example/" is never matched by a URL pattern, and a
//     pattern with such a hostname does not compile. Mercure §"Exact
//     Matching" asks publishers and subscribers to use IDNA-canonical hosts,
//     that is the "xn--" form, which is handled below.
//   - An ASCII domain is lowercased; each "xn--" label must decode as
//     Punycode to a non-empty, non-ASCII label and is re-encoded, as UTS #46
//     does. The per-code-point validity, NFC, bidi and joiner checks are not
//     made, so a malformed but decodable A-label is accepted.
func idnaToASCII(domain string) (string, bool) {
	if !isASCII(domain) {
		return "", false
	}
	labels := strings.Split(asciiLowerString(domain), ".")
	for i, label := range labels {
		if !strings.HasPrefix(label, "xn--") {
			continue
		}
		decoded, ok := punycodeDecode(label[len("xn--"):])
		if !ok || len(decoded) == 0 || isASCIIRunes(decoded) {
			return "", false
		}
		encoded, ok := punycodeEncode(decoded)
		if !ok {
			return "", false
		}
		labels[i] = "xn--" + encoded
	}
	return strings.Join(labels, "."), true
}

func isASCIIRunes(rs []rune) bool {
	for _, r := range rs {
		if r >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
