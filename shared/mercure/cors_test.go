package mercure_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/edge-sse/edge-sse/shared/mercure"
)

// TestCORS: "*" allows any origin without credentials; a listed origin is
// echoed with credentials (never "*" with them), also when "*" is listed
// too; an origin not listed gets nothing without "*"; Vary: Origin goes
// with every answer of a list that names origins.
func TestCORS(t *testing.T) {
	const app = "https://app.example"
	cases := []struct {
		list, origin string
		allow, creds string
		vary         bool
	}{
		{"*", app, "*", "", false},
		{"*", "", "*", "", false},
		{app, app, app, "true", true},
		{app, "https://other.example", "", "", true},
		{app, "", "", "", true},
		{"*, " + app + "/", app, app, "true", true},
		{"*," + app, "https://other.example", "*", "", true},
		{app + ",http://127.0.0.1:8081", "http://127.0.0.1:8081", "http://127.0.0.1:8081", "true", true},
		{"", app, "", "", false},
	}
	for _, tc := range cases {
		c, err := mercure.ParseCORS(tc.list)
		if err != nil {
			t.Fatalf("ParseCORS(%q): %v", tc.list, err)
		}
		h := http.Header{}
		c.Set(h, tc.origin)
		if got := h.Get("Access-Control-Allow-Origin"); got != tc.allow {
			t.Errorf("%q, Origin %q: Access-Control-Allow-Origin %q, want %q", tc.list, tc.origin, got, tc.allow)
		}
		if got := h.Get("Access-Control-Allow-Credentials"); got != tc.creds {
			t.Errorf("%q, Origin %q: Access-Control-Allow-Credentials %q, want %q", tc.list, tc.origin, got, tc.creds)
		}
		if got := h.Get("Vary") == "Origin"; got != tc.vary {
			t.Errorf("%q, Origin %q: Vary %q", tc.list, tc.origin, h.Get("Vary"))
		}
	}
}

func TestParseCORSRefuses(t *testing.T) {
	for _, list := range []string{"app.example", "https://app.example/path", "https://app.example?x", "ftp://app.example", "https://", "*, https://a.example/b", "https://u@app.example"} {
		if _, err := mercure.ParseCORS(list); err == nil {
			t.Errorf("ParseCORS(%q) accepted", list)
		}
	}
}

// TestCORSPreflight: an allowed origin gets 204 with the hub's methods,
// request headers and max age; another gets 403 naming the setting, and
// none of them.
func TestCORSPreflight(t *testing.T) {
	const app = "https://app.example"
	cases := []struct {
		list, origin string
		status       int
	}{
		{"*", app, http.StatusNoContent},
		{"*", "", http.StatusNoContent},
		{app, app, http.StatusNoContent},
		{app, "https://other.example", http.StatusForbidden},
		{app, "", http.StatusForbidden},
		{"", app, http.StatusForbidden},
	}
	for _, tc := range cases {
		c, err := mercure.ParseCORS(tc.list)
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		status, refusal := c.Preflight(h, tc.origin, "THE_SETTING")
		if status != tc.status {
			t.Errorf("%q, Origin %q: %d, want %d", tc.list, tc.origin, status, tc.status)
		}
		if status == http.StatusNoContent {
			if refusal != "" || h.Get("Access-Control-Allow-Methods") != "GET, POST, OPTIONS" ||
				h.Get("Access-Control-Allow-Headers") != "Authorization, Content-Type, Last-Event-ID, Cache-Control" || h.Get("Access-Control-Max-Age") != "600" {
				t.Errorf("%q, Origin %q: refusal %q, headers %v", tc.list, tc.origin, refusal, h)
			}
			continue
		}
		if !strings.Contains(refusal, "THE_SETTING") || !strings.Contains(refusal, `"`+tc.origin+`"`) || len(h) != 0 {
			t.Errorf("%q, Origin %q: refusal %q, headers %v", tc.list, tc.origin, refusal, h)
		}
	}
}
