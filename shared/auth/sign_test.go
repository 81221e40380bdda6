package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestSignRoundTrip checks that Verify gives back the grants Sign wrote, in
// both claim forms.
func TestSignRoundTrip(t *testing.T) {
	v := mustVerifier(t, Config{Keys: []Key{must(HMACKey(secret))}})
	obj := json.RawMessage(`{"tenant":"a"}`)
	tests := []struct {
		name string
		in   Claims
		want grants
	}{
		{"current", Claims{
			Publish:   []Matcher{{Match: "https://example.com/books/1"}, {Match: "/books/:id", Type: MatchURLPattern}},
			Subscribe: []Matcher{{Match: "a", Payload: obj}, {Match: "b", Type: MatchExact, Payload: obj}, {Match: "*"}},
		}, grants{FormDetails,
			[]Matcher{{"https://example.com/books/1", MatchExact, nil}, {"/books/:id", MatchURLPattern, nil}},
			[]Matcher{{"a", MatchExact, obj}, {"b", MatchExact, obj}, {"*", MatchExact, nil}}, nil}},
		{"current without grants", Claims{Form: FormDetails}, grants{}},
		{"legacy", Claims{Form: FormLegacy,
			Publish:   []Matcher{{Match: "*", Payload: obj}},
			Subscribe: []Matcher{{Match: "https://example.com/books/{id}"}, {Match: "c", Type: MatchURLPattern, Payload: obj}},
			Payload:   json.RawMessage(`"tenant-a"`),
		}, grants{FormLegacy,
			[]Matcher{{"*", MatchSelector, nil}},
			[]Matcher{{"https://example.com/books/{id}", MatchSelector, nil}, {"c", MatchURLPattern, obj}},
			json.RawMessage(`"tenant-a"`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.Verify(mustSign(t, Signer{Alg: HS256, Key: secret}, tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got := (grants{c.Form, c.Publish, c.Subscribe, c.Payload}); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("grants = %+v\nwant     %+v", got, tt.want)
			}
		})
	}
}

// TestSignHeader checks the typ, kid and registered claims Sign writes.
func TestSignHeader(t *testing.T) {
	tok, err := Sign(Claims{Issuer: "https://example.com"}, secret, HS256, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var h, c map[string]any
	parts := strings.Split(tok, ".")
	for i, dst := range []*map[string]any{&h, &c} {
		b, _ := base64.RawURLEncoding.DecodeString(parts[i])
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	if h["typ"] != "at+jwt" || h["alg"] != HS256 || c["jti"] == "" || c["client_id"] != "https://example.com" || c["iat"] == nil {
		t.Fatalf("header %v, claims %v: want typ at+jwt, jti, client_id and iat", h, c)
	}
	exp := time.Unix(int64(c["exp"].(float64)), 0)
	if d := time.Until(exp); d < 50*time.Second || d > time.Minute {
		t.Fatalf("exp in %v, want about a minute", d)
	}
}

func TestSignErrors(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		s       Signer
		c       Claims
		wantErr error
	}{
		{"RS256 with a secret", Signer{Alg: RS256, Key: secret}, Claims{}, ErrKey},
		{"HS256 with an RSA key", Signer{Alg: HS256, Key: rsaKey()}, Claims{}, ErrKey},
		{"HS256 with a short secret", Signer{Alg: HS256, Key: []byte("short")}, Claims{}, ErrKey},
		{"ES256 with P-384", Signer{Alg: ES256, Key: p384}, Claims{}, ErrKey},
		{"none", Signer{Alg: "none", Key: secret}, Claims{}, ErrKey},
		{"selector in the current form", Signer{Alg: HS256, Key: secret}, Claims{Publish: []Matcher{{Match: "a", Type: MatchSelector}}}, ErrInvalidClaim},
		{"token-wide payload in the current form", Signer{Alg: HS256, Key: secret}, Claims{Payload: json.RawMessage(`{}`)}, ErrInvalidClaim},
		{"scalar payload in the current form", Signer{Alg: HS256, Key: secret}, Claims{Subscribe: []Matcher{{Match: "a", Payload: json.RawMessage(`1`)}}}, ErrInvalidClaim},
		{"invalid JSON payload", Signer{Alg: HS256, Key: secret}, Claims{Form: FormLegacy, Payload: json.RawMessage(`{`)}, ErrInvalidClaim},
		{"selector with payload", Signer{Alg: HS256, Key: secret}, Claims{Form: FormLegacy, Subscribe: []Matcher{{Match: "a", Payload: json.RawMessage(`{}`)}}}, ErrInvalidClaim},
		{"unknown match type", Signer{Alg: HS256, Key: secret}, Claims{Publish: []Matcher{{Match: "a", Type: "regexp"}}}, ErrInvalidClaim},
		{"empty match", Signer{Alg: HS256, Key: secret}, Claims{Publish: []Matcher{{}}}, ErrInvalidClaim},
		{"too many matchers", Signer{Alg: HS256, Key: secret}, Claims{Publish: make([]Matcher, MaxMatchers+1)}, ErrInvalidClaim},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := tt.s.Sign(tt.c)
			if !errors.Is(err, tt.wantErr) || tok != "" {
				t.Fatalf("Sign = %q, %v; want error %v", tok, err, tt.wantErr)
			}
		})
	}
}
