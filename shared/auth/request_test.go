package auth

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

const (
	tokA = "eyJhbGciOiJIUzI1NiJ9.e30.sig-A_"
	tokB = "eyJhbGciOiJIUzI1NiJ9.e30.sig-B_"
)

// tokenTests are the TokenFromRequest cases, also the fuzz seeds.
var tokenTests = []struct {
	name          string
	authorization string
	cookie        string
	names         []string
	want          string
	wantErr       error
}{
	{"bearer header", "Bearer " + tokA, "", nil, tokA, nil},
	{"scheme is case-insensitive", "bEARER " + tokA, "", nil, tokA, nil},
	{"extra spaces", "Bearer   " + tokA + " ", "", nil, tokA, nil},
	{"b64token padding", "Bearer abc+/==", "", nil, "abc+/==", nil},
	{"spec cookie", "", CookieName + "=" + tokA, nil, tokA, nil},
	{"legacy cookie", "", "a=b; " + LegacyCookieName + "=" + tokA + "; c=d", nil, tokA, nil},
	{"quoted cookie", "", LegacyCookieName + `="` + tokA + `"`, nil, tokA, nil},
	{"header wins over cookie", "Bearer " + tokA, CookieName + "=" + tokB, nil, tokA, nil},
	{"bad header is not rescued by a cookie", "Basic dXNlcjpwYXNz", CookieName + "=" + tokB, nil, "", ErrAuthorizationHeader},
	{"spec cookie wins over legacy cookie", "", LegacyCookieName + "=" + tokB + "; " + CookieName + "=" + tokA, nil, tokA, nil},
	{"empty spec cookie falls back to legacy", "", CookieName + "=; " + LegacyCookieName + "=" + tokA, nil, tokA, nil},
	{"first of duplicate cookies", "", LegacyCookieName + "=" + tokA + "; " + LegacyCookieName + "=" + tokB, nil, tokA, nil},
	{"configured cookie name", "", "hub1=" + tokA + "; " + CookieName + "=" + tokB, []string{"hub1"}, tokA, nil},
	{"configured name ignores the defaults", "", CookieName + "=" + tokB, []string{"hub1"}, "", ErrNoToken},
	{"cookie name must match exactly", "", "x" + LegacyCookieName + "=" + tokA, nil, "", ErrNoToken},
	{"nothing", "", "", nil, "", ErrNoToken},
	{"other cookies only", "", "session=abc", nil, "", ErrNoToken},
	{"Cookie headers joined by Fetch Headers", "", "a=b, " + LegacyCookieName + "=" + tokA, nil, tokA, nil},
	{"Cookie headers joined with ; and ,", "", "a=b; c=d, " + CookieName + "=" + tokA + "; e=f", nil, tokA, nil},
	{"a bare comma stays in the value", "", LegacyCookieName + "=,abc", nil, ",abc", nil},
	{"basic scheme", "Basic dXNlcjpwYXNz", "", nil, "", ErrAuthorizationHeader},
	{"scheme only", "Bearer", "", nil, "", ErrAuthorizationHeader},
	{"scheme and space", "Bearer ", "", nil, "", ErrAuthorizationHeader},
	{"two tokens", "Bearer " + tokA + ", Bearer " + tokB, "", nil, "", ErrAuthorizationHeader},
	{"token with space", "Bearer " + tokA + " x", "", nil, "", ErrAuthorizationHeader},
	{"bearer prefix without space", "Bearer" + tokA, "", nil, "", ErrAuthorizationHeader},
	{"padding inside", "Bearer a=b", "", nil, "", ErrAuthorizationHeader},
}

func TestTokenFromRequest(t *testing.T) {
	for _, tt := range tokenTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := TokenFromRequest(tt.authorization, tt.cookie, tt.names...)
			if got != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("TokenFromRequest = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func FuzzTokenFromRequest(f *testing.F) {
	for _, tt := range tokenTests {
		f.Add(tt.authorization, tt.cookie)
	}
	f.Fuzz(func(t *testing.T, authorization, cookie string) {
		got, err := TokenFromRequest(authorization, cookie)
		switch {
		case err != nil && got != "":
			t.Fatalf("token %q with error %v", got, err)
		case err == nil && got == "":
			t.Fatal("empty token without error")
		case err == nil && authorization != "" && !(strings.Contains(authorization, got) && isB64Token(got)):
			t.Fatalf("token %q is not the b64token of header %q", got, authorization)
		case err == nil && authorization == "" && !strings.Contains(cookie, got):
			t.Fatalf("token %q is not in cookie header %q", got, cookie)
		}
	})
}

func TestChallenge(t *testing.T) {
	const meta = "https://hub.example.com/.well-known/oauth-protected-resource"
	tests := []struct {
		name       string
		err        error
		meta       string
		wantStatus int
		wantHeader string
	}{
		{"no error", nil, meta, 200, ""},
		{"no token", ErrNoToken, meta, 401, `Bearer resource_metadata="` + meta + `"`},
		{"no token, no metadata", ErrNoToken, "", 401, "Bearer"},
		{"bad header", ErrAuthorizationHeader, "", 400, `Bearer error="invalid_request"`},
		{"expired", fmt.Errorf("subscribe: %w", ErrExpired), meta, 401, `Bearer error="invalid_token", resource_metadata="` + meta + `"`},
		{"bad signature", ErrSignature, "", 401, `Bearer error="invalid_token"`},
		{"malformed grants", ErrInvalidClaim, "", 401, `Bearer error="invalid_token"`},
		{"publish forbidden", fmt.Errorf("publish topic %q: %w", "x", ErrPublishForbidden), "", 403, `Bearer error="insufficient_scope"`},
		{"subscribe forbidden", fmt.Errorf("path %q: %w", "/x", ErrSubscribeForbidden), "", 403, `Bearer error="insufficient_scope"`},
		{"no mercure claim", ErrNoMercureClaim, "", 403, `Bearer error="insufficient_scope"`},
		{"unknown error fails closed", errors.New("boom"), "", 401, `Bearer error="invalid_token"`},
		{"metadata with quotes", ErrNoToken, `https://h/"x"`, 401, `Bearer resource_metadata="https://h/\"x\""`},
		{"metadata with CRLF is dropped", ErrNoToken, "https://h/\r\nSet-Cookie: x", 401, "Bearer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, header := Challenge(tt.err, tt.meta)
			if status != tt.wantStatus || header != tt.wantHeader {
				t.Fatalf("Challenge = %d %q, want %d %q", status, header, tt.wantStatus, tt.wantHeader)
			}
		})
	}
}
