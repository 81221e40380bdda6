package server

import (
	"fmt"
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
func writeAuthError(w http.ResponseWriter, err error) {
	status, challenge := auth.Challenge(err, "")
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
// origin of its Referer, must be the hub's own or one of PublishOrigins;
// a request with neither header is refused.
func (s *Server) allowedPublishOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		if ref, err := url.Parse(r.Referer()); err == nil && ref.Host != "" {
			origin = ref.Scheme + "://" + ref.Host
		}
	}
	u, err := url.Parse(origin)
	if origin == "" || err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	if hub, err := url.Parse(s.cfg.HubURL); err == nil && hub.Host != "" && strings.EqualFold(hub.Scheme+"://"+hub.Host, origin) {
		return true
	}
	return slices.Contains(s.cfg.PublishOrigins, origin)
}
