package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/shared/auth"
)

const testKey = "cli-test-secret-0123456789abcdef-0123456789"

// verify checks a minted token with the verifier of key.
func verify(t *testing.T, k auth.Key, token string, cfg auth.Config) *auth.Claims {
	t.Helper()
	cfg.Keys = []auth.Key{k}
	v, err := auth.NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(token)
	if err != nil {
		t.Fatalf("minted token does not verify: %v", err)
	}
	return c
}

func hmacKey(t *testing.T, secret string) auth.Key {
	t.Helper()
	k, err := auth.HMACKey([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestToken: "origin token" mints a token with the requested grants, in
// the current or the legacy claim form, and exp after --ttl.
func TestToken(t *testing.T) {
	code, stdout, stderr := runCmd(t, noEnv, nil, "token", "--jwt-key", testKey,
		"--publish", "https://example.com/books/1", "--subscribe", "urlpattern:https://example.com/books/:id", "--subscribe", "*",
		"--ttl", "10m", "--jwt-audience", "https://hub.test/.well-known/mercure", "--jwt-issuer", "https://issuer.test")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	c := verify(t, hmacKey(t, testKey), strings.TrimSpace(stdout), auth.Config{
		Audience: "https://hub.test/.well-known/mercure", Issuer: "https://issuer.test", RequireAccessToken: true,
	})
	if c.Form != auth.FormDetails || len(c.Publish) != 1 || c.Publish[0].Match != "https://example.com/books/1" ||
		len(c.Subscribe) != 2 || c.Subscribe[0].Type != auth.MatchURLPattern || c.Subscribe[1].Match != "*" {
		t.Fatalf("claims %+v", c)
	}
	if ttl := time.Until(c.ExpiresAt); ttl < 9*time.Minute || ttl > 10*time.Minute {
		t.Fatalf("exp in %v, want about 10m", ttl)
	}

	env := func(k string) (string, bool) { return testKey, k == "ORIGIN_JWT_KEY" }
	code, stdout, stderr = runCmd(t, env, nil, "token", "--legacy", "--publish", "https://example.com/books/{id}", "--ttl", "0")
	if code != 0 {
		t.Fatalf("legacy: exit %d: %s", code, stderr)
	}
	c = verify(t, hmacKey(t, testKey), strings.TrimSpace(stdout), auth.Config{})
	if c.Form != auth.FormLegacy || c.Publish[0].Type != auth.MatchSelector || !c.ExpiresAt.IsZero() {
		t.Fatalf("legacy claims %+v", c)
	}
}

func TestTokenRS256(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCmd(t, noEnv, nil, "token", "--jwt-alg", "RS256", "--jwt-key", path, "--publish", "*")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	k, err := auth.PublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	verify(t, k, strings.TrimSpace(stdout), auth.Config{})
}

func TestTokenRefusals(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"token", "--publish", "*"}, "missing --jwt-key"},
		{[]string{"token", "--jwt-key", testKey}, "nothing to grant"},
		{[]string{"token", "--jwt-key", "short", "--publish", "*"}, "cannot sign"},
	} {
		code, _, stderr := runCmd(t, noEnv, nil, c.args...)
		if code != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, stderr, c.want)
		}
	}
}
