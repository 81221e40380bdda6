package main

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/mercure"
)

// jwtFlags are the token verification settings of origin serve.
type jwtFlags struct {
	key, publisherKey, subscriberKey string
	alg                              string
	jwksFile                         string
	audience, issuer                 string
	leeway                           time.Duration
	strict                           bool
}

// configured reports whether any verification key is configured.
func (f *jwtFlags) configured() bool {
	return f.key != "" || f.publisherKey != "" || f.subscriberKey != "" || f.jwksFile != ""
}

// verifiers builds the publisher and subscriber verifiers (Mercure
// §"Token Validation"): each role trusts its own key, else --jwt-key, plus
// the keys of --jwt-jwks-file. A role with no key gets a nil verifier.
func (f *jwtFlags) verifiers() (pub, sub *auth.Verifier, err error) {
	var jwks []auth.Key
	if f.jwksFile != "" {
		data, err := os.ReadFile(f.jwksFile)
		if err != nil {
			return nil, nil, fmt.Errorf("read --jwt-jwks-file: %w", err)
		}
		if jwks, err = auth.KeysFromJWKS(data); err != nil {
			return nil, nil, fmt.Errorf("--jwt-jwks-file %s: %w", f.jwksFile, err)
		}
	}
	build := func(role, value string) (*auth.Verifier, error) {
		keys := append([]auth.Key(nil), jwks...)
		if value != "" {
			k, err := verificationKey(value, f.alg)
			if err != nil {
				return nil, fmt.Errorf("%s key: %w", role, err)
			}
			keys = append(keys, k)
		}
		if len(keys) == 0 {
			return nil, nil
		}
		return auth.NewVerifier(auth.Config{
			Keys: keys, Audience: f.audience, Issuer: f.issuer, Leeway: f.leeway, RequireAccessToken: f.strict,
		})
	}
	if pub, err = build("publisher", firstNonEmpty(f.publisherKey, f.key)); err != nil {
		return nil, nil, err
	}
	if sub, err = build("subscriber", firstNonEmpty(f.subscriberKey, f.key)); err != nil {
		return nil, nil, err
	}
	return pub, sub, nil
}

// productionProblems lists why the keys may not be used with --production.
func (f *jwtFlags) productionProblems(feedSecret string) []string {
	var p []string
	if !f.configured() {
		p = append(p, "no JWT key: set --jwt-key (or --publisher-jwt-key and --subscriber-jwt-key, or --jwt-jwks-file)")
	}
	for _, k := range []string{f.key, f.publisherKey, f.subscriberKey} {
		for _, d := range mercure.KnownSecrets {
			if k != "" && k == d {
				p = append(p, fmt.Sprintf("the JWT key %q is a published default: generate a secret (openssl rand -hex 32)", d))
			}
		}
		if k != "" && k == feedSecret {
			p = append(p, "a JWT key equals the feed secret: use distinct secrets")
		}
	}
	return p
}

// verificationKey parses a key flag for alg: an HS256 secret (at least 32
// bytes), or for RS256 and ES256 a PEM public key or certificate, given
// inline or as a file path.
func verificationKey(value, alg string) (auth.Key, error) {
	switch strings.ToUpper(alg) {
	case auth.HS256:
		return auth.HMACKey([]byte(value))
	case auth.RS256, auth.ES256:
		data, err := pemData(value)
		if err != nil {
			return auth.Key{}, err
		}
		k, err := auth.PublicKeyFromPEM(data)
		if err != nil {
			return auth.Key{}, err
		}
		if k.Alg() != strings.ToUpper(alg) {
			return auth.Key{}, fmt.Errorf("%w: the PEM key is for %s, not --jwt-alg %s", auth.ErrKey, k.Alg(), alg)
		}
		return k, nil
	}
	return auth.Key{}, fmt.Errorf("unsupported --jwt-alg %q: use HS256, RS256 or ES256", alg)
}

// signingKey parses a key flag for minting tokens: an HS256 secret, or for
// RS256 and ES256 a PEM private key (PKCS #8, PKCS #1 or SEC 1), inline or
// as a file path.
func signingKey(value, alg string) (any, string, error) {
	alg = strings.ToUpper(alg)
	if alg == auth.HS256 {
		return []byte(value), alg, nil
	}
	if alg != auth.RS256 && alg != auth.ES256 {
		return nil, "", fmt.Errorf("unsupported --jwt-alg %q: use HS256, RS256 or ES256", alg)
	}
	data, err := pemData(value)
	if err != nil {
		return nil, "", err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, "", errors.New("no PEM block in the private key")
	}
	var key any
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, "", fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, "", fmt.Errorf("parse private key: %w", err)
	}
	switch key.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey:
		return key, alg, nil
	}
	return nil, "", fmt.Errorf("private key of type %T cannot sign %s", key, alg)
}

// pemData returns value when it is PEM text, else the content of the file
// it names.
func pemData(value string) ([]byte, error) {
	if strings.HasPrefix(strings.TrimSpace(value), "-----BEGIN") {
		return []byte(value), nil
	}
	data, err := os.ReadFile(value)
	if err != nil {
		return nil, fmt.Errorf("read PEM key: %w", err)
	}
	return data, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
