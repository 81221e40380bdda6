package auth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

const hubURL = "https://hub.example.com/.well-known/mercure"

// verifiers are the configurations the table tests run against.
type verifiers struct {
	hs, rs, jwks, mixed, strict, audIss, leeway *Verifier
}

func newVerifiers(t *testing.T) verifiers {
	hsKey := must(HMACKey(secret))
	rsKey := must(PublicKeyFromPEM(rsaPEM(t)))
	set, err := KeysFromJWKS(jwksJSON())
	if err != nil {
		t.Fatal(err)
	}
	return verifiers{
		hs:     mustVerifier(t, Config{Keys: []Key{hsKey}}),
		rs:     mustVerifier(t, Config{Keys: []Key{rsKey}}),
		jwks:   mustVerifier(t, Config{Keys: set}),
		mixed:  mustVerifier(t, Config{Keys: []Key{hsKey, rsKey}}),
		strict: mustVerifier(t, Config{Keys: []Key{rsKey}, RequireAccessToken: true, Audience: hubURL, Issuer: "https://example.com"}),
		audIss: mustVerifier(t, Config{Keys: []Key{hsKey}, Audience: hubURL, Issuer: "https://example.com"}),
		leeway: mustVerifier(t, Config{Keys: []Key{hsKey}, Leeway: time.Minute}),
	}
}

