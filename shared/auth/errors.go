package auth

import (
	"errors"
	"strings"
)

// The errors of this package. Each says what was wrong with the request or
// token and what to send instead, so an HTTP layer may show it to the client;
// [Challenge] maps them to a status code and a WWW-Authenticate header.
var (
	ErrNoToken             = errors.New(`auth: no access token: send "Authorization: Bearer <token>" or the ` + CookieName + " (or " + LegacyCookieName + ") cookie")
	ErrAuthorizationHeader = errors.New(`auth: Authorization header is not "Bearer <token>": send one Bearer scheme, one space and a base64url JWS`)
	ErrTooLarge            = errors.New("auth: access token exceeds the hub's size limit: send a token with fewer grants")
	ErrMalformed           = errors.New("auth: access token is not a JWT in JWS compact serialization: send base64url header.payload.signature")
	ErrClaimType           = errors.New("auth: access token has a claim of the wrong JSON type: send each registered claim with the type RFC 7519 gives it")
	ErrCritical            = errors.New(`auth: access token header lists "crit" extensions this hub does not understand: send a token without "crit"`)
	ErrTokenType           = errors.New(`auth: access token typ is not a JWT access token: send a token with typ "at+jwt" (RFC 9068)`)
	ErrAlgorithm           = errors.New(`auth: access token alg is not accepted by this hub: sign with the algorithm of a configured key ("none" is never accepted)`)
	ErrUnknownKey          = errors.New("auth: access token kid names no key trusted by this hub: sign with one of the hub's configured keys")
	ErrSignature           = errors.New("auth: access token signature does not verify: sign with the key the hub is configured with")
	ErrExpired             = errors.New("auth: access token has expired (exp): send a fresh token")
	ErrNoExpiry            = errors.New("auth: access token has no exp claim: send a short-lived token with exp")
	ErrNotYetValid         = errors.New("auth: access token is not valid yet (nbf): send a token whose nbf has passed")
	ErrAudience            = errors.New("auth: access token aud does not name this hub: send a token whose aud includes the hub's resource identifier")
	ErrIssuer              = errors.New("auth: access token iss is not this hub's trusted issuer: send a token from the configured issuer")
	ErrInvalidClaim        = errors.New(`auth: access token grants are malformed: send authorization_details entries with "actions" strings and "topics" objects {"match", "match_type": "exact"|"urlpattern"}`)
	ErrNoMercureClaim      = errors.New(`auth: access token carries no Mercure grant: add an authorization_details entry of type "` + DetailType + `" (or a "mercure" claim)`)
	ErrPublishForbidden    = errors.New(`auth: access token does not grant publish: send a token whose grants include "publish" for every topic of the update`)
	ErrSubscribeForbidden  = errors.New(`auth: access token does not grant subscribe on this resource: send a token whose "subscribe" grants match the requested path`)
	ErrKey                 = errors.New("auth: unusable key: configure an HS256 secret of at least 32 bytes, an RSA public key of at least 2048 bits, a P-256 public key, or a JWKS holding such keys")
	ErrConfig              = errors.New("auth: invalid verifier config: set at least one key, and Audience and Issuer when RequireAccessToken is set")
)

// The RFC 6750 error codes that [Challenge] puts in a WWW-Authenticate
// header (Mercure "Error Responses").
const (
	BearerInvalidRequest    = "invalid_request"
	BearerInvalidToken      = "invalid_token"
	BearerInsufficientScope = "insufficient_scope"
)

// Challenge returns the HTTP status code and the WWW-Authenticate header
// value for an error of this package, as the Mercure "Error Responses"
// section requires: 401 with a bare challenge when no token was sent, 400
// invalid_request for a malformed Authorization header, 403
// insufficient_scope for a valid token that grants too little, and 401
// invalid_token for every other token failure. Unknown errors count as
// invalid tokens. A nil err gives 200 and no header. resourceMetadata, when
// not empty, is the hub's RFC 9728 protected resource metadata URL and is
// added as the resource_metadata parameter unless it holds control
// characters.
func Challenge(err error, resourceMetadata string) (status int, wwwAuthenticate string) {
	var code string
	switch {
	case err == nil:
		return 200, ""
	case errors.Is(err, ErrNoToken):
		status = 401
	case errors.Is(err, ErrAuthorizationHeader):
		status, code = 400, BearerInvalidRequest
	case errors.Is(err, ErrNoMercureClaim), errors.Is(err, ErrPublishForbidden), errors.Is(err, ErrSubscribeForbidden):
		status, code = 403, BearerInsufficientScope
	default:
		status, code = 401, BearerInvalidToken
	}
	var b strings.Builder
	b.WriteString("Bearer")
	sep := " "
	if code != "" {
		b.WriteString(sep + `error="` + code + `"`)
		sep = ", "
	}
	if resourceMetadata != "" && !strings.ContainsFunc(resourceMetadata, isControl) {
		b.WriteString(sep + "resource_metadata=" + quote(resourceMetadata))
	}
	return status, b.String()
}

// isControl reports whether r may not appear in a header value.
func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// quote returns s as an RFC 9110 quoted-string.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}
