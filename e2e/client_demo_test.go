package e2e

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestClientDemoPage: the demo page runs on the browser client and its
// header shows the state, the last sync and the reconnect count, which
// goes up when the page's connection is cut (through a proxy in front of
// the worker) and the client comes back.
func TestClientDemoPage(t *testing.T) {
	front, err := startFeedProxy(strings.TrimPrefix(sys.edgeURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer front.close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	lines := nodeClient(t, ctx, "demo-page-status.mjs", front.url()+"/?topic="+url.QueryEscape(uniqueTopic(t, "demo")))
	next := func(what string) map[string]any {
		t.Helper()
		select {
		case m, ok := <-lines:
			if !ok || m[what] == nil {
				t.Fatalf("want %s, got %v (closed %v)", what, m, !ok)
			}
			return m[what].(map[string]any)
		case <-ctx.Done():
			t.Fatalf("no %s line", what)
		}
		return nil
	}
	open := next("open")
	if open["reconnects"] != "0" || open["sync"] == "never" {
		t.Fatalf("header when open: %v, want a last sync time and 0 reconnects", open)
	}
	if front.cutMidFrame() == 0 {
		t.Fatal("no page connection to cut")
	}
	back := next("reconnected")
	if back["state"] != "open" || back["reconnects"] == "0" {
		t.Fatalf("header after the cut: %v, want open with a reconnect counted", back)
	}
}