func TestVerify(t *testing.T) {
	v := newVerifiers(t)
	hsSigner := Signer{Alg: HS256, Key: secret}
	rsSigner := Signer{Alg: RS256, Key: rsaKey()}
	hour := time.Now().Add(time.Hour)
	publishAll := Claims{Form: FormLegacy, Publish: []Matcher{{Match: "*"}}, ExpiresAt: hour}
	current := Claims{
		Issuer: "https://example.com", Subject: "urn:uuid:1", Audience: []string{hubURL}, ExpiresAt: hour,
		Subscribe: []Matcher{{Match: "https://example.com/books/:id", Type: MatchURLPattern}},
	}
	valid := mustSign(t, hsSigner, publishAll)
	parts := strings.Split(valid, ".")
	enc := base64.RawURLEncoding.EncodeToString
	pemKey := rsaPEM(t)

	tests := []struct {
		name    string
		v       *Verifier
		token   string
		wantErr error
	}{
		{"valid HS256 legacy", v.hs, valid, nil},
		{"valid RS256 via PEM", v.rs, mustSign(t, rsSigner, current), nil},
		{"valid RS256 via JWKS kid", v.jwks, mustSign(t, Signer{Alg: RS256, Key: rsaKey(), KeyID: "new"}, current), nil},
		{"valid RS256 via JWKS without kid", v.jwks, mustSign(t, rsSigner, current), nil},
		{"valid ES256 via JWKS", v.jwks, mustSign(t, Signer{Alg: ES256, Key: ecKey(), KeyID: "ec"}, current), nil},
		{"valid RS256 strict", v.strict, mustSign(t, rsSigner, current), nil},
		{"valid HS256 with both keys", v.mixed, valid, nil},
		{"valid RS256 with both keys", v.mixed, mustSign(t, rsSigner, current), nil},

		{"alg none", v.hs, enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + ".", ErrAlgorithm},
		{"alg none with signature", v.hs, enc([]byte(`{"alg":"none"}`)) + "." + parts[1] + "." + parts[2], ErrAlgorithm},
		{"alg None", v.hs, enc([]byte(`{"alg":"None"}`)) + "." + parts[1] + ".", ErrAlgorithm},
		{"alg missing", v.hs, enc([]byte(`{"typ":"JWT"}`)) + "." + parts[1] + "." + parts[2], ErrAlgorithm},
		{"alg unknown", v.hs, enc([]byte(`{"alg":"XS256"}`)) + "." + parts[1] + "." + parts[2], ErrAlgorithm},
		{"HS/RS confusion: HS256 signed with the RSA PEM", v.rs, raw(map[string]string{"alg": "HS256"}, `{"mercure":{"publish":["*"]}}`, hs(pemKey)), ErrAlgorithm},
		{"HS/RS confusion with an HS key configured too", v.mixed, raw(map[string]string{"alg": "HS256"}, `{"mercure":{"publish":["*"]}}`, hs(pemKey)), ErrSignature},
		{"RS256 token to an HS-only hub", v.hs, mustSign(t, rsSigner, publishAll), ErrAlgorithm},
		{"HS256 token to an RS-only hub", v.rs, valid, ErrAlgorithm},
		{"RS384 token", v.rs, enc([]byte(`{"alg":"RS384"}`)) + "." + parts[1] + "." + parts[2], ErrAlgorithm},

		{"bad signature: other secret", v.hs, mustSign(t, Signer{Alg: HS256, Key: []byte(strings.Repeat("x", 32))}, publishAll), ErrSignature},
		{"bad signature: truncated", v.hs, valid[:len(valid)-3], ErrSignature},
		{"bad signature: empty", v.hs, parts[0] + "." + parts[1] + ".", ErrSignature},
		{"bad signature: RS256 by the wrong JWKS kid", v.jwks, mustSign(t, Signer{Alg: RS256, Key: rsaKey(), KeyID: "old"}, current), ErrSignature},
		{"tampered payload", v.hs, parts[0] + "." + enc([]byte(`{"mercure":{"publish":["*"],"subscribe":["*"]}}`)) + "." + parts[2], ErrSignature},
		{"tampered header", v.hs, enc([]byte(`{"alg":"HS256","typ":"at+jwt"}`)) + "." + parts[1] + "." + parts[2], ErrSignature},
		{"unknown kid", v.jwks, mustSign(t, Signer{Alg: RS256, Key: rsaKey(), KeyID: "gone"}, current), ErrUnknownKey},

		{"expired", v.hs, mustSign(t, hsSigner, Claims{Form: FormLegacy, ExpiresAt: time.Now().Add(-time.Hour)}), ErrExpired},
		{"expired within leeway", v.leeway, mustSign(t, hsSigner, Claims{ExpiresAt: time.Now().Add(-30 * time.Second)}), nil},
		{"expired beyond leeway", v.leeway, mustSign(t, hsSigner, Claims{ExpiresAt: time.Now().Add(-2 * time.Minute)}), ErrExpired},
		{"nbf in the future", v.hs, mustSign(t, hsSigner, Claims{NotBefore: time.Now().Add(time.Hour)}), ErrNotYetValid},
		{"nbf within leeway", v.leeway, mustSign(t, hsSigner, Claims{NotBefore: time.Now().Add(30 * time.Second)}), nil},
		{"no exp in compatible mode", v.hs, mustSign(t, hsSigner, Claims{Form: FormLegacy}), nil},
		{"no exp in strict mode", v.strict, mustSign(t, rsSigner, Claims{Issuer: "https://example.com", Audience: []string{hubURL}}), ErrNoExpiry},

		{"right aud and iss", v.audIss, mustSign(t, hsSigner, current), nil},
		{"aud among several", v.audIss, mustSign(t, hsSigner, Claims{Issuer: "https://example.com", Audience: []string{"https://other", hubURL}}), nil},
		{"wrong aud", v.audIss, mustSign(t, hsSigner, Claims{Issuer: "https://example.com", Audience: []string{"https://other.example/.well-known/mercure"}}), ErrAudience},
		{"missing aud", v.audIss, mustSign(t, hsSigner, Claims{Issuer: "https://example.com"}), ErrAudience},
		{"wrong iss", v.audIss, mustSign(t, hsSigner, Claims{Issuer: "https://evil.example", Audience: []string{hubURL}}), ErrIssuer},
		{"missing iss", v.audIss, mustSign(t, hsSigner, Claims{Audience: []string{hubURL}}), ErrIssuer},
		{"aud and iss ignored when not configured", v.hs, mustSign(t, hsSigner, Claims{Issuer: "https://evil.example", Audience: []string{"x"}}), nil},

		{"typ at+jwt in compatible mode", v.hs, raw(map[string]string{"alg": "HS256", "typ": "application/AT+JWT"}, `{}`, hs(secret)), nil},
		{"typ absent in compatible mode", v.hs, raw(map[string]string{"alg": "HS256"}, `{}`, hs(secret)), nil},
		{"typ of an ID token", v.hs, raw(map[string]string{"alg": "HS256", "typ": "id+jwt"}, `{}`, hs(secret)), ErrTokenType},
		{"typ not a string", v.hs, raw(map[string]any{"alg": "HS256", "typ": 1}, `{}`, hs(secret)), ErrTokenType},
		{"typ JWT in strict mode", v.strict, raw(map[string]string{"alg": "RS256", "typ": "JWT"}, map[string]any{"iss": "https://example.com", "aud": hubURL, "exp": hour.Unix()}, rs256), ErrTokenType},
		{"crit header", v.hs, raw(map[string]any{"alg": "HS256", "crit": []string{"b64"}, "b64": false}, `{}`, hs(secret)), ErrCritical},

		{"empty", v.hs, "", ErrNoToken},
		{"one part", v.hs, "abc", ErrMalformed},
		{"two parts", v.hs, parts[0] + "." + parts[1], ErrMalformed},
		{"four parts", v.hs, valid + ".x", ErrMalformed},
		{"header not base64url", v.hs, "e30+." + parts[1] + "." + parts[2], ErrMalformed},
		{"header not JSON", v.hs, enc([]byte("nope")) + "." + parts[1] + "." + parts[2], ErrMalformed},
		{"claims not JSON", v.hs, parts[0] + "." + enc([]byte("[1]")) + "." + parts[2], ErrMalformed},
		{"exp not a number", v.hs, raw(map[string]string{"alg": "HS256"}, `{"exp":"tomorrow"}`, hs(secret)), ErrClaimType},
		{"aud a number", v.hs, hsClaims(`{"aud":42}`), ErrClaimType},
		{"aud a number, bad signature", v.hs, raw(map[string]string{"alg": "HS256"}, `{"aud":42}`, hs([]byte(strings.Repeat("x", 32)))), ErrSignature},
		{"padded signature", v.hs, valid + "=", ErrMalformed},
		{"too large", v.hs, strings.Repeat("a", DefaultMaxTokenSize+1), ErrTooLarge},
		{"malformed grant", v.hs, hsClaims(`{"mercure":{"publish":[1]}}`), ErrInvalidClaim},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.v.Verify(tt.token)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Verify: err = %v, want %v", err, tt.wantErr)
			}
			if err != nil && c != nil {
				t.Fatalf("Verify returned claims %+v with error %v", c, err)
			}
			if err == nil && c == nil {
				t.Fatal("Verify returned no claims and no error")
			}
		})
	}
}

