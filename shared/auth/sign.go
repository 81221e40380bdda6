package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Signer signs access tokens, for tests and for the command line that
// issues publisher and subscriber tokens.
type Signer struct {
	// Alg is HS256, RS256 or ES256.
	Alg string
	// Key is a secret of at least 32 bytes ([]byte) for HS256, an
	// *rsa.PrivateKey of at least 2048 bits for RS256, or an
	// *ecdsa.PrivateKey on P-256 for ES256.
	Key any
	// KeyID, when set, is sent as the kid header parameter.
	KeyID string
}

// wireClaims is the JSON claims set of an access token as Sign writes it.
type wireClaims struct {
	jwt.RegisteredClaims
	ClientID string          `json:"client_id,omitempty"`
	Details  json.RawMessage `json:"authorization_details,omitempty"`
	Mercure  json.RawMessage `json:"mercure,omitempty"`
}

// Sign signs c with key and alg, as [Signer.Sign] does, after setting
// c.ExpiresAt to now plus ttl when ttl is not zero.
func Sign(c Claims, key any, alg string, ttl time.Duration) (string, error) {
	if ttl != 0 {
		c.ExpiresAt = time.Now().Add(ttl)
	}
	return Signer{Alg: alg, Key: key}.Sign(c)
}

// Sign returns c as a signed JWT with iat set to now. With c.Form
// FormLegacy it writes the pre-standardization mercure claim and typ "JWT",
// the shape deployed hubs read; otherwise it writes the authorization_details
// claim of the Mercure section "Authorization Details" with typ "at+jwt", a
// random jti and client_id set to c.Issuer, as RFC 9068 asks. It fails with
// [ErrKey] when Key does not fit Alg and with [ErrInvalidClaim] when c holds
// a grant that the chosen form cannot carry or that Verify would refuse.
func (s Signer) Sign(c Claims) (string, error) {
	method, err := s.method()
	if err != nil {
		return "", err
	}
	w := wireClaims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer:   c.Issuer,
		Subject:  c.Subject,
		Audience: c.Audience,
		IssuedAt: jwt.NewNumericDate(time.Now()),
	}}
	if !c.ExpiresAt.IsZero() {
		w.ExpiresAt = jwt.NewNumericDate(c.ExpiresAt)
	}
	if !c.NotBefore.IsZero() {
		w.NotBefore = jwt.NewNumericDate(c.NotBefore)
	}
	typ := "at+jwt"
	if c.Form == FormLegacy {
		typ = "JWT"
		w.Mercure, err = c.legacyJSON()
	} else {
		w.ID, w.ClientID = rand.Text(), c.Issuer
		w.Details, err = c.detailsJSON()
	}
	if err != nil {
		return "", err
	}
	tok := jwt.NewWithClaims(method, &w)
	tok.Header["typ"] = typ
	if s.KeyID != "" {
		tok.Header["kid"] = s.KeyID
	}
	signed, err := tok.SignedString(s.Key)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrKey, err)
	}
	return signed, nil
}

// method returns the golang-jwt signing method of s.Alg after checking that
// s.Key fits it.
func (s Signer) method() (jwt.SigningMethod, error) {
	switch k := s.Key.(type) {
	case []byte:
		if s.Alg == HS256 && len(k) >= minHMACBytes {
			return jwt.SigningMethodHS256, nil
		}
	case *rsa.PrivateKey:
		if s.Alg == RS256 && k.N.BitLen() >= minRSABits {
			return jwt.SigningMethodRS256, nil
		}
	case *ecdsa.PrivateKey:
		if s.Alg == ES256 && k.Curve == elliptic.P256() {
			return jwt.SigningMethodES256, nil
		}
	}
	return nil, fmt.Errorf("%w: %T cannot sign %q", ErrKey, s.Key, s.Alg)
}

// topicJSON is a topic matcher object (Mercure "Topic Matcher List"); the
// payload member appears only in the legacy mercure claim.
type topicJSON struct {
	Match     string          `json:"match"`
	MatchType MatchType       `json:"match_type,omitempty"`
	Payload   json.RawMessage `json:"payload,omitempty"`
}

