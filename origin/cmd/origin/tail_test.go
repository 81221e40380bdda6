package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"testing/iotest"
)

// noEnv is an empty environment.
func noEnv(string) (string, bool) { return "", false }

// runCmd runs the origin command line with stdin and returns the exit
// code, stdout and stderr.
func runCmd(t *testing.T, env func(string) (string, bool), stdin io.Reader, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	code := run(context.Background(), args, env, stdin, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestTailGolden: "origin tail -" prints one JSON line per dispatched
// event and per valid retry field of testdata/tail.input, exactly as
// testdata/tail.golden holds them. The input exercises the WHATWG parsing
// rules: BOM, comments, CR, LF and CRLF line ends, invalid retry values, a
// field without a colon, an id with NUL (ignored), an id reset, and an
// unterminated last event (not dispatched).
func TestTailGolden(t *testing.T) {
	input, err := os.ReadFile("testdata/tail.input")
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile("testdata/tail.golden")
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]io.Reader{
		"whole":        bytes.NewReader(input),
		"byte by byte": iotest.OneByteReader(bytes.NewReader(input)),
	} {
		code, stdout, stderr := runCmd(t, noEnv, r, "tail", "-")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, stderr)
		}
		if stdout != string(golden) {
			t.Errorf("%s: output differs from testdata/tail.golden\n got:\n%s\nwant:\n%s", name, stdout, golden)
		}
	}
}

// TestTailURL: "origin tail URL" sends the token and Last-Event-ID, and
// the last event id starts at the one given, as in a reconnected
// EventSource.
func TestTailURL(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("Last-Event-ID") != "5" {
			http.Error(w, "missing token or Last-Event-ID", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "retry: 3000\n:\ndata: after 5\n\nid: 6\nevent: update\ndata: six\n\n")
	}))
	defer ts.Close()
	code, stdout, stderr := runCmd(t, noEnv, nil, "tail", ts.URL, "--token", "tok", "--last-event-id", "5")
	want := `{"retry":3000}
{"type":"message","data":"after 5","lastEventId":"5"}
{"type":"update","data":"six","lastEventId":"6"}
`
	if code != 0 || stdout != want {
		t.Fatalf("exit %d, stdout\n%s\nwant\n%s\nstderr %s", code, stdout, want, stderr)
	}

	code, _, stderr = runCmd(t, noEnv, nil, "tail", ts.URL)
	if code != 1 || !strings.Contains(stderr, "401") || !strings.Contains(stderr, "missing token") {
		t.Fatalf("refused stream: exit %d, stderr %q", code, stderr)
	}
}

func TestTailUsage(t *testing.T) {
	if code, _, _ := runCmd(t, noEnv, nil, "tail"); code != 2 {
		t.Fatalf("tail without a source: exit %d, want 2", code)
	}
	if code, _, _ := runCmd(t, noEnv, nil, "nope"); code != 2 {
		t.Fatalf("unknown command: exit %d, want 2", code)
	}
}