// TestVerifyErrorsAreDistinct checks that each failure maps to exactly one
// sentinel, so an HTTP layer can tell them apart.
func TestVerifyErrorsAreDistinct(t *testing.T) {
	all := []error{ErrNoToken, ErrAuthorizationHeader, ErrTooLarge, ErrMalformed, ErrCritical, ErrTokenType,
		ErrAlgorithm, ErrUnknownKey, ErrSignature, ErrExpired, ErrNoExpiry, ErrNotYetValid, ErrAudience,
		ErrIssuer, ErrClaimType, ErrInvalidClaim, ErrNoMercureClaim, ErrPublishForbidden, ErrKey, ErrConfig}
	v := newVerifiers(t)
	expired := mustSign(t, Signer{Alg: HS256, Key: secret}, Claims{ExpiresAt: time.Now().Add(-time.Hour), Audience: []string{"x"}})
	_, err := v.audIss.Verify(expired)
	n := 0
	for _, s := range all {
		if !strings.HasPrefix(s.Error(), "auth: ") {
			t.Errorf("%q lacks the auth: prefix", s)
		}
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 || !errors.Is(err, ErrExpired) {
		t.Fatalf("expired token with wrong aud: err = %v matches %d sentinels, want only ErrExpired", err, n)
	}
}

// TestVerifyClaimTypes checks that a signed token with a claim of the
// wrong JSON type is refused with an error that names the claim and what it
// must be, not as a malformed token.
func TestVerifyClaimTypes(t *testing.T) {
	v := newVerifiers(t)
	const (
		str  = "must be a string, not "
		aud  = `claim "aud" must be a string or an array of strings, not `
		date = "must be a number (NumericDate: seconds since 1970-01-01T00:00:00Z), not "
	)
	tests := []struct {
		name    string
		v       *Verifier
		claims  string
		wantErr error
		want    string // in the error's message
	}{
		{"aud a number", v.hs, `{"aud":42}`, ErrClaimType, aud + "a number"},
		{"aud a number, aud required", v.audIss, `{"aud":42,"iss":"https://example.com"}`, ErrClaimType, aud + "a number"},
		{"aud an object", v.hs, `{"aud":{"a":1}}`, ErrClaimType, aud + "an object"},
		{"aud a boolean", v.hs, `{"aud":true}`, ErrClaimType, aud + "a boolean"},
		{"aud an array holding a number", v.audIss, `{"aud":["` + hubURL + `",1],"iss":"https://example.com"}`, ErrClaimType, aud + "an array holding a number"},
		{"iss a number", v.hs, `{"iss":1}`, ErrClaimType, `claim "iss" ` + str + "a number"},
		{"iss an array", v.audIss, `{"aud":"` + hubURL + `","iss":["https://example.com"]}`, ErrClaimType, `claim "iss" ` + str + "an array"},
		{"sub a number", v.hs, `{"sub":7}`, ErrClaimType, `claim "sub" ` + str + "a number"},
		{"sub an object", v.hs, `{"sub":{}}`, ErrClaimType, `claim "sub" ` + str + "an object"},
		{"jti a number", v.hs, `{"jti":7}`, ErrClaimType, `claim "jti" ` + str + "a number"},
		{"client_id a boolean", v.hs, `{"client_id":false}`, ErrClaimType, `claim "client_id" ` + str + "a boolean"},
		{"exp a word", v.hs, `{"exp":"tomorrow"}`, ErrClaimType, `claim "exp" ` + date + "a string"},
		{"exp an array", v.hs, `{"exp":[1]}`, ErrClaimType, `claim "exp" ` + date + "an array"},
		{"nbf a boolean", v.hs, `{"nbf":true}`, ErrClaimType, `claim "nbf" ` + date + "a boolean"},
		{"iat an object", v.hs, `{"iat":{}}`, ErrClaimType, `claim "iat" ` + date + "an object"},
		{"mercure a number", v.hs, `{"mercure":42}`, ErrInvalidClaim, `claim "mercure" must be an object`},
		{"mercure a string", v.hs, `{"mercure":"publish"}`, ErrInvalidClaim, `claim "mercure" must be an object {"publish": [...], "subscribe": [...]}, not a string`},
		{"mercure publish a string", v.hs, `{"mercure":{"publish":"*"}}`, ErrInvalidClaim, `claim "mercure": "publish" must be an array of topic selectors, not a string`},
		{"mercure subscribe an object", v.hs, `{"mercure":{"subscribe":{}}}`, ErrInvalidClaim, `claim "mercure": "subscribe" must be an array of topic selectors, not an object`},
		{"mercure entry a number", v.hs, `{"mercure":{"subscribe":[1]}}`, ErrInvalidClaim, `claim "mercure": topic matcher 1 is neither a selector string nor an object`},
		{"namespaced claim a number", v.hs, `{"https://mercure.rocks/":1}`, ErrInvalidClaim, `claim "https://mercure.rocks/" must be an object`},
		{"authorization_details an object", v.hs, `{"authorization_details":{}}`, ErrInvalidClaim, `claim "authorization_details" must be an array of objects, not an object`},
		{"actions a string", v.hs, `{"authorization_details":[{"type":"` + DetailType + `","actions":"publish","topics":[{"match":"a"}]}]}`, ErrInvalidClaim, `authorization_details[0]: "actions" must be an array of strings`},

		{"null claims are absent", v.hs, `{"aud":null,"iss":null,"sub":null,"nbf":null,"iat":null,"jti":null,"client_id":null,"mercure":null}`, nil, ""},
		{"aud one string", v.audIss, `{"aud":"` + hubURL + `","iss":"https://example.com"}`, nil, ""},
		{"fractional dates", v.hs, `{"iat":1.5,"nbf":1.5}`, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.v.Verify(hsClaims(tt.claims))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Verify: err = %v, want %v", err, tt.wantErr)
			}
			if err == nil {
				return
			}
			if errors.Is(err, ErrMalformed) || strings.Contains(err.Error(), "compact serialization") {
				t.Errorf("err = %v: a well-formed token is called malformed", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to hold %q", err, tt.want)
			}
			if status, challenge := Challenge(err, ""); status != 401 || challenge != `Bearer error="invalid_token"` {
				t.Errorf("Challenge = %d %q, want 401 invalid_token", status, challenge)
			}
		})
	}
}