// detailJSON is a Mercure authorization detail.
type detailJSON struct {
	Type    string          `json:"type"`
	Actions []string        `json:"actions"`
	Topics  []topicJSON     `json:"topics"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// detailsJSON encodes the grants of c as an authorization_details claim:
// one publish detail, then one subscribe detail per run of subscribe
// matchers sharing a payload, so that Verify gives back c's grants in order.
func (c *Claims) detailsJSON() (json.RawMessage, error) {
	if c.Payload != nil {
		return nil, fmt.Errorf("%w: Claims.Payload is legacy only; set Matcher.Payload", ErrInvalidClaim)
	}
	if err := c.checkCount(); err != nil {
		return nil, err
	}
	var details []detailJSON
	for i, m := range c.Publish {
		t, err := encodeType(m.Match, m.Type, nil, false)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			details = append(details, detailJSON{Type: DetailType, Actions: []string{ActionPublish}})
		}
		details[0].Topics = append(details[0].Topics, topicJSON{Match: m.Match, MatchType: t})
	}
	for i, m := range c.Subscribe {
		t, err := encodeType(m.Match, m.Type, m.Payload, false)
		if err != nil {
			return nil, err
		}
		if i == 0 || string(m.Payload) != string(c.Subscribe[i-1].Payload) {
			details = append(details, detailJSON{Type: DetailType, Actions: []string{ActionSubscribe}, Payload: m.Payload})
		}
		d := &details[len(details)-1]
		d.Topics = append(d.Topics, topicJSON{Match: m.Match, MatchType: t})
	}
	if details == nil {
		return nil, nil
	}
	return marshal(details)
}

// legacyJSON encodes the grants of c as a pre-standardization mercure
// claim, writing bare selector strings where it can.
func (c *Claims) legacyJSON() (json.RawMessage, error) {
	if err := c.checkCount(); err != nil {
		return nil, err
	}
	var l struct {
		Publish   []any           `json:"publish,omitempty"`
		Subscribe []any           `json:"subscribe,omitempty"`
		Payload   json.RawMessage `json:"payload,omitempty"`
	}
	l.Payload = c.Payload
	for _, list := range []struct {
		src     []Matcher
		dst     *[]any
		publish bool
	}{{c.Publish, &l.Publish, true}, {c.Subscribe, &l.Subscribe, false}} {
		for _, m := range list.src {
			if list.publish {
				m.Payload = nil // payloads describe subscriptions only
			}
			t, err := encodeType(m.Match, m.Type, m.Payload, true)
			if err != nil {
				return nil, err
			}
			if t == MatchSelector {
				*list.dst = append(*list.dst, m.Match)
			} else {
				*list.dst = append(*list.dst, topicJSON{Match: m.Match, MatchType: t, Payload: m.Payload})
			}
		}
	}
	return marshal(l)
}

// encodeType returns the match_type to write for a matcher, resolving the
// zero type, or ErrInvalidClaim for a matcher Verify would refuse after
// signing. In authorization_details the default exact type is left out.
func encodeType(match string, t MatchType, payload json.RawMessage, legacy bool) (MatchType, error) {
	if err := checkMatch(match); err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidClaim, err)
	}
	switch {
	case t == "" && legacy:
		t = MatchSelector
	case t == "" || (t == MatchExact && !legacy):
		t = ""
	}
	switch {
	case t == MatchSelector && !legacy:
		return "", fmt.Errorf("%w: selector %q needs the legacy form", ErrInvalidClaim, match)
	case t == MatchSelector && payload != nil:
		return "", fmt.Errorf("%w: selector %q cannot carry a payload", ErrInvalidClaim, match)
	case t != "" && t != MatchSelector && t != MatchExact && t != MatchURLPattern:
		return "", fmt.Errorf("%w: unsupported match_type %q", ErrInvalidClaim, t)
	case !legacy && payload != nil && !isObject(payload):
		return "", fmt.Errorf("%w: payload of %q is not a JSON object", ErrInvalidClaim, match)
	}
	return t, nil
}

// marshal encodes v, reporting an invalid raw payload as ErrInvalidClaim.
func marshal(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidClaim, err)
	}
	return b, nil
}
