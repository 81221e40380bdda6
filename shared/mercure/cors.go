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

// What a hub's answer to a preflight allows, on the hub endpoint and the
// subscription API alike: the methods (GET subscribes or reads the API,
// POST publishes), the request headers a client sends (Last-Event-ID on a
// resume, Cache-Control from EventSource polyfills), and how long a
// browser may keep the answer.
const (
	PreflightMethods = "GET, POST, OPTIONS"
	PreflightHeaders = "Authorization, Content-Type, Last-Event-ID, Cache-Control"
	PreflightMaxAge  = "600"
)

// Preflight answers a CORS preflight request (an OPTIONS with this Origin)
// whose answer already has Set's headers: for an allowed origin it sets
// the Access-Control-Allow-Methods, -Headers and -Max-Age of the hub and
// returns 204; for another it returns 403 and the refusal's text, which
// names setting, the option listing the origins.
func (c CORS) Preflight(h http.Header, origin, setting string) (status int, refusal string) {
	if allow, _ := c.Allow(origin); allow == "" {
		return http.StatusForbidden, fmt.Sprintf("origin %.200q is not allowed: the hub's CORS origins (%s) do not list it", origin, setting)
	}
	h.Set("Access-Control-Allow-Methods", PreflightMethods)
	h.Set("Access-Control-Allow-Headers", PreflightHeaders)
	h.Set("Access-Control-Max-Age", PreflightMaxAge)
	return http.StatusNoContent, ""
}
