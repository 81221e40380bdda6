package settings

import (
	"bufio"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/shared/mercure"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// TestLoadDefaults: every default of the table parses, and an empty
// environment gives the documented configuration (no feed secret).
func TestLoadDefaults(t *testing.T) {
	c := Load(env(nil))
	star, _ := mercure.ParseCORS("*")
	if len(c.Problems()) != 0 {
		t.Fatalf("defaults do not parse: %v", c.Problems())
	}
	if c.OriginURL != "http://127.0.0.1:8080" || c.FeedSecret != "" || c.HubShards != 1 || c.Heartbeat != 15*time.Second ||
		c.FeedTimeout != 35*time.Second || c.FeedBuffer != 4096*1024 || c.RingSize != 4096 || c.ClientStall != time.Minute ||
		c.MaxStream != 30*time.Minute || c.MaxClients != 1000 || c.MaxCatchup != 1000 || c.MaxPublishBytes != 1<<20 ||
		!reflect.DeepEqual(c.CORSOrigins, star) || c.AllowAnonymous || c.Retry != 2*time.Second || c.RetryJitter != 8*time.Second ||
		c.FeedCollect != 2*time.Millisecond || c.DevPublishToken != "" || c.CPUBudget != 5*time.Minute ||
		c.WriteCost != 50*time.Microsecond || c.ShedAt != 50 || c.ShedPct != 10 {
		t.Fatalf("defaults: %+v", c)
	}
}

// TestLoadValues: set values reach the configuration and the limits
// /_edge/stats shows; 0 is accepted where it means off; a value that does
// not parse keeps the default and is reported with its name.
func TestLoadValues(t *testing.T) {
	c := Load(env(map[string]string{
		"FEED_BUFFER_KB": "1", "CLIENT_STALL_MS": "0", "MAX_CLIENTS": "2", "ALLOW_ANONYMOUS": "true",
		"DEV_PUBLISH_TOKEN": "tok", "RING_SIZE": "0", "RETRY_MS": "soon", "ALLOW_ANONYMOUS_X": "1",
	}))
	if c.FeedBuffer != 1024 || c.ClientStall != 0 || c.MaxClients != 2 || !c.AllowAnonymous || c.DevPublishToken != "tok" {
		t.Fatalf("values not applied: %+v", c)
	}
	if c.RingSize != 4096 || c.Retry != 2*time.Second {
		t.Fatalf("bad values not replaced by defaults: ring %d retry %s", c.RingSize, c.Retry)
	}
	probs := c.Problems()
	if len(probs) != 2 || !strings.Contains(probs[0].Error(), `RING_SIZE="0"`) || !strings.Contains(probs[1].Error(), `RETRY_MS="soon"`) {
		t.Fatalf("problems %v", probs)
	}
	l := c.Limits()
	if l["FEED_BUFFER_KB"] != 1 || l["CLIENT_STALL_MS"] != 0 || l["MAX_CLIENTS"] != 2 || l["RING_SIZE"] != 4096 || l["MAX_STREAM_MS"] != 1800000 {
		t.Fatalf("limits %v", l)
	}
	for _, s := range Table {
		if _, ok := l[s.Name]; ok != s.Limit {
			t.Errorf("%s in limits: %v, Limit %v", s.Name, ok, s.Limit)
		}
	}
}

// TestLoadCORSOrigins: CORS_ORIGINS is a comma-separated list whose
// origins are allowed with credentials; a value that is not "*" or
// origins is reported and leaves the default, "*".
func TestLoadCORSOrigins(t *testing.T) {
	c := Load(env(map[string]string{"CORS_ORIGINS": "https://app.example, *"}))
	if a, cr := c.CORSOrigins.Allow("https://app.example"); a != "https://app.example" || !cr || len(c.Problems()) != 0 {
		t.Errorf("listed origin: %q %v %v", a, cr, c.Problems())
	}
	if a, cr := c.CORSOrigins.Allow("https://other.example"); a != "*" || cr {
		t.Errorf("other origin: %q %v", a, cr)
	}
	c = Load(env(map[string]string{"CORS_ORIGINS": "app.example"}))
	if a, cr := c.CORSOrigins.Allow("app.example"); a != "*" || cr || len(c.Problems()) != 1 || !strings.Contains(c.Problems()[0].Error(), "CORS_ORIGINS") {
		t.Errorf("bad value: %q %v %v", a, cr, c.Problems())
	}
}

// TestFeedProblem: the worker opens no feed without FEED_SECRET, and none
// with a short or published one unless ORIGIN_URL is loopback; the reason
// names FEED_SECRET.
func TestFeedProblem(t *testing.T) {
	strong := "0123456789abcdef0123456789abcdef"
	for _, c := range []struct {
		origin, secret string
		want           string // "" accepted
	}{
		{"http://127.0.0.1:8080", "", "FEED_SECRET is not set"},
		{"https://origin.example.com", "", "FEED_SECRET is not set"},
		{"http://127.0.0.1:8080", "dev-feed-secret", ""},
		{"http://localhost:8080", "short", ""},
		{"http://[::1]:8080", "short", ""},
		{"https://origin.example.com", "dev-feed-secret", "published value"},
		{"https://origin.example.com", "short", "shorter than 32 bytes"},
		{"http://10.0.0.5:8080", "!ChangeThisMercureHubJWTSecretKey!", "published value"},
		{"http://0.0.0.0:8080", "short", "not loopback"},
		{"https://origin.example.com", strong, ""},
		{"origin.example.com", strong, "ORIGIN_URL"},
	} {
		cfg := Load(env(map[string]string{"ORIGIN_URL": c.origin, "FEED_SECRET": c.secret}))
		err := cfg.FeedProblem()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s with %q: refused: %v", c.origin, c.secret, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s with %q: %v, want an error saying %q", c.origin, c.secret, err, c.want)
		case c.want != "" && c.want != "ORIGIN_URL" && !strings.Contains(err.Error(), "FEED_SECRET"):
			t.Errorf("%s with %q: %v does not name FEED_SECRET", c.origin, c.secret, err)
		}
	}
}

