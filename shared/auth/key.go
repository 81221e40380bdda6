package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// The JWS algorithms (RFC 7518) this package verifies and signs.
const (
	HS256 = "HS256"
	RS256 = "RS256"
	ES256 = "ES256"
)

// Minimum key sizes from RFC 7518 sections 3.2 and 3.3.
const (
	minHMACBytes = 32
	minRSABits   = 2048
)

// Key is one trusted verification key, bound to the single JWS algorithm it
// verifies (Mercure "Token Validation": the algorithm must be compatible
// with the key). Build one with [HMACKey], [PublicKey], [PublicKeyFromPEM]
// or [KeysFromJWKS].
type Key struct {
	alg string
	id  string
	key any // []byte, *rsa.PublicKey or *ecdsa.PublicKey
}

// Alg returns the JWS algorithm the key verifies: HS256, RS256 or ES256.
func (k Key) Alg() string { return k.alg }

// ID returns the key's kid from a JWKS, or "" for a key without one.
func (k Key) ID() string { return k.id }

// HMACKey returns an HS256 key for a shared secret, which must be at least
// 32 bytes long (RFC 7518 section 3.2). The secret is copied.
func HMACKey(secret []byte) (Key, error) {
	if len(secret) < minHMACBytes {
		return Key{}, fmt.Errorf("%w: HS256 secret is %d bytes, want at least %d", ErrKey, len(secret), minHMACBytes)
	}
	return Key{alg: HS256, key: append([]byte(nil), secret...)}, nil
}

// PublicKey returns an RS256 key for an RSA public key of at least 2048
// bits, or an ES256 key for an ECDSA P-256 public key.
func PublicKey(pub crypto.PublicKey) (Key, error) {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if p.N == nil || p.N.BitLen() < minRSABits {
			return Key{}, fmt.Errorf("%w: RSA key is shorter than %d bits", ErrKey, minRSABits)
		}
		if p.E < 3 || p.E%2 == 0 {
			return Key{}, fmt.Errorf("%w: RSA public exponent %d is not an odd number above 2", ErrKey, p.E)
		}
		return Key{alg: RS256, key: p}, nil
	case *ecdsa.PublicKey:
		if p.Curve != elliptic.P256() {
			return Key{}, fmt.Errorf("%w: ECDSA key is not on P-256", ErrKey)
		}
		return Key{alg: ES256, key: p}, nil
	default:
		return Key{}, fmt.Errorf("%w: unsupported public key type %T", ErrKey, pub)
	}
}

// PublicKeyFromPEM returns the key of the first PEM block of data: a
// "PUBLIC KEY" (PKIX), an "RSA PUBLIC KEY" (PKCS #1) or a "CERTIFICATE",
// holding a key [PublicKey] accepts.
func PublicKeyFromPEM(data []byte) (Key, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return Key{}, fmt.Errorf("%w: no PEM block", ErrKey)
	}
	var pub any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			pub = cert.PublicKey
		}
	default:
		return Key{}, fmt.Errorf("%w: PEM block %q is not a public key", ErrKey, block.Type)
	}
	if err != nil {
		return Key{}, fmt.Errorf("%w: %v", ErrKey, err)
	}
	return PublicKey(pub)
}
