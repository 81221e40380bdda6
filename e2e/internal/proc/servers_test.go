package proc

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeOrigin writes a script that prints usage as `serve -h` would and
// exits 2, as an origin of some older version.
func fakeOrigin(t *testing.T, usage string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "origin")
	script := "#!/bin/sh\ncat >&2 <<'EOF'\n" + usage + "EOF\nexit 2\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

const oldUsage = `usage: origin serve [flags]

flags:
  -addr string
    	listen address (env ORIGIN_ADDR) (default "127.0.0.1:8080")
  -allow-anonymous
    	let subscribers without a token receive public updates
  -heartbeat duration
    	keep-alive comment and feed heartbeat interval (default 15s)
  -jwt-key string
    	JWT key
`

// TestMissingOriginFlags: the flags of a binary come from its usage;
// values that look like flags (-1s) and flags it has are not reported;
// Origin.Start refuses a binary lacking a flag, naming it, without
// starting it.
func TestMissingOriginFlags(t *testing.T) {
	bin := fakeOrigin(t, oldUsage)
	have, err := OriginFlags(bin)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"addr", "allow-anonymous", "heartbeat", "jwt-key"}; !slices.Equal(sortedKeys(have), want) {
		t.Errorf("OriginFlags = %v, want %v", sortedKeys(have), want)
	}
	missing, err := MissingOriginFlags(bin, []string{"--metrics-token", "tok", "--heartbeat", "-1s", "-jwt-key=k", "--subscriptions", "--allow-anonymous=false"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"--metrics-token", "--subscriptions"}; !slices.Equal(missing, want) {
		t.Errorf("missing %v, want %v", missing, want)
	}
	_, err = Origin{Bin: bin, LogDir: t.TempDir(), Name: "origin-presence", Flags: []string{"--heartbeat", "2s", "--subscriptions"}}.Start()
	if err == nil || !strings.Contains(err.Error(), "has no --subscriptions, which origin-presence needs") {
		t.Errorf("Start with a flag the binary lacks: %v", err)
	}
	if _, err := OriginFlags(fakeOrigin(t, "sh: 1: no such command\n")); err == nil {
		t.Error("a binary whose usage lists no flags was accepted")
	}
}

func sortedKeys(m map[string]bool) []string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}
