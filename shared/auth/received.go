package auth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The names of the claims that may carry legacy Mercure grants.
const (
	legacyClaim     = "mercure"
	namespacedClaim = "https://mercure.rocks/"
)

// receivedClaims is the JSON claims set of a token as Verify reads it. Every
// claim is kept raw, so that golang-jwt decodes any JSON object without
// looking at the claims' types: a claim of the wrong type is then reported
// by name ([ErrClaimType]) after the signature verified, instead of making
// the whole token look malformed before it.
type receivedClaims struct {
	Issuer     json.RawMessage `json:"iss"`
	Subject    json.RawMessage `json:"sub"`
	Audience   json.RawMessage `json:"aud"`
	ExpiresAt  json.RawMessage `json:"exp"`
	NotBefore  json.RawMessage `json:"nbf"`
	IssuedAt   json.RawMessage `json:"iat"`
	ID         json.RawMessage `json:"jti"`
	ClientID   json.RawMessage `json:"client_id"`
	Details    json.RawMessage `json:"authorization_details"`
	Mercure    json.RawMessage `json:"mercure"`
	Namespaced json.RawMessage `json:"https://mercure.rocks/"`
}

// The jwt.Claims methods. The parser's claim validation is off (Verify
// checks the claims itself), so they are never asked for a value.
func (*receivedClaims) GetExpirationTime() (*jwt.NumericDate, error) { return nil, nil }
func (*receivedClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return nil, nil }
func (*receivedClaims) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (*receivedClaims) GetIssuer() (string, error)                   { return "", nil }
func (*receivedClaims) GetSubject() (string, error)                  { return "", nil }
func (*receivedClaims) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }

// What a registered claim must be (RFC 7519 section 4.1, RFC 9068 section
// 2.2 for client_id).
const (
	wantString      = "a string"
	wantAudience    = "a string or an array of strings"
	wantNumericDate = "a number (NumericDate: seconds since 1970-01-01T00:00:00Z)"
)

// registered decodes the registered claims into a Claims, failing with
// [ErrClaimType] naming the first claim of the wrong type. A claim that is
// absent or null counts as not set.
func (r *receivedClaims) registered() (*Claims, error) {
	c := &Claims{}
	for _, s := range []struct {
		name string
		raw  json.RawMessage
		dst  *string
	}{{"iss", r.Issuer, &c.Issuer}, {"sub", r.Subject, &c.Subject}, {"jti", r.ID, nil}, {"client_id", r.ClientID, nil}} {
		var v string
		if !isNull(s.raw) && json.Unmarshal(s.raw, &v) != nil {
			return nil, claimTypeError(s.name, wantString, s.raw)
		}
		if s.dst != nil {
			*s.dst = v
		}
	}
	if !isNull(r.Audience) {
		var aud jwt.ClaimStrings
		if aud.UnmarshalJSON(r.Audience) != nil {
			return nil, claimTypeError("aud", wantAudience, r.Audience)
		}
		c.Audience = aud
	}
	for _, d := range []struct {
		name string
		raw  json.RawMessage
		dst  *time.Time
	}{{"exp", r.ExpiresAt, &c.ExpiresAt}, {"nbf", r.NotBefore, &c.NotBefore}, {"iat", r.IssuedAt, nil}} {
		var t jwt.NumericDate
		if isNull(d.raw) {
			continue
		}
		if t.UnmarshalJSON(d.raw) != nil {
			return nil, claimTypeError(d.name, wantNumericDate, d.raw)
		}
		if d.dst != nil {
			*d.dst = t.Time
		}
	}
	return c, nil
}

// claimTypeError is the [ErrClaimType] of a claim that is not what it must
// be.
func claimTypeError(name, want string, raw json.RawMessage) error {
	return fmt.Errorf("%w: claim %q must be %s, not %s", ErrClaimType, name, want, jsonKind(raw))
}

// jsonKind names the JSON type of a raw value, with an article, for an
// error message.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "empty"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		var elems []json.RawMessage
		if json.Unmarshal(raw, &elems) == nil {
			for _, e := range elems {
				if k := jsonKind(e); k != "a string" {
					return "an array holding " + k
				}
			}
		}
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}
