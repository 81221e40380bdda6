//go:build chaos

package e2e

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/shared/auth"
)

// hsToken builds a JWT by hand: header and payload JSON, signed with
// HMAC-SHA256 over jwtKey whatever alg the header names (for alg confusion).
func hsToken(header, payload string) string {
	enc := base64.RawURLEncoding
	s := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	m := hmac.New(sha256.New, []byte(jwtKey))
	m.Write([]byte(s))
	return s + "." + enc.EncodeToString(m.Sum(nil))
}

// badReq is one hostile request; want4xx is false only for requests a hub
// may accept (then it must still not be a 5xx).
type badReq struct {
	name    string
	method  string
	path    string // with query
	body    string
	header  map[string]string
	want4xx bool
}

// metricValue reads one unlabelled metric from the origin's /metrics.
func metricValue(t testing.TB, name string) string {
	resp, err := operatorGet(http.DefaultClient, sys.originURL+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindStringSubmatch(string(b))
	if m == nil {
		return ""
	}
	return m[1]
}

// TestChaosBadInput sends hostile requests (a fixed table and random ones)
// to the origin and the worker: each must get a 4xx, never a 5xx; both
// processes must stay healthy; no malformed event may be stored or reach a
// control subscriber on "*" holding a full grant; the worker must never
// forward a request to the origin's feed path.
//
// Knob: CHAOS_BAD_RANDOM (default 300 random requests).
func TestChaosBadInput(t *testing.T) {
	startSampler()
	report.Lock()
	report.ran = append(report.ran, "BadInput")
	report.Unlock()
	originURL, edgeURL := sys.originURL, sys.edgeURL
	nRandom := chaosEnvInt("CHAOS_BAD_RANDOM", 300)
	topic := uniqueTopic(t, "chaos-bad")
	prefix := "bad-" + chaosRun + "-"

	full := mustToken(auth.Claims{Form: auth.FormLegacy, Subscribe: []auth.Matcher{{Match: "*", Type: auth.MatchSelector}}}, time.Hour)
	startID := prefix + "start"
	if _, err := ackPublish(originURL, url.Values{"topic": {topic}, "id": {startID}}, time.Now().Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Authorization": {"Bearer " + full}}
	controls := []*chaosSub{
		newChaosSub("control-origin", chaosTopicURL(originURL, "*"), h, startID),
		newChaosSub("control-edge", chaosTopicURL(edgeURL, "*"), h, startID),
	}
	defer func() {
		for _, c := range controls {
			c.close()
		}
	}()
	time.Sleep(time.Second)
	feedsOpened := metricValue(t, "edge_sse_origin_edge_feeds_opened_total")
	feedsOpen := originFeeds(t)

	const mp = "/.well-known/mercure"
	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	pub := func(name, body string) badReq {
		return badReq{name: "publish " + name, method: "POST", path: mp, body: body, want4xx: true,
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Bearer " + publisherToken}}
	}
	sub := func(name, query string, hdr map[string]string) badReq {
		return badReq{name: "subscribe " + name, method: "GET", path: mp + "?" + query, header: hdr, want4xx: true}
	}
	tq := "topic=" + url.QueryEscape(topic)
	valid := subscriberToken(time.Hour, topic)
	parts := strings.Split(valid, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"mercure":{"subscribe":["*"]},"exp":4102444800}`)) + "." + parts[2]
	claims := `{"mercure":{"subscribe":["*"],"publish":["*"]},"exp":4102444800}`
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	var manyTopics, manySelectors strings.Builder
	manyTopics.WriteString("data=INJECT-10k")
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&manyTopics, "&topic=%s%d", url.QueryEscape(topic+"/"), i)
	}
	manySelectors.WriteString("topic=a")
	for i := 0; i < 100000; i++ {
		fmt.Fprintf(&manySelectors, "&topic=%d", i)
	}
	nbf := auth.Claims{Form: auth.FormLegacy, Subscribe: []auth.Matcher{{Match: "*", Type: auth.MatchSelector}}, NotBefore: time.Now().Add(time.Hour)}
	wrongAud := auth.Claims{Form: auth.FormLegacy, Subscribe: []auth.Matcher{{Match: "*", Type: auth.MatchSelector}}, Audience: []string{"https://evil.example"}}

	table := []badReq{
		pub("CR in id", form("topic", topic, "id", "x\rINJECT", "data", "INJECT")),
		pub("LF in id", form("topic", topic, "id", "x\ndata: INJECT", "data", "INJECT")),
		pub("NUL in id", form("topic", topic, "id", "x\x00INJECT", "data", "INJECT")),
		pub("CRLF in type", form("topic", topic, "type", "t\r\nid: INJECT", "data", "INJECT")),
		pub("NUL in type", form("topic", topic, "type", "t\x00INJECT", "data", "INJECT")),
		pub("LF in topic", form("topic", topic+"\nINJECT", "data", "INJECT")),
		pub("NUL in topic", form("topic", topic+"\x00INJECT", "data", "INJECT")),
		pub("CR in alternate topic", form("topic", topic, "topic", "x\rINJECT", "data", "INJECT")),
		pub("invalid UTF-8 data", form("topic", topic, "data", "INJECT\xff\xfe")),
		pub("invalid UTF-8 id", form("topic", topic, "id", "INJECT\xc3\x28", "data", "INJECT")),
		pub("invalid UTF-8 type", form("topic", topic, "type", "INJECT\xe2\x82", "data", "INJECT")),
		pub("invalid UTF-8 topic", form("topic", topic+"\xff", "data", "INJECT")),
		pub("retry not digits", form("topic", topic, "retry", "12\nINJECT", "data", "INJECT")),
		pub("type mercure-missed", form("topic", topic, "type", "mercure-missed", "data", "INJECT")),
		pub("id #fragment", form("topic", topic, "id", "#INJECT", "data", "INJECT")),
		pub("id earliest", form("topic", topic, "id", "earliest", "data", "INJECT")),
		pub("topic *", form("topic", "*", "data", "INJECT")),
		pub("no topic", form("data", "INJECT")),
		pub("oversized body 2 MiB", form("topic", topic, "data", "INJECT"+strings.Repeat("x", 2<<20))),
		pub("oversized id 64 KiB", form("topic", topic, "id", "INJECT"+strings.Repeat("i", 64<<10))),
		pub("oversized topic 64 KiB", form("topic", topic+strings.Repeat("t", 64<<10), "data", "INJECT")),
		pub("10k topics", manyTopics.String()),
		pub("malformed form encoding", "topic="+url.QueryEscape(topic)+"&data=INJECT%zz&id=%"),
		pub("semicolon separator", "topic="+url.QueryEscape(topic)+";data=INJECT;id=INJECT"),
		{name: "publish wrong content type", method: "POST", path: mp, body: `{"topic":"x","data":"INJECT"}`, want4xx: true,
			header: map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + publisherToken}},
		{name: "publish no token", method: "POST", path: mp, body: form("topic", topic, "data", "INJECT"), want4xx: true,
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}},
		{name: "publish alg none", method: "POST", path: mp, body: form("topic", topic, "data", "INJECT"), want4xx: true,
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded",
				"Authorization": "Bearer " + base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + "."}},
		{name: "publish HS/RS confusion", method: "POST", path: mp, body: form("topic", topic, "data", "INJECT"), want4xx: true,
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Bearer " + hsToken(`{"alg":"RS256","typ":"JWT"}`, claims)}},
		{name: "publish subscriber token", method: "POST", path: mp, body: form("topic", topic, "data", "INJECT"), want4xx: true,
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Bearer " + full}},

		sub("million-character query", "topic="+strings.Repeat("a", 1<<20), nil),
		sub("100k selectors", manySelectors.String(), nil),
		sub("1 MiB Last-Event-ID", tq, map[string]string{"Last-Event-ID": strings.Repeat("L", 1<<20)}),
		sub("empty selector", "topic=", nil),
		sub("no selector", "", nil),
		sub("unknown match parameter", "match_regex=.*", nil),
		sub("garbage Authorization", tq, map[string]string{"Authorization": "Bearer !!garbage!!"}),
		sub("non-Bearer Authorization", tq, map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}),
		sub("huge Authorization 64 KiB", tq, map[string]string{"Authorization": "Bearer " + strings.Repeat("A", 64<<10)}),
		sub("garbage cookie", tq, map[string]string{"Cookie": "mercureAuthorization=%%%garbage%%%"}),
		sub("garbage spec cookie", tq, map[string]string{"Cookie": "__Secure-mercure_access_token=a.b.c"}),
		sub("alg none", tq, bearer(base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`))+"."+base64.RawURLEncoding.EncodeToString([]byte(claims))+".")),
		sub("HS/RS confusion", tq, bearer(hsToken(`{"alg":"RS256","typ":"JWT"}`, claims))),
		sub("HS512 header", tq, bearer(hsToken(`{"alg":"HS512","typ":"JWT"}`, claims))),
		sub("expired", tq, bearer(subscriberToken(-time.Minute, topic))),
		sub("not yet valid", tq, bearer(mustToken(nbf, time.Hour))),
		// The harness configures no audience, so a token's aud is not checked.
		{name: "subscribe wrong audience (no audience configured)", method: "GET", path: mp + "?" + tq, header: bearer(mustToken(wrongAud, time.Hour))},
		sub("tampered claims", tq, bearer(tampered)),
		sub("bad signature", tq, bearer(valid[:len(valid)-4]+"AAAA")),
		sub("tampered cookie", tq, map[string]string{"Cookie": "mercureAuthorization=" + tampered}),
	}
	feed := []badReq{
		{name: "feed no secret", method: "GET", path: "/edge/feed", want4xx: true},
		{name: "feed wrong secret", method: "GET", path: "/edge/feed", header: map[string]string{"Authorization": "Bearer wrong-secret"}, want4xx: true},
		{name: "feed empty bearer", method: "GET", path: "/edge/feed?lastEventID=x", header: map[string]string{"Authorization": "Bearer "}, want4xx: true},
		{name: "feed JWT instead of secret", method: "GET", path: "/edge/feed", header: map[string]string{"Authorization": "Bearer " + full}, want4xx: true},
	}
	// Through the worker, even the RIGHT secret must not reach the origin's feed.
	workerOnly := []badReq{
		{name: "worker /edge/feed with the real secret", method: "GET", path: "/edge/feed", header: map[string]string{"Authorization": "Bearer " + feedSecret}, want4xx: true},
		{name: "worker /edge/feed catch-up", method: "GET", path: "/edge/feed?lastEventID=" + startID + "&until=" + startID, header: map[string]string{"Authorization": "Bearer " + feedSecret}, want4xx: true},
		{name: "worker //edge/feed", method: "GET", path: "//edge/feed", header: map[string]string{"Authorization": "Bearer " + feedSecret}, want4xx: true},
		{name: "worker /edge/feed/", method: "GET", path: "/edge/feed/", header: map[string]string{"Authorization": "Bearer " + feedSecret}, want4xx: true},
		{name: "worker /edge/../edge/feed", method: "GET", path: "/edge/%2e%2e/edge/feed", header: map[string]string{"Authorization": "Bearer " + feedSecret}, want4xx: true},
		{name: "worker /Edge/Feed", method: "GET", path: "/Edge/Feed", header: map[string]string{"Authorization": "Bearer " + feedSecret}, want4xx: true},
	}

	// Random publishes: one field of a valid form gets a character a hub
	// must refuse.
	badChars := []string{"\r", "\n", "\r\n", "\x00", "\x01", "\x1b", "\x7f", "\u0085", "\u200b", "\ufeff", "\xff", "\xc0\x80", "\xed\xa0\x80"}
	for i := 0; i < nRandom; i++ {
		f := url.Values{"topic": {topic}, "data": {"INJECT-random"}}
		field := []string{"id", "type", "topic"}[rand.IntN(3)]
		v := "INJECT" + badChars[rand.IntN(len(badChars))] + fmt.Sprintf("%d", rand.IntN(1000))
		if rand.IntN(2) == 0 {
			v = fmt.Sprintf("x%d", i) + badChars[rand.IntN(len(badChars))] + "INJECT"
		}
		if field == "topic" {
			f.Add("topic", v)
			if rand.IntN(2) == 0 {
				f["topic"][0], f["topic"][1] = f["topic"][1], f["topic"][0]
			}
		} else {
			f.Set(field, v)
		}
		table = append(table, pub(fmt.Sprintf("random %s %q", field, v), f.Encode()))
	}
	// Random garbage credentials on subscribe.
	for i := 0; i < nRandom/3; i++ {
		b := make([]byte, 1+rand.IntN(200))
		for j := range b {
			b[j] = byte(0x21 + rand.IntN(0x5e)) // printable, so the client sends it
		}
		if rand.IntN(2) == 0 {
			table = append(table, sub("random Authorization", tq, map[string]string{"Authorization": "Bearer " + string(b)}))
		} else {
			table = append(table, sub("random cookie", tq, map[string]string{"Cookie": "mercureAuthorization=" + strings.ReplaceAll(string(b), ";", "")}))
		}
	}

	// Each hostile request on its own connection: see the keep-alive
	// finding below.
	client := http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	tried, accepted, fivexx, noAnswer, knownHits := 0, 0, 0, 0, 0
	strict := os.Getenv("CHAOS_STRICT") != ""
	// Known findings (reported, not failing unless CHAOS_STRICT is set).
	known := map[string]string{
		"subscribe empty selector → worker":      "worker accepts topic= (empty selector) with 200; the origin refuses it with 400",
		"subscribe 1 MiB Last-Event-ID → origin": "origin accepts a 1 MiB Last-Event-ID (200 + mercure-missed) instead of refusing ids longer than --max-field-bytes",
		"raw 1 → worker":                         "workerd (wrangler dev) accepts a bare CR inside a header value",
		"raw 5 → worker":                         "workerd (wrangler dev) answers a malformed chunked body with a 5xx",
		"after 2 MiB publish → worker":           "after the worker's 413 on an oversized (2 MiB) publish body, the next request, even on a new connection, gets 503 'Your worker restarted mid-request': the front-door isolate restarts",
		"publish oversized id 64 KiB → worker":   "sent right after the 2 MiB body: same finding as 'after 2 MiB publish'",
	}
	fail := func(key, format string, args ...any) bool {
		if why, ok := known[key]; ok && !strict {
			knownHits++
			t.Logf("KNOWN %s: %s (%s)", key, fmt.Sprintf(format, args...), why)
			return false
		}
		t.Errorf(format, args...)
		return true
	}
	do := func(base string, r badReq) {
		tried++
		req, err := http.NewRequest(r.method, base+r.path, strings.NewReader(r.body))
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		if r.body == "" {
			req.Body = nil
		}
		for k, v := range r.header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		side := "origin"
		if base == edgeURL {
			side = "worker"
		}
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // without the request's URL, which may be huge
			}
			// workerd refuses a request whose header section (request
			// line included) exceeds its limit by resetting the
			// connection, sometimes before its 4xx reaches a client still
			// writing: a refusal, not a crash (its health is checked after
			// the table).
			if n := len(r.path) + headerBytes(r.header); side == "worker" && n > 64<<10 && strings.Contains(err.Error(), "reset by peer") {
				t.Logf("KNOWN %s → worker: connection reset for %d bytes of request line and headers (workerd's header limit)", r.name, n)
				return
			}
			noAnswer++
			t.Errorf("%s → %s: no answer: %v", r.name, side, err)
			return
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		resp.Body.Close()
		switch {
		case resp.StatusCode >= 500:
			if fail(r.name+" → "+side, "%s → %s: %s %q", r.name, side, resp.Status, body) {
				fivexx++
			}
		case resp.StatusCode < 400 && r.want4xx:
			if fail(r.name+" → "+side, "%s → %s: %s %q, want a 4xx", r.name, side, resp.Status, body) {
				accepted++
			}
		}
	}
	for _, r := range append(table, feed...) {
		do(originURL, r)
		do(edgeURL, r)
	}
	for _, r := range workerOnly {
		do(edgeURL, r)
	}

	// Raw requests whose headers carry CR or NUL (Go's client refuses to
	// send them): a 400 or a closed connection, never a 5xx or a stream.
	raw := []string{
		"GET " + mp + "?" + tq + " HTTP/1.1\r\nHost: x\r\nLast-Event-ID: a\x00INJECT\r\n\r\n",
		"GET " + mp + "?" + tq + " HTTP/1.1\r\nHost: x\r\nLast-Event-ID: a\rINJECT: b\r\n\r\n",
		"GET " + mp + "?" + tq + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\x00b\r\n\r\n",
		"POST " + mp + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nAuthorization: Bearer " + publisherToken + "\r\nContent-Length: 99999999999999999999\r\n\r\ntopic=x",
		"POST " + mp + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nzz\r\nINJECT\r\n0\r\n\r\n",
		"GARBAGE\x00\xff\r\n\r\n",
	}
	rawStatus := regexp.MustCompile(`^HTTP/1\.[01] (\d{3})`)
	for _, base := range []string{originURL, edgeURL} {
		side := "origin"
		if base == edgeURL {
			side = "worker"
		}
		for i, r := range raw {
			tried++
			conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 5*time.Second)
			if err != nil {
				t.Errorf("raw %d: %v", i, err)
				continue
			}
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			conn.Write([]byte(r))
			line, _ := bufio.NewReader(conn).ReadString('\n')
			conn.Close()
			m := rawStatus.FindStringSubmatch(line)
			switch {
			case m == nil: // connection closed without an answer: acceptable for malformed HTTP
			case m[1][0] == '5':
				if fail(fmt.Sprintf("raw %d → %s", i, side), "raw %d → %s: %s", i, side, strings.TrimSpace(line)) {
					fivexx++
				}
			case m[1][0] != '4':
				if fail(fmt.Sprintf("raw %d → %s", i, side), "raw %d → %s: %s, want a 4xx", i, side, strings.TrimSpace(line)) {
					accepted++
				}
			}
		}
	}

	// Finding: after the worker refuses an oversized publish body (413), the
	// next request, on a new connection, gets a 503 from wrangler dev
	// ("Your worker restarted mid-request").
	{
		ka := http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		post := func(body string) int {
			req, _ := http.NewRequest("POST", edgeURL+mp, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "Bearer "+publisherToken)
			resp, err := ka.Do(req)
			if err != nil {
				return 0
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode
		}
		tried += 2
		big := post(form("topic", topic, "data", "INJECT"+strings.Repeat("x", 2<<20)))
		next := post(form("topic", topic, "id", "INJECT", "type", "bad\nINJECT")) // a 400 is expected
		if big != 413 || next != 400 {
			fail("after 2 MiB publish → worker", "2 MiB publish then a bad publish on a new connection to the worker: %d then %d, want 413 then 400", big, next)
		}
		ka.CloseIdleConnections()
	}

	// Legit input with line breaks in data must arrive as data, not fields.
	tricky := "line1\nevent: INJECT\nid: INJECT\rretry: 1\r\n\ndata: INJECT"
	trickyID := prefix + "tricky"
	if _, err := ackPublish(originURL, url.Values{"topic": {topic}, "id": {trickyID}, "data": {tricky}}, time.Now().Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	endID := prefix + "end"
	if _, err := ackPublish(edgeURL, url.Values{"topic": {topic}, "id": {endID}, "data": {"end"}}, time.Now().Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if !waitFor(30*time.Second, func() bool {
		for _, c := range controls {
			ev := c.snapshot()
			if len(ev) == 0 || ev[len(ev)-1].ID != endID {
				return false
			}
		}
		return true
	}) {
		t.Errorf("control subscribers did not receive the end marker (other clients affected)")
	}
	time.Sleep(500 * time.Millisecond)
	malformed := 0
	for _, c := range controls {
		for _, e := range c.snapshot() {
			if e.ID == trickyID {
				if e.Type != "message" || strings.ReplaceAll(strings.ReplaceAll(tricky, "\r\n", "\n"), "\r", "\n") != e.Data {
					malformed++
					t.Errorf("%s: multi-line data altered or injected fields: %+v", c.name, e)
				}
				continue
			}
			if e.ID == endID {
				continue
			}
			// Other tests' events are not running now; anything else came
			// from a hostile request.
			malformed++
			t.Errorf("%s: received an event from a hostile request: %+v", c.name, e)
		}
		c.mu.Lock()
		t.Logf("%s: %d connections, statuses %v", c.name, c.conns, c.statuses)
		c.mu.Unlock()
	}

	// The worker never opened a feed for a client.
	if got := metricValue(t, "edge_sse_origin_edge_feeds_opened_total"); got != feedsOpened {
		t.Errorf("origin edge feeds opened: %s → %s during the hostile requests", feedsOpened, got)
	}
	if got := originFeeds(t); got != feedsOpen {
		t.Errorf("origin edgeFeeds %d → %d", feedsOpen, got)
	}
	crashes := 0
	if err := healthy(); err != nil {
		crashes++
		t.Error(err)
	}
	for _, p := range []*process{sys.origin, sys.wrangler} {
		if b, _ := os.ReadFile(p.log); strings.Contains(string(b), "panic:") {
			crashes++
			t.Errorf("%s log holds a panic:\n%s", p.name, p.tail())
		}
	}
	report.Lock()
	report.badInputs += tried
	report.badAccepted += accepted
	report.bad5x += fivexx
	report.crashes += crashes
	report.known += knownHits
	report.Unlock()
	t.Logf("REPORT bad-input: tried %d, accepted (2xx/3xx) %d, 5xx %d, no answer %d, malformed delivered %d, crashes %d, known findings %d",
		tried, accepted, fivexx, noAnswer, malformed, crashes, knownHits)
}

// headerBytes is the size of a request's extra headers.
func headerBytes(h map[string]string) int {
	n := 0
	for k, v := range h {
		n += len(k) + len(v)
	}
	return n
}
