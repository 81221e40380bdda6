package mercure

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// CORS is a hub's cross-origin policy (Fetch Standard §"CORS protocol"):
// the origins whose pages may read its answers. "*" allows any origin
// without credentials; an origin named explicitly is echoed and allowed
// with credentials, as §"Subscription" requires for the authorization
// cookie (never "*", and never an arbitrary reflected origin, on a
// credentialed endpoint). Its zero value allows no origin.
type CORS struct {
	origins []string
	any     bool
}

// ParseCORS parses a comma-separated list of origins (scheme://host[:port])
// and "*"; spaces around entries and empty entries are ignored.
func ParseCORS(list string) (CORS, error) {
	var c CORS
	for o := range strings.SplitSeq(list, ",") {
		o = strings.TrimSpace(o)
		switch {
		case o == "":
		case o == "*":
			c.any = true
		default:
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
				(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
				return CORS{}, fmt.Errorf("CORS origin %q is not \"*\" or scheme://host[:port]", o)
			}
			// An Origin header is the serialized origin: no trailing "/".
			c.origins = append(c.origins, strings.TrimSuffix(o, "/"))
		}
	}
	return c, nil
}

// Allow returns the Access-Control-Allow-Origin value for a request's
// Origin header ("" for none: the request's origin is not allowed), and
// whether Access-Control-Allow-Credentials: true goes with it. With "*" in
// the list, a request without Origin (not a cross-origin fetch) gets "*"
// too.
func (c CORS) Allow(origin string) (allow string, credentials bool) {
	switch {
	case origin != "" && slices.Contains(c.origins, origin):
		return origin, true
	case c.any:
		return "*", false
	}
	return "", false
}

// Set sets the CORS headers of an answer to a request with this Origin:
// Access-Control-Allow-Origin and, for an origin named in the list,
// Access-Control-Allow-Credentials; and Vary: Origin whenever origins are
// named, since the answer then depends on it.
func (c CORS) Set(h http.Header, origin string) {
	if len(c.origins) > 0 {
		h.Add("Vary", "Origin")
	}
	allow, credentials := c.Allow(origin)
	if allow == "" {
		return
	}
	h.Set("Access-Control-Allow-Origin", allow)
	if credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}
