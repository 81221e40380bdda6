package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"testing"
	"time"
)

func TestPublicKeyFromPEM(t *testing.T) {
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey().PublicKey)})
	ecDER, _ := x509.MarshalPKIXPublicKey(&ecKey().PublicKey)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "issuer"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &rsaKey().PublicKey, rsaKey())
	if err != nil {
		t.Fatal(err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384DER, _ := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	privDER, _ := x509.MarshalPKCS8PrivateKey(rsaKey())
	block := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }

	tests := []struct {
		name    string
		pem     []byte
		wantAlg string
		wantErr error
	}{
		{"PKIX RSA", rsaPEM(t), RS256, nil},
		{"PKCS #1 RSA", pkcs1, RS256, nil},
		{"certificate", block("CERTIFICATE", certDER), RS256, nil},
		{"PKIX P-256", block("PUBLIC KEY", ecDER), ES256, nil},
		{"P-384", block("PUBLIC KEY", p384DER), "", ErrKey},
		{"private key", block("PRIVATE KEY", privDER), "", ErrKey},
		{"garbage DER", block("PUBLIC KEY", []byte("nope")), "", ErrKey},
		{"no PEM", []byte("-----BEGIN nothing"), "", ErrKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := PublicKeyFromPEM(tt.pem)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) || k.Alg() != tt.wantAlg {
				t.Fatalf("PublicKeyFromPEM = %q, %v; want %q, %v", k.Alg(), err, tt.wantAlg, tt.wantErr)
			}
		})
	}
}

func TestPublicKeyAndHMACKey(t *testing.T) {
	small := &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 1023), E: 65537}
	tests := []struct {
		name    string
		key     func() (Key, error)
		wantAlg string
		wantErr error
	}{
		{"RSA 2048", func() (Key, error) { return PublicKey(&rsaKey().PublicKey) }, RS256, nil},
		{"RSA 1024", func() (Key, error) { return PublicKey(small) }, "", ErrKey},
		{"RSA even exponent", func() (Key, error) { return PublicKey(&rsa.PublicKey{N: rsaKey().N, E: 65536}) }, "", ErrKey},
		{"P-256", func() (Key, error) { return PublicKey(&ecKey().PublicKey) }, ES256, nil},
		{"private key", func() (Key, error) { return PublicKey(rsaKey()) }, "", ErrKey},
		{"secret of 32 bytes", func() (Key, error) { return HMACKey(make([]byte, 32)) }, HS256, nil},
		{"secret of 31 bytes", func() (Key, error) { return HMACKey(make([]byte, 31)) }, "", ErrKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := tt.key()
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) || k.Alg() != tt.wantAlg {
				t.Fatalf("key = %q, %v; want %q, %v", k.Alg(), err, tt.wantAlg, tt.wantErr)
			}
		})
	}
}

func TestKeysFromJWKS(t *testing.T) {
	tests := []struct {
		name    string
		jwks    string
		want    []string // alg/kid of each key
		wantErr error
	}{
		{"RSA and EC", string(jwksJSON()), []string{"RS256/old", "RS256/new", "ES256/ec"}, nil},
		{"skips other keys", `{"keys":[
			{"kty":"oct","k":"c2VjcmV0"},
			{"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"},
			{"kty":"RSA","alg":"RS512","n":"AQAB","e":"AQAB"},
			{"kty":"RSA","key_ops":["encrypt"],"n":"AQAB","e":"AQAB"},
			{"kty":"EC","crv":"P-384","x":"AA","y":"AA"},
			{"kty":"OKP","crv":"Ed25519","x":"AA"},
			` + string(jwksJSON())[9:], []string{"RS256/old", "RS256/new", "ES256/ec"}, nil},
		{"no usable key", `{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`, nil, ErrKey},
		{"empty", `{"keys":[]}`, nil, ErrKey},
		{"not JSON", `keys`, nil, ErrKey},
		{"short RSA modulus", `{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`, nil, ErrKey},
		{"bad base64", `{"keys":[{"kty":"RSA","n":"!!","e":"AQAB"}]}`, nil, ErrKey},
		{"huge exponent", `{"keys":[{"kty":"RSA","n":"AQAB","e":"AQABAQAB"}]}`, nil, ErrKey},
		{"EC point off the curve", `{"keys":[{"kty":"EC","crv":"P-256","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE"}]}`, nil, ErrKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := KeysFromJWKS([]byte(tt.jwks))
			var got []string
			for _, k := range keys {
				got = append(got, k.Alg()+"/"+k.ID())
			}
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) || len(got) != len(tt.want) {
				t.Fatalf("KeysFromJWKS = %v, %v; want %v, %v", got, err, tt.want, tt.wantErr)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("KeysFromJWKS = %v, want %v", got, tt.want)
				}
			}
		})
	}
}
