package mercure_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/mercure"
)

// TestResumeID: the Last-Event-ID header takes precedence, then
// last_event_id, then the pre-standardization lastEventID (Mercure
// §"Reconciliation"); "earliest" passes through.
func TestResumeID(t *testing.T) {
	q := func(s string) url.Values { v, _ := url.ParseQuery(s); return v }
	for _, c := range []struct{ header, query, want string }{
		{"", "", ""},
		{"h", "last_event_id=a&lastEventID=b", "h"},
		{"", "last_event_id=a&lastEventID=b", "a"},
		{"", "lastEventID=b&last_event_id=a", "a"},
		{"", "lastEventID=b", "b"},
		{"", "last_event_id=&lastEventID=b", "b"},
		{"earliest", "", mercure.Earliest},
	} {
		if got := mercure.ResumeID(c.header, q(c.query)); got != c.want {
			t.Errorf("ResumeID(%q, %q) = %q, want %q", c.header, c.query, got, c.want)
		}
	}
}

// TestStreamHeaders: Mercure-Last-Event-ID and Last-Event-ID carry the id
// before the first event sent, or "earliest".
func TestStreamHeaders(t *testing.T) {
	for _, c := range []struct {
		resume         string
		found          bool
		newest         string
		mercure, naive string
	}{
		{"", false, "", "", ""},
		{"", false, "n", "", "n"},
		{"a", true, "n", "a", "a"},
		{"a", false, "n", mercure.Earliest, mercure.Earliest},
		{mercure.Earliest, true, "n", mercure.Earliest, mercure.Earliest},
	} {
		h := http.Header{}
		mercure.StreamHeaders(h, c.resume, c.found, c.newest)
		if h.Get("Mercure-Last-Event-ID") != c.mercure || h.Get("Last-Event-ID") != c.naive ||
			h.Get("Content-Type") != "text/event-stream" || h.Get("Cache-Control") != "no-store" {
			t.Errorf("StreamHeaders(%q, %v, %q) = %v", c.resume, c.found, c.newest, h)
		}
	}
}

func TestMetadata(t *testing.T) {
	for in, want := range map[string]string{
		"https://hub.example/.well-known/mercure":        "https://hub.example/.well-known/oauth-protected-resource/.well-known/mercure",
		"https://hub.example:8443/a/.well-known/mercure": "https://hub.example:8443/.well-known/oauth-protected-resource/a/.well-known/mercure",
		"https://hub.example/":                           "https://hub.example/.well-known/oauth-protected-resource",
	} {
		if got, err := mercure.MetadataURL(in); err != nil || got != want {
			t.Errorf("MetadataURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"/.well-known/mercure", "ftp://h/x", "https://h/x?q=1"} {
		if _, err := mercure.MetadataURL(bad); err == nil {
			t.Errorf("MetadataURL(%q) accepted", bad)
		}
	}
	var m map[string]any
	if err := json.Unmarshal(mercure.NewMetadata("https://hub.example/.well-known/mercure").JSON(), &m); err != nil {
		t.Fatal(err)
	}
	if m["resource"] != "https://hub.example/.well-known/mercure" || m["mercure_cookie"] != auth.CookieName {
		t.Errorf("metadata %v", m)
	}
	if _, ok := m["mercure_subscriptions"]; ok {
		t.Errorf("metadata advertises subscriptions by default: %v", m)
	}
	md := mercure.NewMetadata("https://hub.example/.well-known/mercure")
	md.Subscriptions = true
	if !strings.Contains(string(md.JSON()), `"mercure_subscriptions":true`) {
		t.Errorf("metadata with subscriptions on: %s", md.JSON())
	}
}
