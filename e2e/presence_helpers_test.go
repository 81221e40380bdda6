package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/e2e/internal/proc"
	"github.com/edge-sse/edge-sse/shared/auth"
)

// Presence (Mercure's Active Subscriptions, issue #13) end to end: an
// origin run with --subscriptions and a short lease, and workers run with
// SUBSCRIPTIONS=true, whose hub objects report their connections to it.

// presenceLease is the origin's --subscription-lease in these tests: the
// time within which a vanished edge hub's subscriptions end.
const presenceLease = 3 * time.Second

// presenceBatchMS is the workers' PRESENCE_BATCH_MS in these tests.
const presenceBatchMS = "200"

// subscriptionsPath is the subscription API's collection and the prefix
// of every subscription event's topic.
const subscriptionsPath = "/.well-known/mercure/subscriptions"

// presenceDoc is a subscription document: an event's data or an API entry.
type presenceDoc struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	MatchType  string          `json:"match_type"`
	Match      string          `json:"match"`
	Subscriber string          `json:"subscriber"`
	Active     bool            `json:"active"`
	Payload    json.RawMessage `json:"payload,omitempty"`
}

// presenceSys is one origin with presence on and the workers in front of
// it; hubURL is the public hub URL both are configured with (the first
// worker's), the base of relative URL patterns in tokens.
type presenceSys struct {
	origin  *process
	hubURL  string
	history string // the origin's bolt file
	flags   []string
}

// presenceOriginFlags are the flags of a presence origin on top of the
// run's key and feed secret.
func presenceOriginFlags(hubURL string) []string {
	return []string{"--heartbeat", originHeartbeat, "--jwt-key", jwtKey, "--feed-secret", feedSecret,
		"--subscriptions", "--subscription-lease", presenceLease.String(), "--hub-url", hubURL, "--allow-anonymous",
		"--cors-origins", "*," + sys.appURL} // startPresenceWorker's CORS_ORIGINS
}

// startPresenceOrigin starts an origin with presence on and a bolt
// history of its own; restart starts it again on the same address and
// file (after a kill, say).
func startPresenceOrigin(t *testing.T, name, hubURL string) *presenceSys {
	t.Helper()
	ps := &presenceSys{hubURL: hubURL, history: filepath.Join(t.TempDir(), name+".db")}
	ps.flags = append(presenceOriginFlags(hubURL), "--history-path", ps.history)
	ps.origin = startTestOrigin(t, name, ps.flags...)
	return ps
}

// restart starts the origin again on its address with its history file.
func (ps *presenceSys) restart(t *testing.T) {
	t.Helper()
	addr := strings.TrimPrefix(ps.origin.url, "http://")
	p, err := startOriginAt(ps.origin.name, addr, ps.flags...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	ps.origin = p
}

// startPresenceWorker starts a worker on addr (a free one when "") with
// presence on, against origin, and returns its process.
func startPresenceWorker(t *testing.T, name, addr, origin, hubURL string, vars ...string) *process {
	t.Helper()
	s, err := proc.Worker{Root: sys.root, LogDir: sys.logDir, Name: name, Addr: addr,
		Snapshot: filepath.Join(sys.logDir, "bundle-"+name), Persist: filepath.Join(sys.logDir, name+"-state"),
		Vars: append([]string{
			"ORIGIN_URL:" + origin,
			"FEED_SECRET:" + feedSecret,
			"STATS_TOKEN:" + operatorToken,
			"ALLOW_ANONYMOUS:true",
			"JWT_KEY:" + jwtKey,
			"PUBLIC_URL:" + hubURL,
			"SUBSCRIPTIONS:true",
			"PRESENCE_BATCH_MS:" + presenceBatchMS,
			"CLIENT_HEARTBEAT_MS:" + clientHeartbeatMS,
			"HUB_SHARDS:2",
			"CORS_ORIGINS:*," + sys.appURL,
		}, vars...)}.Start()
	if err != nil {
		t.Fatal(err)
	}
	p := wrap(s)
	t.Cleanup(p.stop)
	return p
}

// watcherToken grants subscribe on the whole subscriptions namespace (a
// relative URL pattern, resolved against the hub URL): the events and
// the API.
var watcherToken = mustToken(auth.Claims{Form: auth.FormDetails, Subscribe: []auth.Matcher{
	{Match: subscriptionsPath, Type: auth.MatchURLPattern},
	{Match: subscriptionsPath + "/*", Type: auth.MatchURLPattern},
}}, time.Hour)

// watcher follows the subscription events of one topic prefix (a test's
// own clients) and keeps them in order.
type watcher struct {
	t      *testing.T
	prefix string // the match every event of interest starts with
	c      *sseClient

	mu   sync.Mutex
	docs []presenceDoc
	ids  []string // the SSE id of each doc
	raw  int      // every subscription event, of any test
}

// watch subscribes at base to every subscription event with
// watcherToken, from lastEventID when not "", and records the events
// whose match starts with prefix.
func watch(t *testing.T, base, prefix, lastEventID string) *watcher {
	t.Helper()
	h := http.Header{"Authorization": {"Bearer " + watcherToken}}
	u := base + "/.well-known/mercure?match_urlpattern=" + url.QueryEscape(subscriptionsPath+"/*")
	if lastEventID != "" {
		// As a browser's EventSource must (README, "Who is online").
		u += "&lastEventID=" + url.QueryEscape(lastEventID)
	}
	c := subscribeSSE(t, u, h)
	w := &watcher{t: t, prefix: prefix, c: c}
	go func() {
		for e := range c.events {
			if e.Type != "mercure" {
				continue
			}
			var d presenceDoc
			if err := json.Unmarshal([]byte(e.Data), &d); err != nil {
				t.Errorf("watcher: subscription event %q: %v", e.Data, err)
				continue
			}
			w.mu.Lock()
			w.raw++
			if strings.HasPrefix(d.Match, prefix) {
				w.docs = append(w.docs, d)
				w.ids = append(w.ids, e.ID)
			}
			w.mu.Unlock()
		}
	}()
	return w
}

// events returns the events recorded so far.
func (w *watcher) events() []presenceDoc {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.docs)
}

