package whatwgurl

import (
	"strings"
	"unicode/utf8"
)

// parseHost implements the host parser (URL Standard §3.5 "Host parsing"). It
// returns the kind of host and its serialization.
func parseHost(input string, isOpaque bool) (HostKind, string, bool) {
	if strings.HasPrefix(input, "[") {
		if len(input) < 2 || !strings.HasSuffix(input, "]") {
			return HostNull, "", false
		}
		addr, ok := parseIPv6(input[1 : len(input)-1])
		if !ok {
			return HostNull, "", false
		}
		return HostIPv6, "[" + serializeIPv6(addr) + "]", true
	}
	if isOpaque {
		return parseOpaqueHost(input)
	}
	if input == "" {
		return HostNull, "", false
	}
	decoded := percentDecode(input)
	// Domain to ASCII fails on U+FFFD, which is what UTF-8 decoding turns an
	// invalid sequence into, so invalid UTF-8 can fail early.
	if !utf8.Valid(decoded) {
		return HostNull, "", false
	}
	ascii, ok := domainToASCII(string(decoded))
	if !ok {
		return HostNull, "", false
	}
	if endsInANumber(ascii) {
		v, ok := parseIPv4(ascii)
		if !ok {
			return HostNull, "", false
		}
		return HostIPv4, serializeIPv4(v), true
	}
	return HostDomain, ascii, true
}

// domainToASCII implements "domain to ASCII" with beStrict set to false (URL
// Standard §3.3 "IDNA").
func domainToASCII(domain string) (string, bool) {
	var result string
	if isASCII(domain) && !hasACELabel(domain) {
		// The standard says this is what UTS #46 ToASCII amounts to here.
		result = asciiLowerString(domain)
	} else {
		var ok bool
		if result, ok = idnaToASCII(domain); !ok {
			return "", false
		}
	}
	if result == "" {
		return "", false
	}
	for i := range len(result) {
		if isForbiddenDomainCodePoint(result[i]) {
			return "", false
		}
	}
	return result, true
}

// hasACELabel reports whether a label of s starts with an ASCII
// case-insensitive "xn--".
func hasACELabel(s string) bool {
	for label := range strings.SplitSeq(s, ".") {
		if len(label) >= 4 && strings.EqualFold(label[:4], "xn--") {
			return true
		}
	}
	return false
}

// parseOpaqueHost implements the opaque-host parser (URL Standard §3.5).
func parseOpaqueHost(input string) (HostKind, string, bool) {
	for i := range len(input) {
		if isForbiddenHostCodePoint(input[i]) {
			return HostNull, "", false
		}
	}
	if input == "" {
		return HostEmpty, "", true
	}
	return HostOpaque, percentEncodeString(input, &c0ControlSet), true
}

// isForbiddenHostCodePoint reports whether c is a forbidden host code point
// (URL Standard §3.2 "Host miscellaneous").
func isForbiddenHostCodePoint(c byte) bool {
	switch c {
	case 0, '\t', '\n', '\r', ' ', '#', '/', ':', '<', '>', '?', '@', '[', '\\', ']', '^', '|':
		return true
	}
	return false
}

// isForbiddenDomainCodePoint reports whether c is a forbidden domain code
// point.
func isForbiddenDomainCodePoint(c byte) bool {
	return isForbiddenHostCodePoint(c) || c <= 0x1F || c == '%' || c == 0x7F
}

// endsInANumber implements the ends in a number checker (URL Standard §3.5).
func endsInANumber(s string) bool {
	parts := strings.Split(s, ".")
	if parts[len(parts)-1] == "" {
		if len(parts) == 1 {
			return false
		}
		parts = parts[:len(parts)-1]
	}
	last := parts[len(parts)-1]
	if last != "" && strings.Trim(last, "0123456789") == "" {
		return true
	}
	_, ok := parseIPv4Number(last)
	return ok
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func asciiLowerString(s string) string {
	for i := range len(s) {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
