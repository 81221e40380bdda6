package topic

import (
	"strings"

	"github.com/edge-sse/edge-sse/shared/topic/internal/whatwgurl"
)

// CheckTopic reports whether topic may be published (§"Publication"). It
// returns ErrInvalidChar if topic breaks the character constraints of
// §"Terminology", ErrWildcardTopic if it is "*", and ErrReservedTopic if it
// addresses the hub's reserved namespace: resolved against the hub's URL
// with the WHATWG URL parser (which removes dot-segments, "%2e" forms
// included) and with percent-encoded unreserved characters decoded, its path
// equals the hub URL's path or starts with it followed by "/", whatever the
// scheme and authority. A topic that is not a URL reference is not reserved.
func (c *Compiler) CheckTopic(topic string) error {
	if !validValue(topic) {
		return ErrInvalidChar
	}
	if topic == "*" {
		return ErrWildcardTopic
	}
	u, err := whatwgurl.Parse(topic, c.base)
	if err != nil || u.HasOpaquePath {
		return nil
	}
	hubPath := decodeUnreserved(c.base.PathString())
	if len(hubPath) > 1 {
		// A hub URL written with a trailing slash names the same namespace.
		hubPath = strings.TrimSuffix(hubPath, "/")
	}
	path := decodeUnreserved(u.PathString())
	if path == hubPath || strings.HasPrefix(path, hubPath+"/") {
		return ErrReservedTopic
	}
	return nil
}

// decodeUnreserved decodes the percent-encoded octets of s that are
// unreserved characters (RFC 3986 §2.3).
func decodeUnreserved(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if c, ok := unhex2(s[i+1], s[i+2]); ok && isUnreserved(c) {
				b.WriteByte(c)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func unhex2(hi, lo byte) (byte, bool) {
	h, ok1 := unhex(hi)
	l, ok2 := unhex(lo)
	return h<<4 | l, ok1 && ok2
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c|0x20 >= 'a' && c|0x20 <= 'f':
		return c | 0x20 - 'a' + 10, true
	}
	return 0, false
}

func isUnreserved(c byte) bool {
	return (c|0x20 >= 'a' && c|0x20 <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~'
}
