package server

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/topic"
)

// credential is what a request's access token says, and where it came from.
type credential struct {
	claims *auth.Claims
	// fromCookie is set when the token came from a cookie rather than the
	// Authorization header, so a publish must pass the CSRF check.
	fromCookie bool
}

// authenticate reads the request's access token, from the Authorization
// header or else the cookie (Mercure §"Presenting the Access Token"), and
// verifies it with v (§"Token Validation"). Every error wraps one of the
// auth package's errors, for auth.Challenge; with no token it wraps
// auth.ErrNoToken.
func authenticate(r *http.Request, v *auth.Verifier) (credential, error) {
	headers := r.Header.Values("Authorization")
	if len(headers) > 1 {
		return credential{}, fmt.Errorf("%w: got %d Authorization headers", auth.ErrAuthorizationHeader, len(headers))
	}
	var authorization string
	if len(headers) == 1 {
		authorization = headers[0]
	}
	token, err := auth.TokenFromRequest(authorization, strings.Join(r.Header.Values("Cookie"), "; "))
	if err != nil {
		return credential{}, err
	}
	if v == nil {
		return credential{}, fmt.Errorf("%w: %w", auth.ErrUnknownKey, ErrNoVerifier)
	}
	c, err := v.Verify(token)
	if err != nil {
		return credential{}, err
	}
	return credential{claims: c, fromCookie: authorization == ""}, nil
}

// writeAuthError answers an authorization failure as Mercure §"Error
// Responses" asks: the status and WWW-Authenticate challenge of
// auth.Challenge (401 without an error code for a missing token, 400
// invalid_request for a malformed Authorization header, 401 invalid_token
// for a token that fails validation, 403 insufficient_scope for one that
// grants too little), and a body saying which check failed.
// The challenge names the hub's protected resource metadata (RFC 9728).
func (s *Server) writeAuthError(w http.ResponseWriter, r *http.Request, err error) {
	status, challenge := auth.Challenge(err, s.metadataURL(r))
	if challenge != "" {
		w.Header().Set("WWW-Authenticate", challenge)
	}
	httpError(w, status, err.Error())
}

// grantSet compiles a token's topic matchers (Mercure §"Topic Matcher
// List") into a topic.Set. A matcher that does not compile makes the whole
// token invalid (§"Authorization Details": no partial acceptance), so the
// error wraps auth.ErrInvalidClaim.
func (s *Server) grantSet(ms []auth.Matcher) (*topic.Set, error) {
	specs := make([]topic.Spec, len(ms))
	for i, m := range ms {
		specs[i] = topic.Spec{Kind: matcherKind(m.Type), Expr: m.Match}
	}
	set, err := s.grants.NewSet(specs...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", auth.ErrInvalidClaim, err)
	}
	return set, nil
}

// matcherKind maps a token matcher type to the topic package's kind: the
// legacy claim's bare selectors are pre-standardization topic selectors
// (exact or URI Template).
func matcherKind(t auth.MatchType) topic.Kind {
	switch t {
	case auth.MatchURLPattern:
		return topic.KindURLPattern
	case auth.MatchSelector:
		return topic.KindTopic
	default:
		return topic.KindExact
	}
}

// allowedPublishOrigin is the CSRF check of a publish authorized by cookie
// (Mercure §"Security Considerations"): the request's Origin, or else the
// origin of its Referer, must be the hub's own or one of PublishOrigins,
// compared as whole web origins (scheme, host and port; RFC 6454), so
// that http://hub.example.com or https://hub.example.com:8443 cannot
// publish as https://hub.example.com. The hub's own origins are HubURL's
// and the request's (its Host, with the scheme of the connection the
// origin received): behind a proxy that terminates TLS, or behind the
// edge, the browser's origin is known only through HubURL or
// PublishOrigins. A request with
// neither header is refused. The error says which origin was refused and
// which are accepted.
func (s *Server) allowedPublishOrigin(r *http.Request) error {
	header := "Origin"
	got := r.Header.Get("Origin")
	if got == "" {
		header = "Referer"
		if ref, err := url.Parse(r.Referer()); err == nil && ref.Host != "" {
			got = ref.Scheme + "://" + ref.Host
		}
	}
	if got == "" {
		return fmt.Errorf("%w: the request has neither an Origin nor a Referer header", ErrCrossOrigin)
	}
	origin, ok := webOrigin(got)
	if !ok {
		return fmt.Errorf("%w: %s %q is not scheme://host[:port]", ErrCrossOrigin, header, got)
	}
	allowed := s.publishOrigins(r)
	for _, a := range allowed {
		if a == origin {
			return nil
		}
	}
	return fmt.Errorf("%w: %s %s is not one of %s (the request's own origin, the hub URL's and --publish-origins)", ErrCrossOrigin, header, origin, strings.Join(allowed, ", "))
}

// publishOrigins returns the normalized origins a cookie-authorized
// publish may come from: the request's own (same-origin), HubURL's, then
// PublishOrigins.
func (s *Server) publishOrigins(r *http.Request) []string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	var out []string
	for _, o := range append([]string{scheme + "://" + r.Host, s.cfg.HubURL}, s.cfg.PublishOrigins...) {
		if n, ok := webOrigin(o); ok && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// webOrigin returns the origin of an absolute http(s) URL as
// scheme://host:port in lower case, with the scheme's default port made
// explicit, so that equal origins compare equal as strings.
func webOrigin(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	switch {
	case port != "":
	case scheme == "http":
		port = "80"
	case scheme == "https":
		port = "443"
	default:
		return "", false
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port), true
}
