package mercure

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// MinFeedSecretBytes is the shortest feed secret accepted wherever the
// feed can be reached beyond loopback: 32 bytes, the size of a secret
// from `openssl rand -hex 16` and of an HS256 key.
const MinFeedSecretBytes = 32

// KnownSecrets are secrets published in documentation, examples and
// earlier versions of this project (the development feed secret that
// used to be the default). Anyone can try them, so they are refused like
// a missing secret.
var KnownSecrets = []string{
	"dev-feed-secret",
	"!ChangeThisMercureHubJWTSecretKey!", // the Mercure reference hub's documented default
	"!ChangeMe!",
}

// Errors of FeedSecretProblem.
var (
	ErrNoFeedSecret    = errors.New("no feed secret is configured")
	ErrShortFeedSecret = fmt.Errorf("the feed secret is shorter than %d bytes", MinFeedSecretBytes)
	ErrKnownFeedSecret = errors.New("the feed secret is a published value")
)

// FeedSecretProblem returns why secret may not authenticate an edge feed
// reachable beyond loopback: it is empty, shorter than
// MinFeedSecretBytes, or one of KnownSecrets. It returns nil for a
// secret fit for that use. Both sides apply it: the origin before it
// opens its feed, the edge before it connects to the origin's.
func FeedSecretProblem(secret string) error {
	switch {
	case secret == "":
		return ErrNoFeedSecret
	case isKnownSecret(secret):
		return ErrKnownFeedSecret
	case len(secret) < MinFeedSecretBytes:
		return fmt.Errorf("%w (it has %d)", ErrShortFeedSecret, len(secret))
	}
	return nil
}

func isKnownSecret(s string) bool {
	for _, k := range KnownSecrets {
		if strings.EqualFold(s, k) {
			return true
		}
	}
	return false
}

// IsLoopbackHost reports whether host, a host name or IP address without
// port (brackets allowed), names only this machine: "localhost" or an
// address of 127.0.0.0/8 or ::1. An empty host (listen on every
// interface) and 0.0.0.0 are not loopback.
func IsLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
