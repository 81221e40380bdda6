package auth

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultMaxTokenSize is the token length [Verifier.Verify] accepts when
// [Config.MaxTokenSize] is zero (Mercure "Resource Limits").
const DefaultMaxTokenSize = 16 << 10

// Config configures a [Verifier] (Mercure section "Token Validation").
type Config struct {
	// Keys are the trusted verification keys. The algorithms they are bound
	// to form the allowlist; a token may select among them with kid, never
	// add to them.
	Keys []Key
	// Audience, when set, must appear in the token's aud claim: the hub's
	// resource identifier, for example
	// "https://hub.example.com/.well-known/mercure".
	Audience string
	// Issuer, when set, must equal the token's iss claim.
	Issuer string
	// Leeway is the clock skew tolerated on exp and nbf.
	Leeway time.Duration
	// RequireAccessToken enforces the JWT access token profile of the
	// current spec (RFC 9068): typ "at+jwt", an exp claim, Audience and
	// Issuer configured, and grants read from authorization_details only.
	// Leave it off to accept the tokens deployed publishers send.
	RequireAccessToken bool
	// MaxTokenSize bounds the token length in bytes; zero means
	// DefaultMaxTokenSize.
	MaxTokenSize int
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Verifier verifies access tokens. It is safe for concurrent use.
type Verifier struct {
	cfg    Config
	algs   []string
	parser *jwt.Parser
}

// NewVerifier returns a Verifier for cfg. It fails with [ErrConfig] when cfg
// has no keys or a negative Leeway, or sets RequireAccessToken without
// Audience and Issuer, and with [ErrKey] for a zero Key.
func NewVerifier(cfg Config) (*Verifier, error) {
	if len(cfg.Keys) == 0 || cfg.Leeway < 0 || cfg.MaxTokenSize < 0 ||
		(cfg.RequireAccessToken && (cfg.Audience == "" || cfg.Issuer == "")) {
		return nil, ErrConfig
	}
	cfg.Keys = slices.Clone(cfg.Keys)
	var algs []string
	for _, k := range cfg.Keys {
		if k.alg == "" {
			return nil, fmt.Errorf("%w: zero Key; build keys with HMACKey, PublicKey or KeysFromJWKS", ErrKey)
		}
		if !slices.Contains(algs, k.alg) {
			algs = append(algs, k.alg)
		}
	}
	if cfg.MaxTokenSize == 0 {
		cfg.MaxTokenSize = DefaultMaxTokenSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Verifier{
		cfg:  cfg,
		algs: algs,
		// Claims are checked by Verify itself, so that each failure maps to
		// one sentinel error.
		parser: jwt.NewParser(jwt.WithValidMethods(algs), jwt.WithoutClaimsValidation(), jwt.WithStrictDecoding()),
	}, nil
}

// Verify checks the signature and claims of a token, as the Mercure section
// "Token Validation" requires, and returns what it grants. The signature is
// checked before any claim is trusted. Every failure wraps exactly one of
// the errors of this package.
func (v *Verifier) Verify(token string) (*Claims, error) {
	if token == "" {
		return nil, ErrNoToken
	}
	if len(token) > v.cfg.MaxTokenSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(token), v.cfg.MaxTokenSize)
	}
	var r receivedClaims
	tok, err := v.parser.ParseWithClaims(token, &r, v.key)
	if err != nil {
		return nil, v.parseError(tok, err)
	}
	if err := v.checkHeader(tok.Header); err != nil {
		return nil, err
	}
	c, err := r.registered()
	if err != nil {
		return nil, err
	}
	if err := v.checkClaims(c); err != nil {
		return nil, err
	}
	legacy, name := r.Mercure, legacyClaim
	if isNull(legacy) {
		legacy, name = r.Namespaced, namespacedClaim
	}
	if err := c.readGrants(r.Details, legacy, name, !v.cfg.RequireAccessToken); err != nil {
		return nil, err
	}
	return c, nil
}

// key is the jwt.Keyfunc of Verify: it offers the trusted keys bound to the
// token's algorithm, narrowed by kid when the token names one.
func (v *Verifier) key(tok *jwt.Token) (any, error) {
	alg := tok.Method.Alg()
	kid, _ := tok.Header["kid"].(string)
	var named, unnamed []jwt.VerificationKey
	for _, k := range v.cfg.Keys {
		switch {
		case k.alg != alg:
		case k.id == "":
			unnamed = append(unnamed, k.key)
		case kid == "" || k.id == kid:
			named = append(named, k.key)
		}
	}
	keys := append(named, unnamed...)
	if kid != "" && len(named) > 0 {
		keys = named
	}
	if len(keys) == 0 {
		return nil, ErrUnknownKey
	}
	return jwt.VerificationKeySet{Keys: keys}, nil
}

// parseError maps an error of golang-jwt to the errors of this package.
func (v *Verifier) parseError(tok *jwt.Token, err error) error {
	if tok == nil || tok.Header == nil || errors.Is(err, jwt.ErrTokenMalformed) {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if alg, _ := tok.Header["alg"].(string); !slices.Contains(v.algs, alg) {
		return fmt.Errorf("%w: got %q, accepted %s", ErrAlgorithm, alg, strings.Join(v.algs, ", "))
	}
	if errors.Is(err, ErrUnknownKey) {
		return fmt.Errorf("%w: kid %q", ErrUnknownKey, tok.Header["kid"])
	}
	return ErrSignature
}

// checkHeader checks the typ and crit header parameters (RFC 9068 section
// 4, RFC 7515 section 4.1.11).
func (v *Verifier) checkHeader(h map[string]any) error {
	if _, ok := h["crit"]; ok {
		return ErrCritical
	}
	typ, ok := h["typ"].(string)
	if _, present := h["typ"]; present && !ok {
		return ErrTokenType
	}
	typ = strings.TrimPrefix(strings.ToLower(typ), "application/")
	switch {
	case typ == "at+jwt":
	case !v.cfg.RequireAccessToken && (typ == "" || typ == "jwt"):
	default:
		return fmt.Errorf("%w: got %q", ErrTokenType, typ)
	}
	return nil
}

// checkClaims checks exp, nbf, aud and iss (RFC 7519 section 4.1, Mercure
// "Token Validation").
func (v *Verifier) checkClaims(c *Claims) error {
	now := v.cfg.Now()
	switch {
	case c.ExpiresAt.IsZero() && v.cfg.RequireAccessToken:
		return ErrNoExpiry
	case !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt.Add(v.cfg.Leeway)):
		return fmt.Errorf("%w: exp %s", ErrExpired, c.ExpiresAt.UTC().Format(time.RFC3339))
	case !c.NotBefore.IsZero() && now.Before(c.NotBefore.Add(-v.cfg.Leeway)):
		return fmt.Errorf("%w: nbf %s", ErrNotYetValid, c.NotBefore.UTC().Format(time.RFC3339))
	case v.cfg.Audience != "" && !slices.Contains(c.Audience, v.cfg.Audience):
		return fmt.Errorf("%w: want %q", ErrAudience, v.cfg.Audience)
	case v.cfg.Issuer != "" && c.Issuer != v.cfg.Issuer:
		return fmt.Errorf("%w: want %q", ErrIssuer, v.cfg.Issuer)
	}
	return nil
}