// waitEvents waits until cond holds on the recorded events.
func (w *watcher) waitEvents(timeout time.Duration, what string, cond func([]presenceDoc) bool) []presenceDoc {
	w.t.Helper()
	if !waitFor(timeout, func() bool { return cond(w.events()) }) {
		w.t.Fatalf("watcher: %s not seen within %v; events:\n%s", what, timeout, showDocs(w.events()))
	}
	return w.events()
}

// seen reports whether docs hold an event for match with that active.
func seen(docs []presenceDoc, match string, active bool) bool {
	return slices.ContainsFunc(docs, func(d presenceDoc) bool { return d.Match == match && d.Active == active })
}

func showDocs(docs []presenceDoc) string {
	var b strings.Builder
	for _, d := range docs {
		fmt.Fprintf(&b, "  %s %s active=%v payload=%s\n", d.Match, d.Subscriber, d.Active, d.Payload)
	}
	return b.String()
}

// apiGet GETs a subscription API path at base with token ("" for none)
// and returns the status, the body and the Link header's last-event-id.
func apiGet(t testing.TB, base, path, token string) (int, []byte, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", base+path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := lastEventIDAttr.FindStringSubmatch(resp.Header.Get("Link"))
	last := ""
	if m != nil {
		last = m[1]
	}
	if resp.StatusCode == http.StatusOK && resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("GET %s: Content-Type %q", path, resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, body, last
}

var lastEventIDAttr = regexp.MustCompile(`last-event-id="([^"]*)"`)

// apiList returns the active subscriptions the API lists at base whose
// match starts with prefix, and the Link's last-event-id.
func apiList(t testing.TB, base, prefix string) (map[string]presenceDoc, string) {
	t.Helper()
	status, body, last := apiGet(t, base, subscriptionsPath, watcherToken)
	if status != http.StatusOK {
		t.Fatalf("GET %s%s: %d %s", base, subscriptionsPath, status, body)
	}
	var coll struct {
		ID            string        `json:"id"`
		Type          string        `json:"type"`
		Subscriptions []presenceDoc `json:"subscriptions"`
	}
	if err := json.Unmarshal(body, &coll); err != nil {
		t.Fatalf("API collection %s: %v", body, err)
	}
	if coll.Type != "subscriptions" || coll.ID != subscriptionsPath {
		t.Errorf("API collection id %q type %q", coll.ID, coll.Type)
	}
	if last == "" {
		t.Errorf("API answer without a last-event-id in its Link")
	}
	set := map[string]presenceDoc{}
	for _, d := range coll.Subscriptions {
		if d.Active && strings.HasPrefix(d.Match, prefix) {
			set[d.ID] = d
		}
	}
	return set, last
}

// checkAlternation fails the test when a subscription has two
// active:true (or two active:false) without the other between, or ends
// without starting.
func checkAlternation(t testing.TB, docs []presenceDoc) {
	t.Helper()
	state := map[string]bool{}
	for i, d := range docs {
		if prev, ok := state[d.ID]; (ok && prev == d.Active) || (!ok && !d.Active) {
			t.Errorf("event %d: %s %s active=%v repeats or ends a subscription never started; events:\n%s", i, d.Match, d.Subscriber, d.Active, showDocs(docs))
			return
		}
		state[d.ID] = d.Active
	}
}

// activeAfter replays docs over the set: the subscriptions active after
// them, by id.
func activeAfter(set map[string]presenceDoc, docs []presenceDoc) map[string]presenceDoc {
	out := map[string]presenceDoc{}
	for _, d := range set {
		out[d.ID] = d
	}
	for _, d := range docs {
		if d.Active {
			out[d.ID] = d
		} else {
			delete(out, d.ID)
		}
	}
	return out
}
