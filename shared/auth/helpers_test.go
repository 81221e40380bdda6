package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"sync"
	"testing"
	"time"
)

// secret is the HS256 secret of the Mercure documentation's examples.
var secret = []byte("!ChangeThisMercureHubJWTSecretKey!")

// rsaKey is the one RSA key of the test binary: generating 2048-bit keys is
// slow, especially under wasm.
var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// ecKey is the one P-256 key of the test binary.
var ecKey = sync.OnceValue(func() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
})

// otherRSA returns a 2048-bit RSA public key that is not rsaKey's, without
// generating one: no signature verifies with it.
func otherRSA() *rsa.PublicKey {
	return &rsa.PublicKey{N: new(big.Int).Add(rsaKey().N, big.NewInt(2)), E: 65537}
}

// rsaPEM returns rsaKey's public key as a PKIX PEM block.
func rsaPEM(t testing.TB) []byte {
	der, err := x509.MarshalPKIXPublicKey(&rsaKey().PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// jwksJSON returns a JWK Set holding rsaKey as kid "new", otherRSA as kid
// "old" and ecKey as kid "ec".
func jwksJSON() []byte {
	enc := base64.RawURLEncoding.EncodeToString
	rsaJWK := func(kid string, p *rsa.PublicKey) map[string]string {
		return map[string]string{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
			"n": enc(p.N.Bytes()), "e": enc(big.NewInt(int64(p.E)).Bytes())}
	}
	pt, _ := ecKey().PublicKey.Bytes()
	b, _ := json.Marshal(map[string]any{"keys": []any{
		rsaJWK("old", otherRSA()),
		rsaJWK("new", &rsaKey().PublicKey),
		map[string]string{"kty": "EC", "kid": "ec", "crv": "P-256", "x": enc(pt[1:33]), "y": enc(pt[33:])},
	}})
	return b
}

// raw builds a compact JWS from a header and claims, signed by sign over
// the signing input; it can build tokens Signer refuses to.
func raw(header, claims any, sign func(input string) []byte) string {
	enc := func(v any) string {
		b, ok := v.(string)
		if !ok {
			j, _ := json.Marshal(v)
			b = string(j)
		}
		return base64.RawURLEncoding.EncodeToString([]byte(b))
	}
	input := enc(header) + "." + enc(claims)
	return input + "." + base64.RawURLEncoding.EncodeToString(sign(input))
}

// hs returns a signer of raw HS256 tokens with key.
func hs(key []byte) func(string) []byte {
	return func(input string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(input))
		return m.Sum(nil)
	}
}

// rs256 signs raw RS256 tokens with rsaKey.
func rs256(input string) []byte {
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(nil, rsaKey(), crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return sig
}

// hsClaims returns an HS256 token signed with secret carrying claims, with
// exp an hour from now unless claims sets it.
func hsClaims(claims string) string {
	var m map[string]any
	if err := json.Unmarshal([]byte(claims), &m); err != nil {
		panic(err)
	}
	if _, ok := m["exp"]; !ok {
		m["exp"] = time.Now().Add(time.Hour).Unix()
	}
	return raw(map[string]string{"alg": "HS256", "typ": "JWT"}, m, hs(secret))
}

// must returns v, panicking on a setup error.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// mustVerifier fails the test on a config error.
func mustVerifier(t testing.TB, cfg Config) *Verifier {
	t.Helper()
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// mustSign fails the test on a signing error.
func mustSign(t testing.TB, s Signer, c Claims) string {
	t.Helper()
	tok, err := s.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
