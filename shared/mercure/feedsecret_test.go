package mercure_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/edge-sse/edge-sse/shared/mercure"
)

// TestFeedSecretProblem: a missing, short or published secret is refused,
// each with its own error; a long random one is accepted.
func TestFeedSecretProblem(t *testing.T) {
	for _, c := range []struct {
		secret string
		want   error
	}{
		{"", mercure.ErrNoFeedSecret},
		{"dev-feed-secret", mercure.ErrKnownFeedSecret},
		{"DEV-FEED-SECRET", mercure.ErrKnownFeedSecret},
		{"!ChangeThisMercureHubJWTSecretKey!", mercure.ErrKnownFeedSecret},
		{"short", mercure.ErrShortFeedSecret},
		{strings.Repeat("x", mercure.MinFeedSecretBytes-1), mercure.ErrShortFeedSecret},
		{strings.Repeat("x", mercure.MinFeedSecretBytes), nil},
		{"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", nil},
	} {
		err := mercure.FeedSecretProblem(c.secret)
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("FeedSecretProblem(%q) = %v, want %v", c.secret, err, c.want)
		}
	}
}

// TestIsLoopbackHost: only names of this machine are loopback; every
// interface (empty host, 0.0.0.0, ::) and public names are not.
func TestIsLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "127.0.0.1": true, "127.8.9.10": true, "::1": true, "[::1]": true,
		"": false, "0.0.0.0": false, "::": false, "[::]": false, "10.0.0.1": false, "origin.example.com": false,
		"localhost.example.com": false, "128.0.0.1": false,
	} {
		if got := mercure.IsLoopbackHost(host); got != want {
			t.Errorf("IsLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}
