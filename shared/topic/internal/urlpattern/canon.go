package urlpattern

import (
	"errors"
	"strings"

	"github.com/edge-sse/edge-sse/shared/topic/internal/whatwgurl"
)

// errCanonicalize is the TypeError an encoding callback throws.
var errCanonicalize = errors.New("pattern text is not valid in its URL component")

// The encoding callbacks of URL Pattern Standard §3.1 "Encoding callbacks".

func canonicalizeProtocol(v string) (string, error) {
	if v == "" {
		return v, nil
	}
	u, err := whatwgurl.Parse(v+"://dummy.invalid/", nil)
	if err != nil {
		return "", errCanonicalize
	}
	return u.Scheme, nil
}

func canonicalizeUsername(v string) (string, error) {
	if v == "" {
		return v, nil
	}
	u := whatwgurl.Dummy()
	u.SetUsername(v)
	return u.Username, nil
}

func canonicalizePassword(v string) (string, error) {
	if v == "" {
		return v, nil
	}
	u := whatwgurl.Dummy()
	u.SetPassword(v)
	return u.Password, nil
}

func canonicalizeHostname(v string) (string, error) {
	if v == "" {
		return v, nil
	}
	u := whatwgurl.Dummy()
	if err := whatwgurl.ParseOverride(v, u, whatwgurl.StateHostname); err != nil {
		return "", errCanonicalize
	}
	return u.HostString(), nil
}

func canonicalizeIPv6Hostname(v string) (string, error) {
	var b strings.Builder
	for _, c := range v {
		isHex := (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'f')
		if !isHex && c != '[' && c != ']' && c != ':' {
			return "", errCanonicalize
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteRune(c)
	}
	return b.String(), nil
}

// canonicalizePort is "canonicalize a port" without a protocol value, as an
// encoding callback calls it.
func canonicalizePort(v string) (string, error) {
	return canonicalizePortFor(v, nil)
}

func canonicalizePortFor(v string, protocol *string) (string, error) {
	if v == "" {
		return v, nil
	}
	u := whatwgurl.Dummy()
	if protocol != nil {
		u.Scheme = *protocol
	}
	if err := whatwgurl.ParseOverride(v, u, whatwgurl.StatePort); err != nil {
		return "", errCanonicalize
	}
	return u.PortString(), nil
}

func canonicalizePathname(v string) (string, error) {
	if v == "" {
		return v, nil
	}
	leadingSlash := v[0] == '/'
	modified := v
	if !leadingSlash {
		modified = "/-" + v
	}
	u := whatwgurl.Dummy()
	u.Path = nil
	_ = whatwgurl.ParseOverride(modified, u, whatwgurl.StatePathStart)
	result := u.PathString()
	if !leadingSlash {
		// The "/-" put in front can be consumed by a ".." segment, leaving
		// less than two code points to strip.
		result = result[min(2, len(result)):]
	}
	return result, nil
}

func canonicalizeOpaquePathname(v string) (string, error) {
	if v == "" {
		return v, nil
	}
	u := whatwgurl.Dummy()
	u.Path, u.HasOpaquePath, u.OpaquePath = nil, true, ""
	if err := whatwgurl.ParseOverride(v, u, whatwgurl.StateOpaquePath); err != nil {
		return "", errCanonicalize
	}
	return u.PathString(), nil
}

func canonicalizeSearch(v string) (string, error) {
	if v == "" {
		return v, nil
	}
	u := whatwgurl.Dummy()
	u.Query, u.HasQuery = "", true
	_ = whatwgurl.ParseOverride(v, u, whatwgurl.StateQuery)
	return u.Query, nil
}

func canonicalizeHash(v string) (string, error) {
	if v == "" {
		return v, nil
	}
	u := whatwgurl.Dummy()
	u.Fragment, u.HasFragment = "", true
	_ = whatwgurl.ParseOverride(v, u, whatwgurl.StateFragment)
	return u.Fragment, nil
}