// TestTableWellFormed: names are unique, kinds known, and a secret has
// no default (a default secret is a well-known one).
func TestTableWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Table {
		if seen[s.Name] {
			t.Errorf("%s listed twice", s.Name)
		}
		seen[s.Name] = true
		if s.Kind != Var && s.Kind != Secret {
			t.Errorf("%s: kind %q", s.Name, s.Kind)
		}
		if s.Kind == Secret && s.Default != "" {
			t.Errorf("secret %s has a default", s.Name)
		}
		if s.Doc == "" {
			t.Errorf("%s has no doc", s.Name)
		}
	}
}

// TestWranglerTomlVars: every name in wrangler.toml's [vars] is a var of
// the table with the table's default, and no secret is written there.
func TestWranglerTomlVars(t *testing.T) {
	vars := tomlVars(t, "../../wrangler.toml")
	if len(vars) == 0 {
		t.Fatal("no [vars] in wrangler.toml")
	}
	byName := map[string]Setting{}
	for _, s := range Table {
		byName[s.Name] = s
	}
	for name, v := range vars {
		s, ok := byName[name]
		switch {
		case !ok:
			t.Errorf("wrangler.toml sets %s, which the settings table does not have", name)
		case s.Kind == Secret:
			t.Errorf("wrangler.toml writes the secret %s in [vars]: use wrangler secret put", name)
		case v != s.Default:
			t.Errorf("wrangler.toml: %s = %q, the table's default is %q", name, v, s.Default)
		}
	}
}

// TestWranglerTomlCPULimit: the hub's CPU budget is the [limits] cpu_ms
// wrangler.toml gives the platform, so that it sheds before that limit.
func TestWranglerTomlCPULimit(t *testing.T) {
	data, err := os.ReadFile("../../wrangler.toml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\[limits\]\s*\n(?:#.*\n|\s*\n)*cpu_ms\s*=\s*(\d+)`).FindSubmatch(data)
	if m == nil {
		t.Fatal("wrangler.toml has no [limits] cpu_ms = N")
	}
	for _, s := range Table {
		if s.Name == "CPU_BUDGET_MS" && s.Default != string(m[1]) {
			t.Errorf("wrangler.toml [limits] cpu_ms = %s, but CPU_BUDGET_MS defaults to %s: keep them equal", m[1], s.Default)
		}
	}
}

// TestPercent: the shedding shares are percentages.
func TestPercent(t *testing.T) {
	c := Load(env(map[string]string{"SHED_AT_PCT": "101", "SHED_PCT": "0"}))
	if c.ShedAt != 50 || c.ShedPct != 10 || len(c.Problems()) != 2 {
		t.Fatalf("out-of-range percentages: shed at %d, shed %d, problems %v", c.ShedAt, c.ShedPct, c.Problems())
	}
	c = Load(env(map[string]string{"SHED_AT_PCT": "80", "SHED_PCT": "100"}))
	if c.ShedAt != 80 || c.ShedPct != 100 || len(c.Problems()) != 0 {
		t.Fatalf("percentages: shed at %d, shed %d, problems %v", c.ShedAt, c.ShedPct, c.Problems())
	}
}

// TestAdvice: the defaults draw no advice; MAX_CATCHUP below MAX_CLIENTS
// and a budget below the platform's default do, naming their variables.
func TestAdvice(t *testing.T) {
	if a := Load(env(nil)).Advice(); len(a) != 0 {
		t.Fatalf("defaults draw advice: %q", a)
	}
	a := Load(env(map[string]string{"MAX_CLIENTS": "5000", "CPU_BUDGET_MS": "2000"})).Advice()
	if len(a) != 2 || !strings.Contains(a[0], "MAX_CATCHUP=1000") || !strings.Contains(a[0], "MAX_CLIENTS=5000") || !strings.Contains(a[1], "CPU_BUDGET_MS=2000") {
		t.Fatalf("advice %q", a)
	}
}

// tomlVars returns the NAME = "value" lines of the [vars] section.
func tomlVars(t *testing.T, path string) map[string]string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line := regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"([^"]*)"\s*(#.*)?$`)
	vars := map[string]string{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(l, "["):
			in = l == "[vars]"
		case !in || l == "" || strings.HasPrefix(l, "#"):
		default:
			m := line.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("wrangler.toml [vars]: cannot read %q", l)
			}
			vars[m[1]] = m[2]
		}
	}
	return vars
}

// TestReadmeTable: the README's configuration table has exactly one row
// per setting, as Row renders it, and no other worker row.
func TestReadmeTable(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]bool{}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "| "+Var+" |") || strings.HasPrefix(l, "| "+Secret+" |") {
			rows[l] = true
		}
	}
	for _, s := range Table {
		if !rows[s.Row()] {
			t.Errorf("README lacks the row of %s; it must read:\n%s", s.Name, s.Row())
		}
		delete(rows, s.Row())
	}
	for r := range rows {
		t.Errorf("README row not in the settings table (or out of date): %s", r)
	}
}
