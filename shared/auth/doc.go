// Package auth verifies and signs the JWT access tokens that authorize
// Mercure publishers and subscribers, for both the origin hub (native Go) and
// the edge hub (Go on js/wasm). It takes raw header strings and returns plain
// values, so it needs no HTTP server types.
//
// Section names below are those of the Mercure spec, draft-dunglas-mercure-08
// ("spec/mercure.md" in github.com/dunglas/mercure).
//
// # Presenting the token
//
// [TokenFromRequest] follows "Presenting the Access Token": an Authorization
// header with the Bearer scheme wins, and any cookie is then ignored; without
// that header the cookie is used. The cookie is [CookieName], the spec's
// "__Secure-mercure_access_token", or else [LegacyCookieName],
// "mercureAuthorization", which deployed hubs and clients still use. The
// "authorization" and "access_token" URI query parameters are not accepted:
// the spec and RFC 9700 forbid tokens in URLs.
//
// # Two claim shapes
//
// The current spec grants rights with the RFC 9396 authorization_details
// claim ("Authorization Details"):
//
//	{"authorization_details": [{"type": "https://mercure.rocks/authorization-detail",
//	  "actions": ["subscribe"], "topics": [{"match": "https://example.com/books/:id",
//	  "match_type": "urlpattern"}], "payload": {"tenant": "a"}}]}
//
// Publishers deployed today (Symfony, API Platform, Laravel) send the
// pre-standardization mercure claim ("Changes from Pre-Standardization
// Deployments"):
//
//	{"mercure": {"publish": ["*"], "subscribe": ["https://example.com/books/{id}"], "payload": {}}}
//
// [Verifier.Verify] reads both into one [Claims] value, and reports which
// one it found in [Claims.Form]. Like the reference hub, it reads the mercure
// claim only when the token has no authorization_details entries. Because a
// current-spec topic matcher has a type (exact or urlpattern), grants are
// [Matcher] values rather than bare strings: an exact grant on
// "https://example.com/books/:id" must not be read as a pattern. Matching
// topics against grants is the job of the topic package, not of this one.
//
// # Validation
//
// By default a [Verifier] is compatible with deployed publishers: exp, aud
// and iss are checked when present or configured, and the typ header may be
// absent, "JWT" or "at+jwt". With [Config.RequireAccessToken] it enforces the
// spec's "Token Validation" profile (RFC 9068): typ at+jwt, exp, aud and iss
// required, and the legacy mercure claim ignored. In both modes the accepted
// algorithms are those of the configured keys, never the token's choice
// (RFC 8725): "none" is always refused, and each key is bound to one
// algorithm, so a public key can never be used as an HMAC secret. A hub
// that keeps publisher and subscriber keys apart, as the spec recommends,
// or trusts several issuers, builds one Verifier per role or issuer.
//
// Claims are read only after the signature verifies. A signed token whose
// registered claim has the wrong JSON type (an aud that is a number, an exp
// that is a word) is refused with [ErrClaimType], whose message names the
// claim and the type it must have; a mercure or authorization_details claim
// of the wrong shape is refused with [ErrInvalidClaim], named likewise.
package auth
