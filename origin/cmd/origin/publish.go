package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/edge-sse/edge-sse/origin/server"
	"github.com/edge-sse/edge-sse/shared/auth"
)

// defaultHub is the hub "origin publish" and "origin tail" talk to by default.
const defaultHub = "http://127.0.0.1:8080"

// publishTokenTTL is the lifetime of a token minted by "origin publish".
const publishTokenTTL = time.Minute

// publishCmd is "origin publish": it posts one update (Mercure
// §"Publication") and prints the id the hub answers with.
func publishCmd(ctx context.Context, args []string, env func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("publish", "publish --topic TOPIC [--topic ALT]... [--data DATA] [flags]", stderr)
	var topics listFlag
	hubURL := fs.String("hub", defaultHub, "hub URL (the base URL, or the full "+server.MercurePath+" URL)")
	token := fs.String("token", "", "publisher token (JWT)")
	key := fs.String("jwt-key", "", "instead of --token, mint a one-minute token for exactly the given topics with this key (HS256 secret, or PEM private key for RS256/ES256)")
	alg := fs.String("jwt-alg", auth.HS256, "algorithm of --jwt-key: HS256, RS256 or ES256")
	audience := fs.String("jwt-audience", "", "aud claim of a minted token")
	issuer := fs.String("jwt-issuer", "", "iss claim of a minted token")
	fs.Var(&topics, "topic", "topic of the update (repeatable; the first is canonical, the others alternate)")
	data := fs.String("data", "", `data of the update ("-" reads it from stdin)`)
	id := fs.String("id", "", "event id (default: the hub assigns a urn:uuid)")
	typ := fs.String("type", "", "SSE event type")
	retry := fs.Int("retry", 0, "SSE retry, in milliseconds (0: none)")
	private := fs.Bool("private", false, "mark the update private: only subscribers whose token grants one of its topics receive it")
	bindEnv(fs, "hub", "token", "jwt-key", "jwt-alg", "jwt-audience", "jwt-issuer")
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
	if len(topics) == 0 {
		return errors.New("missing --topic")
	}
	if *data == "-" {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return fmt.Errorf("read data from stdin: %w", err)
		}
		*data = string(b)
	}
	if *token == "" && *key != "" {
		*token, err = mint(tokenSpec{key: *key, alg: *alg, publish: topics, ttl: publishTokenTTL, audience: *audience, issuer: *issuer, subject: "origin-cli"})
		if err != nil {
			return fmt.Errorf("mint publisher token: %w", err)
		}
	}
	if *token == "" {
		return errors.New("publishing needs a token: give --token, or --jwt-key to mint one")
	}

	form := url.Values{"topic": topics}
	setIf := func(name, v string) {
		if v != "" {
			form.Set(name, v)
		}
	}
	form.Set("data", *data)
	setIf("id", *id)
	setIf("type", *typ)
	if *retry > 0 {
		form.Set("retry", strconv.Itoa(*retry))
	}
	if *private {
		form.Set("private", "on")
	}
	target, err := hubEndpoint(*hubURL)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+*token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("publish: hub answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	_, err = fmt.Fprintln(stdout, string(body))
	return err
}

// hubEndpoint returns the hub endpoint for a hub flag: a base URL gets the
// well-known path (Mercure §"Hub Discovery"), a full URL is kept.
func hubEndpoint(hub string) (string, error) {
	u, err := url.Parse(hub)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("hub %q is not an http(s) URL", hub)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = server.MercurePath
	}
	return u.String(), nil
}
