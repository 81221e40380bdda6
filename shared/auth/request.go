package auth

import "strings"

// CookieName is the authorization cookie name the Mercure spec recommends
// (section "Cookie").
const CookieName = "__Secure-mercure_access_token"

// LegacyCookieName is the authorization cookie name of pre-standardization
// Mercure hubs, still set by deployed applications ("Changes from
// Pre-Standardization Deployments").
const LegacyCookieName = "mercureAuthorization"

// bearerScheme is the RFC 6750 authentication scheme, matched
// case-insensitively (RFC 9110 section 11.1).
const bearerScheme = "bearer"

// TokenFromRequest returns the access token of a request, given the value of
// its Authorization header and of its Cookie header, either of which may be
// empty. Several Cookie headers may be joined with "; " or, as the Fetch
// standard's Headers join them (a Cloudflare Worker sees them so), with
// ", ": a comma cannot occur in a cookie (RFC 6265 section 4.1.1), so both
// separate cookies. It follows the Mercure
// section "Presenting the Access Token": a non-empty Authorization header
// must be "Bearer <token>" and wins, and cookies are then ignored; otherwise
// the first non-empty cookie named in cookieNames is used, trying the names
// in order. With no cookieNames it tries [CookieName], then
// [LegacyCookieName]. It returns [ErrAuthorizationHeader] for an
// Authorization header of another form and [ErrNoToken] when neither source
// holds a token. An HTTP layer that receives several Authorization headers
// should refuse the request with [ErrAuthorizationHeader] instead of calling
// TokenFromRequest.
func TokenFromRequest(authorization, cookie string, cookieNames ...string) (string, error) {
	if authorization != "" {
		return bearerToken(authorization)
	}
	if len(cookieNames) == 0 {
		cookieNames = []string{CookieName, LegacyCookieName}
	}
	for _, name := range cookieNames {
		if v := cookieValue(cookie, name); v != "" {
			return v, nil
		}
	}
	return "", ErrNoToken
}

// bearerToken returns the token of an Authorization header value of the
// form "Bearer <b64token>" (RFC 6750 section 2.1).
func bearerToken(h string) (string, error) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, bearerScheme) {
		return "", ErrAuthorizationHeader
	}
	token = strings.Trim(token, " \t")
	if !isB64Token(token) {
		return "", ErrAuthorizationHeader
	}
	return token, nil
}

// isB64Token reports whether s matches the RFC 6750 b64token rule:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return false
		}
	}
	return true
}

// cookieValue returns the value of the first cookie called name in a Cookie
// header (RFC 6265 section 5.4), without surrounding double quotes, or ""
// when there is none. Cookies are separated by ";", and by the ", " with
// which Fetch's Headers.get joins several Cookie headers (what a Worker
// sees). A bare "," stays in the value: no valid cookie value holds one,
// so "name=,garbage" is a malformed token, not an empty cookie.
func cookieValue(header, name string) string {
	for header != "" {
		pair := header
		if i, n := nextCookie(header); i >= 0 {
			pair, header = header[:i], header[i+n:]
		} else {
			header = ""
		}
		k, v, ok := strings.Cut(pair, "=")
		if !ok || strings.TrimSpace(k) != name {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		return v
	}
	return ""
}

// nextCookie returns the index and length of the first cookie separator in
// h ("; " or ";" or ", "), or -1.
func nextCookie(h string) (int, int) {
	semi := strings.IndexByte(h, ';')
	comma := strings.Index(h, ", ")
	switch {
	case comma >= 0 && (semi < 0 || comma < semi):
		return comma, 2
	case semi >= 0:
		return semi, 1
	}
	return -1, 0
}
