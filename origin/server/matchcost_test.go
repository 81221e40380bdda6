package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/origin/server"
	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/topic"
)

// hostile is a template whose expression needs more automaton states than
// a selector may have, so that RE2 would run it instruction by instruction:
// it costs its program size times the topic length.
const hostile = "é{/v}a{+v}a{#v}a{.v,w*}x-y{&v}x-y{.v,w*}"

// TestSelectorCostRefused: a selector or a subscription costlier than its
// limit is refused with 400 naming the flag that raises it. The issue's
// 910 × "{+a}" template is matched by an automaton, one read per topic
// byte, and accepted.
func TestSelectorCostRefused(t *testing.T) {
	h := newHub(t, nil, allowAnonymous)
	var five []string
	for i := range 5 {
		five = append(five, "topic="+url.QueryEscape(fmt.Sprintf("{+a%d}", i)))
	}
	cases := []struct {
		query string
		err   error
		flag  string
	}{
		{"topic=" + url.QueryEscape(hostile), topic.ErrSelectorCost, "--max-selector-cost"},
		{strings.Join(five, "&"), topic.ErrSetCost, "--max-subscription-cost"},
	}
	for _, c := range cases {
		cl, body := h.subscribe(t, c.query, nil)
		if cl.resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, c.err.Error()) || !strings.Contains(body, c.flag) {
			t.Errorf("%.60s: %s %q, want 400 saying %q and %q", c.query, cl.resp.Status, body, c.err, c.flag)
		}
	}
	cl, body := h.subscribe(t, "topic="+url.QueryEscape(strings.Repeat("{+a}", 910)), nil)
	if cl.resp.StatusCode != http.StatusOK {
		t.Fatalf(`910 × "{+a}": %s %q`, cl.resp.Status, body)
	}
	// Raised limits admit the costly ones.
	big := newHub(t, nil, allowAnonymous, func(c *server.Config) {
		c.MaxSelectorCost, c.MaxSubscriptionCost, c.MaxHubCost = 1<<40, 1<<40, 1<<40
	})
	cl, body = big.subscribe(t, "topic="+url.QueryEscape(hostile)+"&"+strings.Join(five, "&"), nil)
	if cl.resp.StatusCode != http.StatusOK {
		t.Fatalf("raised limits: %s %q", cl.resp.Status, body)
	}
}

// TestHubCostBudget: costly selectors beyond the hub's budget are refused
// with 503, Retry-After and the flag's name; a selector the hub already
// holds is accepted, and the budget is given back when subscriptions end.
// Token grants, which the application chooses, are not charged.
func TestHubCostBudget(t *testing.T) {
	c, _ := topic.NewCompiler(topic.Config{HubURL: testAudience})
	a, _ := c.Compile(topic.KindTopic, "https://example.com/a/{x}")
	h := newHub(t, nil, allowAnonymous, func(cfg *server.Config) { cfg.MaxHubCost = a.Cost() })
	qa := "topic=" + url.QueryEscape("https://example.com/a/{x}")
	qb := "topic=" + url.QueryEscape("https://example.com/b/{x}")
	first, body := h.subscribe(t, qa, nil)
	if first.resp.StatusCode != http.StatusOK {
		t.Fatalf("first: %s %q", first.resp.Status, body)
	}
	same, body := h.subscribe(t, qa, nil)
	if same.resp.StatusCode != http.StatusOK {
		t.Fatalf("the same selector again: %s %q", same.resp.Status, body)
	}
	refused, body := h.subscribe(t, qb, nil)
	if refused.resp.StatusCode != http.StatusServiceUnavailable || refused.resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(body, topic.ErrHubCost.Error()) || !strings.Contains(body, "--max-hub-cost") {
		t.Fatalf("over the budget: %s Retry-After %q %q", refused.resp.Status, refused.resp.Header.Get("Retry-After"), body)
	}
	tok := sign(t, auth.Claims{Subscribe: []auth.Matcher{{Match: "https://example.com/b/:x", Type: auth.MatchURLPattern}}}, time.Hour)
	granted, body := h.subscribe(t, "topic=*", bearer(tok))
	if granted.resp.StatusCode != http.StatusOK {
		t.Fatalf("costly grants are not charged to the hub: %s %q", granted.resp.Status, body)
	}
	// A live subscriber still gets its events.
	id := h.publish(t, form("topic", "https://example.com/a/1"))
	if e := first.next(t, 5*time.Second); e.ID != id {
		t.Fatalf("got %q, want %q", e.ID, id)
	}
	first.cancel()
	same.cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		cl, body := h.subscribe(t, qb, nil)
		if cl.resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("budget not given back after the subscribers left: %s %q", cl.resp.Status, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSharedMatchingDelivers: subscribers sharing costly selectors, with
// and without grants, receive exactly what their selectors and grants
// allow, live and on replay.
func TestSharedMatchingDelivers(t *testing.T) {
	h := newHub(t, nil, allowAnonymous)
	tpl := "topic=" + url.QueryEscape("https://example.com/books/{id}")
	pat := "match_urlpattern=" + url.QueryEscape("https://example.com/books/:id")
	tok := sign(t, auth.Claims{Subscribe: []auth.Matcher{{Match: "https://example.com/books/:id", Type: auth.MatchURLPattern}}}, time.Hour)
	anon1, _ := h.subscribe(t, tpl, nil)
	anon2, _ := h.subscribe(t, pat, nil)
	priv, _ := h.subscribe(t, tpl, bearer(tok))
	pub := h.publish(t, form("topic", "https://example.com/books/1"))
	secret := h.publish(t, form("topic", "https://example.com/books/2", "private", "on"))
	other := h.publish(t, form("topic", "https://example.com/users/1"))
	last := h.publish(t, form("topic", "https://example.com/books/3"))
	for name, c := range map[string]struct {
		cl   *client
		want string
	}{
		"anonymous template": {anon1, pub + "," + last},
		"anonymous pattern":  {anon2, pub + "," + last},
		"granted template":   {priv, pub + "," + secret + "," + last},
	} {
		got := append(c.cl.until(t, last, 5*time.Second), last)
		if strings.Join(got, ",") != c.want {
			t.Errorf("%s: got %v, want %s (not %s)", name, got, c.want, other)
		}
	}
	// Replay matches without the fan-out's shared topics.
	re, _ := h.subscribe(t, tpl, http.Header{"Authorization": {"Bearer " + tok}, "Last-Event-ID": {pub}})
	if got := re.until(t, last, 5*time.Second); strings.Join(got, ",") != secret {
		t.Errorf("replay: got %v, want %s", got, secret)
	}
}
