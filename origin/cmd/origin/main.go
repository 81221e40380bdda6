// Command origin is the origin hub of edge-sse: app backends publish to it,
// browsers and edge hubs subscribe to it (the Mercure protocol, plus the
// edge feed). One binary, four commands:
//
//	origin serve [flags]                      run the hub
//	origin publish --topic T [--data D] ...   publish one update, print its id
//	origin token [--publish T] [--subscribe T] ...   mint a JWT
//	origin tail URL|-                         print an event stream as JSON lines
//
// Every serve flag can also be set by an environment variable: --feed-secret
// by ORIGIN_FEED_SECRET, and so on. See origin/README.md.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/edge-sse/edge-sse/shared/auth"
)

// errUsage reports a command line that does not parse, and errHelp a
// request for help; the usage has already been printed.
var (
	errUsage = errors.New("origin: invalid command line")
	errHelp  = errors.New("origin: help requested")
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.LookupEnv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs one command and returns the process exit code: 0 on success, 2
// for a command line that does not parse, 1 for any other failure.
func run(ctx context.Context, args []string, env func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		err = serve(ctx, rest, env, stdout, stderr, nil)
	case "publish":
		err = publishCmd(ctx, rest, env, stdin, stdout, stderr)
	case "token":
		err = tokenCmd(rest, env, stdout, stderr)
	case "tail":
		err = tailCmd(ctx, rest, env, stdin, stdout, stderr)
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "origin: unknown command %q\n", cmd)
		usage(stderr)
		return 2
	}
	switch {
	case errors.Is(err, errHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case err != nil:
		fmt.Fprintln(stderr, "origin:", err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: origin <command> [flags]

commands:
  serve     run the hub (origin serve -h for its flags)
  publish   publish one update and print its id
  token     mint a JWT granting publish and/or subscribe topics
  tail      read an event stream (URL or - for stdin) and print it as JSON lines
`)
}

// devKey returns a random HS256 secret and a token signed with it that
// grants publish and subscribe on every topic, without expiry, for dev mode.
func devKey() (key, token string, err error) {
	key = randomHex(32)
	token, err = auth.Sign(auth.Claims{
		Subject:   "origin-dev",
		Publish:   []auth.Matcher{{Match: "*"}},
		Subscribe: []auth.Matcher{{Match: "*"}},
	}, []byte(key), auth.HS256, 0)
	return key, token, err
}

// randomHex returns n random bytes, hex-encoded.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand, Go 1.24)
	return hex.EncodeToString(b)
}