func TestVerifyClaims(t *testing.T) {
	v := newVerifiers(t)
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	want := Claims{
		Form: FormDetails, Issuer: "https://example.com", Subject: "urn:uuid:1", Audience: []string{hubURL},
		ExpiresAt: exp, Publish: []Matcher{{Match: "https://example.com/books/1", Type: MatchExact}},
	}
	c, err := v.strict.Verify(mustSign(t, Signer{Alg: RS256, Key: rsaKey()}, want))
	if err != nil {
		t.Fatal(err)
	}
	if !c.ExpiresAt.Equal(exp) || c.Issuer != want.Issuer || c.Subject != want.Subject ||
		len(c.Audience) != 1 || c.Audience[0] != hubURL || c.Form != FormDetails ||
		!reflect.DeepEqual(c.Publish, want.Publish) {
		t.Fatalf("claims = %+v, want %+v", c, want)
	}
	if c, err = v.hs.Verify(mustSign(t, Signer{Alg: HS256, Key: secret}, Claims{Form: FormLegacy})); err != nil || !c.ExpiresAt.IsZero() {
		t.Fatalf("token without exp: claims %+v, err %v; want zero ExpiresAt", c, err)
	}
}

func TestNewVerifier(t *testing.T) {
	hsKey := must(HMACKey(secret))
	tests := []struct {
		name    string
		cfg     Config
		wantErr error
	}{
		{"one key", Config{Keys: []Key{hsKey}}, nil},
		{"no keys", Config{}, ErrConfig},
		{"zero key", Config{Keys: []Key{{}}}, ErrKey},
		{"negative leeway", Config{Keys: []Key{hsKey}, Leeway: -time.Second}, ErrConfig},
		{"strict without audience", Config{Keys: []Key{hsKey}, RequireAccessToken: true, Issuer: "x"}, ErrConfig},
		{"strict without issuer", Config{Keys: []Key{hsKey}, RequireAccessToken: true, Audience: "x"}, ErrConfig},
		{"strict", Config{Keys: []Key{hsKey}, RequireAccessToken: true, Audience: "x", Issuer: "y"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewVerifier(tt.cfg)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) || (err == nil) != (v != nil) {
				t.Fatalf("NewVerifier: %v, %v; want error %v", v, err, tt.wantErr)
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	v := mustVerifier(f, Config{Keys: []Key{must(HMACKey(secret))}})
	valid := mustSign(f, Signer{Alg: HS256, Key: secret}, Claims{Form: FormLegacy, Publish: []Matcher{{Match: "*"}}})
	f.Add(valid)
	f.Add(hsClaims(`{"authorization_details":[` + detail(`["subscribe"]`, `[{"match":"a"}]`, `{"p":1}`) + `]}`))
	f.Add(raw(map[string]string{"alg": "none"}, `{}`, func(string) []byte { return nil }))
	f.Add("a.b.c")
	sentinels := []error{ErrNoToken, ErrTooLarge, ErrMalformed, ErrCritical, ErrTokenType, ErrAlgorithm,
		ErrUnknownKey, ErrSignature, ErrExpired, ErrNotYetValid, ErrClaimType, ErrInvalidClaim}
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(token)
		if err == nil {
			if c == nil || strings.Count(token, ".") != 2 {
				t.Fatalf("accepted %q with claims %v", token, c)
			}
			return
		}
		n := 0
		for _, s := range sentinels {
			if errors.Is(err, s) {
				n++
			}
		}
		if n != 1 || c != nil {
			t.Fatalf("Verify(%q) = %v, %v: want one sentinel and no claims", token, c, err)
		}
	})
}

// TestVerifyConcurrent checks that one Verifier serves many goroutines (run
// with -race).
func TestVerifyConcurrent(t *testing.T) {
	v := mustVerifier(t, Config{Keys: []Key{must(HMACKey(secret))}})
	good := mustSign(t, Signer{Alg: HS256, Key: secret}, Claims{Form: FormLegacy, Publish: []Matcher{{Match: "*"}}})
	bad := mustSign(t, Signer{Alg: HS256, Key: secret}, Claims{ExpiresAt: time.Now().Add(-time.Hour)})
	errs := make(chan error, 16)
	for i := range 16 {
		go func() {
			var err error
			for range 50 {
				if _, e := v.Verify(good); e != nil {
					err = e
				}
				if _, e := v.Verify(bad); !errors.Is(e, ErrExpired) {
					err = fmt.Errorf("goroutine %d: expired token: %v", i, e)
				}
			}
			errs <- err
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	c := Claims{Subscribe: []Matcher{{Match: "https://example.com/books/:id", Type: MatchURLPattern}}, ExpiresAt: time.Now().Add(time.Hour)}
	for _, bc := range []struct {
		name string
		key  Key
		s    Signer
	}{
		{"HS256", must(HMACKey(secret)), Signer{Alg: HS256, Key: secret}},
		{"RS256", must(PublicKey(&rsaKey().PublicKey)), Signer{Alg: RS256, Key: rsaKey()}},
		{"ES256", must(PublicKey(&ecKey().PublicKey)), Signer{Alg: ES256, Key: ecKey()}},
	} {
		v := mustVerifier(b, Config{Keys: []Key{bc.key}})
		tok := mustSign(b, bc.s, c)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
