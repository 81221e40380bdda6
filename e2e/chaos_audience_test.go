//go:build chaos

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/shared/auth"
)

// TestChaosTokenAudienceIssuer starts an extra origin that requires an
// audience and an issuer (--jwt-audience, --jwt-issuer, the harness's key)
// and presents tokens with a wrong, missing or almost-right aud or iss, for
// publish and subscribe, in both token forms (the legacy mercure claim and
// authorization_details): each must be refused with 401 invalid_token and
// a body naming the claim that failed; the right tokens (aud as an array
// holding the hub among others, or as a single string) must be accepted,
// and an update published with one must reach a subscriber holding one.
func TestChaosTokenAudienceIssuer(t *testing.T) {
	startSampler()
	report.Lock()
	report.ran = append(report.ran, "TokenAudienceIssuer")
	report.Unlock()
	const (
		aud = "https://hub.example.test/.well-known/mercure"
		iss = "https://issuer.example.test"
	)
	p := startTestOrigin(t, "origin-audience", "--jwt-key", jwtKey,
		"--jwt-audience", aud, "--jwt-issuer", iss, "--history", "memory", "--feed-secret", "")
	base := p.url
	topic := uniqueTopic(t, "chaos-aud")
	// Grants: "*" in the legacy form; the topic itself in
	// authorization_details, which has no "*" selector.
	all := []auth.Matcher{{Match: "*", Type: auth.MatchSelector}}
	exact := []auth.Matcher{{Match: topic, Type: auth.MatchExact}}
	grants := func(f auth.Form) []auth.Matcher {
		if f == auth.FormLegacy {
			return all
		}
		return exact
	}
	exp := time.Now().Add(time.Hour).Unix()

	type tokenCase struct {
		name   string
		aud    []string
		iss    string
		raw    string // a hand-made token instead of aud and iss
		accept bool
		reason string // in the body of the refusal
		known  string // a known finding about the refusal's body (see TestChaosBadInput)
	}
	const audReason, issReason = "aud does not name this hub", "iss is not this hub's trusted issuer"
	cases := []tokenCase{
		{name: "right aud and iss", aud: []string{aud}, iss: iss, accept: true},
		{name: "aud array holding the hub among others", aud: []string{"https://other.example", aud}, iss: iss, accept: true},
		{name: "aud as one string", raw: `{"mercure":{"publish":["*"],"subscribe":["*"]},"aud":"` + aud + `","iss":"` + iss + `","exp":` + strconv.FormatInt(exp, 10) + `}`, accept: true},
		{name: "wrong aud", aud: []string{"https://evil.example/.well-known/mercure"}, iss: iss, reason: audReason},
		{name: "missing aud", iss: iss, reason: audReason},
		{name: "aud with a trailing slash", aud: []string{aud + "/"}, iss: iss, reason: audReason},
		{name: "aud in upper case", aud: []string{strings.ToUpper(aud)}, iss: iss, reason: audReason},
		{name: "aud holding the issuer", aud: []string{iss}, iss: iss, reason: audReason},
		{name: "aud as a number", raw: `{"mercure":{"publish":["*"],"subscribe":["*"]},"aud":1,"iss":"` + iss + `","exp":` + strconv.FormatInt(exp, 10) + `}`,
			reason: `claim "aud" must be a string or an array of strings`},
		{name: "wrong iss", aud: []string{aud}, iss: "https://evil.example", reason: issReason},
		{name: "missing iss", aud: []string{aud}, reason: issReason},
		{name: "iss with a trailing slash", aud: []string{aud}, iss: iss + "/", reason: issReason},
		{name: "aud and iss swapped", aud: []string{iss}, iss: aud},
		{name: "neither aud nor iss"},
	}
	forms := []struct {
		name string
		form auth.Form
	}{{"legacy", auth.FormLegacy}, {"details", auth.FormDetails}}

	client := http.Client{Timeout: 10 * time.Second}
	tried, accepted, fivexx, knownHits := 0, 0, 0, 0
	strict := os.Getenv("CHAOS_STRICT") != ""
	var published []string
	do := func(kind, name, tok string, c tokenCase) {
		var req *http.Request
		switch kind {
		case "publish":
			req, _ = http.NewRequest(http.MethodPost, base+"/.well-known/mercure",
				strings.NewReader(url.Values{"topic": {topic}, "data": {"by " + name}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "Bearer "+tok)
		case "subscribe":
			req, _ = http.NewRequest(http.MethodGet, chaosTopicURL(base, topic), nil)
			req.Header.Set("Authorization", "Bearer "+tok)
		case "subscribe (cookie)":
			req, _ = http.NewRequest(http.MethodGet, chaosTopicURL(base, topic), nil)
			req.Header.Set("Cookie", "mercureAuthorization="+tok)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := client.Do(req.WithContext(ctx))
		if !c.accept {
			tried++
		}
		if err != nil {
			t.Errorf("%s with %s: no answer: %v", kind, name, err)
			return
		}
		defer resp.Body.Close()
		var body []byte
		if resp.StatusCode != 200 || kind == "publish" {
			body, _ = io.ReadAll(io.LimitReader(resp.Body, 1024))
		}
		switch {
		case c.accept && resp.StatusCode != 200:
			t.Errorf("%s with %s: %s %q, want 200", kind, name, resp.Status, body)
		case c.accept && kind == "publish":
			published = append(published, string(body))
		case c.accept && resp.Header.Get("Content-Type") != "text/event-stream":
			t.Errorf("%s with %s: 200 with Content-Type %q, want a stream", kind, name, resp.Header.Get("Content-Type"))
		case c.accept:
		case resp.StatusCode >= 500:
			fivexx++
			t.Errorf("%s with %s: %s %q, want 401", kind, name, resp.Status, body)
		case resp.StatusCode < 400:
			accepted++
			t.Errorf("%s with %s: %s, want 401: the token must be refused", kind, name, resp.Status)
		case resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`):
			t.Errorf("%s with %s: %s, WWW-Authenticate %q, want 401 with error=\"invalid_token\"", kind, name, resp.Status, resp.Header.Get("WWW-Authenticate"))
		case c.reason != "" && !strings.Contains(string(body), c.reason):
			t.Errorf("%s with %s: body %q does not name the failed check (%q)", kind, name, body, c.reason)
		case !strings.Contains(string(body), "aud") && !strings.Contains(string(body), "iss"):
			if c.known != "" && !strict {
				knownHits++
				t.Logf("KNOWN %s with %s: %s", kind, name, c.known)
				break
			}
			t.Errorf("%s with %s: body %q names neither aud nor iss", kind, name, body)
		}
	}

	// A subscriber holding a right token, to see the accepted publishes arrive.
	right := mustToken(auth.Claims{Form: auth.FormDetails, Subscribe: exact, Audience: []string{aud}, Issuer: iss}, time.Hour)
	watcher := subscribeSSE(t, chaosTopicURL(base, topic), http.Header{"Authorization": {"Bearer " + right}})
	for _, f := range forms {
		for _, c := range cases {
			if c.raw != "" && f.form != auth.FormLegacy {
				continue // hand-made tokens carry the legacy claim
			}
			name := fmt.Sprintf("%s token, %s", f.name, c.name)
			pubTok, subTok := c.raw, c.raw
			if c.raw != "" {
				pubTok = hsToken(`{"alg":"HS256","typ":"JWT"}`, c.raw)
				subTok = pubTok
			} else {
				pubTok = mustToken(auth.Claims{Form: f.form, Publish: grants(f.form), Audience: c.aud, Issuer: c.iss}, time.Hour)
				subTok = mustToken(auth.Claims{Form: f.form, Subscribe: grants(f.form), Audience: c.aud, Issuer: c.iss}, time.Hour)
			}
			do("publish", name, pubTok, c)
			do("subscribe", name, subTok, c)
			if !c.accept {
				do("subscribe (cookie)", name, subTok, c)
			}
		}
	}
	for _, id := range published {
		if e := watcher.next(t, 10*time.Second); e.ID != id {
			t.Errorf("subscriber with the right token got %+v, want the event %s", e, id)
		}
	}
	watcher.quiet(t, 300*time.Millisecond) // nothing published with a refused token
	if err := healthy(); err != nil {
		t.Error(err)
	}
	if b, _ := os.ReadFile(p.log); strings.Contains(string(b), "panic:") {
		t.Errorf("origin-audience log holds a panic:\n%s", p.tail())
	}
	report.Lock()
	report.badInputs += tried
	report.badAccepted += accepted
	report.bad5x += fivexx
	report.known += knownHits
	report.Unlock()
	t.Logf("REPORT aud/iss: %d refused-token requests (accepted %d, 5xx %d, known findings %d); %d right-token publishes delivered", tried, accepted, fivexx, knownHits, len(published))
	reportRow("aud/iss tokens refused/tried", fmt.Sprintf("%d/%d", tried-accepted-fivexx, tried))
}
