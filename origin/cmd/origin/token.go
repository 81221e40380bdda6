package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/edge-sse/edge-sse/shared/auth"
)

// urlPatternPrefix marks a grant as a URL pattern in "origin token":
// --subscribe urlpattern:https://example.com/books/:id.
const urlPatternPrefix = "urlpattern:"

// tokenSpec describes a token to mint.
type tokenSpec struct {
	key, alg           string
	publish, subscribe []string
	ttl                time.Duration
	audience, issuer   string
	subject            string
	legacy             bool
}

// mint signs the token described by t (Mercure §"Authorization"): grants in
// the authorization_details claim with typ at+jwt, or with t.legacy in the
// pre-standardization mercure claim that deployed hubs read.
func mint(t tokenSpec) (string, error) {
	key, alg, err := signingKey(t.key, t.alg)
	if err != nil {
		return "", err
	}
	c := auth.Claims{Form: auth.FormDetails, Issuer: t.issuer, Subject: t.subject}
	if t.legacy {
		c.Form = auth.FormLegacy
	}
	if t.audience != "" {
		c.Audience = []string{t.audience}
	}
	c.Publish, c.Subscribe = matchers(t.publish), matchers(t.subscribe)
	return auth.Sign(c, key, alg, t.ttl)
}

// matchers turns grant flags into token matchers: exact topics (in the
// legacy claim, topic selectors, which may be URI Templates), or URL
// patterns written with the urlpattern: prefix.
func matchers(values []string) []auth.Matcher {
	var ms []auth.Matcher
	for _, v := range values {
		m := auth.Matcher{Match: v}
		if p, ok := strings.CutPrefix(v, urlPatternPrefix); ok {
			m = auth.Matcher{Match: p, Type: auth.MatchURLPattern}
		}
		ms = append(ms, m)
	}
	return ms
}

// tokenCmd is "origin token": it prints a signed JWT granting the given
// publish and subscribe topics.
func tokenCmd(args []string, env func(string) (string, bool), stdout, stderr io.Writer) error {
	fs := newFlagSet("token", "token --jwt-key KEY [--publish TOPIC]... [--subscribe TOPIC]... [flags]", stderr)
	var t tokenSpec
	var publish, subscribe listFlag
	fs.StringVar(&t.key, "jwt-key", "", "signing key: an HS256 secret of at least 32 bytes, or for RS256/ES256 a PEM private key (inline or file path)")
	fs.StringVar(&t.alg, "jwt-alg", auth.HS256, "signing algorithm: HS256, RS256 or ES256")
	fs.Var(&publish, "publish", `topic the token may publish to (repeatable; "*" for all; prefix urlpattern: for a URL pattern)`)
	fs.Var(&subscribe, "subscribe", `topic whose private updates the token may receive (repeatable; "*" for all; prefix urlpattern: for a URL pattern)`)
	fs.DurationVar(&t.ttl, "ttl", time.Hour, "lifetime of the token (exp claim); 0 for no exp")
	fs.StringVar(&t.audience, "jwt-audience", "", "aud claim: the hub's resource identifier")
	fs.StringVar(&t.issuer, "jwt-issuer", "", "iss claim")
	fs.StringVar(&t.subject, "subject", "origin-cli", "sub claim")
	fs.BoolVar(&t.legacy, "legacy", false, `write the pre-standardization "mercure" claim instead of authorization_details`)
	bindEnv(fs, "jwt-key", "jwt-alg", "jwt-audience", "jwt-issuer")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := applyEnv(fs, env); err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}
	if t.key == "" {
		return errors.New("missing --jwt-key (or ORIGIN_JWT_KEY)")
	}
	if len(publish)+len(subscribe) == 0 {
		return errors.New("nothing to grant: give --publish and/or --subscribe topics")
	}
	t.publish, t.subscribe = publish, subscribe
	tok, err := mint(t)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}
