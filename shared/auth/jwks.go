package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// jwk is the subset of an RFC 7517 JSON Web Key this package reads.
type jwk struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid"`
	Use    string   `json:"use"`
	Alg    string   `json:"alg"`
	KeyOps []string `json:"key_ops"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	Crv    string   `json:"crv"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
}

// KeysFromJWKS returns the signature keys of a JWK Set document (RFC 7517
// section 5), such as an authorization server's jwks_uri content (Mercure
// "Token Validation"): RSA keys (kty "RSA", n, e) as RS256 and P-256 keys
// (kty "EC", crv, x, y) as ES256, each with its kid. It skips keys meant for
// encryption or for an algorithm other than RS256 and ES256, and symmetric or
// other key types, since a JWKS is public; it fails with [ErrKey] when a
// usable key is malformed or when no key is left.
func KeysFromJWKS(data []byte) ([]Key, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("%w: JWKS: %v", ErrKey, err)
	}
	var keys []Key
	for i, j := range set.Keys {
		if (j.Use != "" && j.Use != "sig") || (j.KeyOps != nil && !slices.Contains(j.KeyOps, "verify")) {
			continue
		}
		var k Key
		var err error
		switch {
		case j.Kty == "RSA" && (j.Alg == "" || j.Alg == RS256):
			k, err = j.rsaKey()
		case j.Kty == "EC" && j.Crv == "P-256" && (j.Alg == "" || j.Alg == ES256):
			k, err = j.ecKey()
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("JWKS key %d (kid %q): %w", i, j.Kid, err)
		}
		k.id = j.Kid
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: JWKS holds no RS256 or ES256 signature key", ErrKey)
	}
	return keys, nil
}

// rsaKey decodes the n and e members of an RSA JWK (RFC 7518 section 6.3.1).
func (j jwk) rsaKey() (Key, error) {
	n, err := b64(j.N)
	if err != nil {
		return Key{}, err
	}
	e, err := b64(j.E)
	if err != nil || len(e) == 0 || len(e) > 4 {
		return Key{}, fmt.Errorf("%w: RSA exponent %q", ErrKey, j.E)
	}
	exp := new(big.Int).SetBytes(e).Int64()
	return PublicKey(&rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp)})
}

// ecKey decodes the x and y members of a P-256 JWK (RFC 7518 section
// 6.2.1), checking that the point is on the curve.
func (j jwk) ecKey() (Key, error) {
	x, err := b64(j.X)
	if err != nil {
		return Key{}, err
	}
	y, err := b64(j.Y)
	if err != nil {
		return Key{}, err
	}
	if len(x) != 32 || len(y) != 32 {
		return Key{}, fmt.Errorf("%w: P-256 coordinates must be 32 bytes", ErrKey)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		return Key{}, fmt.Errorf("%w: %v", ErrKey, err)
	}
	return PublicKey(pub)
}

// b64 decodes base64url without padding (RFC 7515 section 2), tolerating
// trailing padding.
func b64(s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	return b, nil
}
