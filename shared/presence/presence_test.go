package presence_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/presence"
	"github.com/edge-sse/edge-sse/shared/topic"
)

func TestSubscriberID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := presence.NewSubscriberID()
		if !presence.ValidSubscriberID(id) {
			t.Fatalf("NewSubscriberID() = %q is not valid", id)
		}
		u := strings.TrimPrefix(id, presence.SubscriberPrefix)
		if u[14] != '4' || !strings.ContainsRune("89ab", rune(u[19])) {
			t.Fatalf("%q is not a version 4, RFC 9562 variant UUID", id)
		}
		if seen[id] {
			t.Fatalf("%q twice", id)
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "urn:uuid:", "bb3de268-05b0-4c65-b44e-8f9acefc29d6",
		"urn:uuid:BB3DE268-05B0-4C65-B44E-8F9ACEFC29D6", "urn:uuid:bb3de268x05b0-4c65-b44e-8f9acefc29d6",
		"urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d", "urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6/x"} {
		if presence.ValidSubscriberID(bad) {
			t.Errorf("ValidSubscriberID(%q) = true", bad)
		}
	}
	if !presence.ValidSubscriberID("urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6") {
		t.Error("the spec's example id is refused")
	}
	id := presence.NewInstanceID()
	if !presence.ValidInstanceID(id) || id == presence.NewInstanceID() {
		t.Fatalf("NewInstanceID() = %q", id)
	}
	for _, bad := range []string{"", strings.Repeat("a", 31), strings.Repeat("A", 32), strings.Repeat("g", 32), strings.Repeat("a", 33)} {
		if presence.ValidInstanceID(bad) {
			t.Errorf("ValidInstanceID(%q) = true", bad)
		}
	}
}

// TestTopic: the spec's example topic, and exactly-once encoding: a "%"
// already in a value is itself encoded.
func TestTopic(t *testing.T) {
	k := presence.Key{MatchType: "urlpattern", Match: "https://example.com/:selector", Subscriber: "urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6"}
	want := "/.well-known/mercure/subscriptions/urlpattern/https%3A%2F%2Fexample.com%2F%3Aselector/urn%3Auuid%3Abb3de268-05b0-4c65-b44e-8f9acefc29d6"
	if got := k.Topic("/.well-known/mercure"); got != want {
		t.Fatalf("Topic = %q, want %q", got, want)
	}
	if got := k.Topic("/hub/"); !strings.HasPrefix(got, "/hub/subscriptions/urlpattern/") {
		t.Fatalf("Topic(/hub/) = %q", got)
	}
	for in, want := range map[string]string{
		"a%2Fb":      "a%252Fb",
		"AZaz09-._~": "AZaz09-._~",
		"/x?y=1#z":   "%2Fx%3Fy%3D1%23z",
		"é":          "%C3%A9",
		"{id} +*":    "%7Bid%7D%20%2B%2A",
		"":           "",
	} {
		if got := presence.Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
		if back, err := presence.Unescape(presence.Escape(in)); err != nil || back != in {
			t.Errorf("Unescape(Escape(%q)) = %q, %v", in, back, err)
		}
	}
	if got, err := presence.Unescape("https:%2f%2Fa"); err != nil || got != "https://a" {
		t.Errorf("Unescape of a loosely encoded segment = %q, %v", got, err)
	}
	for _, bad := range []string{"%", "%2", "%zz", "a%g0"} {
		if _, err := presence.Unescape(bad); !errors.Is(err, presence.ErrBadEscape) {
			t.Errorf("Unescape(%q) error %v", bad, err)
		}
	}
}

func TestParsePath(t *testing.T) {
	const hub = "/.well-known/mercure"
	k := presence.Key{MatchType: "exact", Match: "https://example.com/a%20b/c", Subscriber: presence.NewSubscriberID()}
	for path, want := range map[string]presence.Ref{
		hub + "/subscriptions":                        {Scope: presence.ScopeAll},
		presence.MatchPath(hub, k.MatchType, k.Match): {Scope: presence.ScopeMatch, Key: presence.Key{MatchType: "exact", Match: k.Match}},
		k.Topic(hub): {Scope: presence.ScopeOne, Key: k},
		hub + "/subscriptions/urlpattern/https:%2F%2Fa%2F:id": {Scope: presence.ScopeMatch, Key: presence.Key{MatchType: "urlpattern", Match: "https://a/:id"}},
	} {
		got, err := presence.ParsePath(hub, path)
		if err != nil || got != want {
			t.Errorf("ParsePath(%q) = %+v, %v, want %+v", path, got, err, want)
		}
	}
	for _, bad := range []string{hub, hub + "/subscriptionsx", hub + "/subscriptions/", hub + "/subscriptions/exact",
		hub + "/subscriptions/exact/", hub + "/subscriptions/exact//x", hub + "/subscriptions/a/b/c/d", "/other/subscriptions"} {
		if _, err := presence.ParsePath(hub, bad); !errors.Is(err, presence.ErrNotSubscriptions) {
			t.Errorf("ParsePath(%q) error %v, want ErrNotSubscriptions", bad, err)
		}
	}
	if _, err := presence.ParsePath(hub, hub+"/subscriptions/exact/%zz"); !errors.Is(err, presence.ErrBadEscape) {
		t.Errorf("bad escape: %v", err)
	}
}

// TestDocument: the event document has the spec's members, in JSON.
func TestDocument(t *testing.T) {
	k := presence.Key{MatchType: "exact", Match: "https://example.com/a-topic", Subscriber: "urn:uuid:1e0cba4c-4bcd-44f0-ae8a-7b76f7ef1280"}
	d := presence.NewSubscription("/.well-known/mercure", k, true, json.RawMessage(`{"baz":"bat"}`))
	want := `{"id":"/.well-known/mercure/subscriptions/exact/https%3A%2F%2Fexample.com%2Fa-topic/urn%3Auuid%3A1e0cba4c-4bcd-44f0-ae8a-7b76f7ef1280","type":"subscription","match_type":"exact","match":"https://example.com/a-topic","subscriber":"urn:uuid:1e0cba4c-4bcd-44f0-ae8a-7b76f7ef1280","active":true,"payload":{"baz":"bat"}}`
	if got := string(d.JSON()); got != want {
		t.Fatalf("JSON =\n%s\nwant\n%s", got, want)
	}
	d = presence.NewSubscription("/.well-known/mercure", k, false, nil)
	if got := string(d.JSON()); strings.Contains(got, "payload") || !strings.Contains(got, `"active":false`) {
		t.Fatalf("JSON without payload = %s", got)
	}
	if d.Key() != k {
		t.Fatalf("Key() = %+v", d.Key())
	}
}

func TestPayloadFor(t *testing.T) {
	c, err := topic.NewCompiler(topic.Config{HubURL: "https://example.com/.well-known/mercure"})
	if err != nil {
		t.Fatal(err)
	}
	p := func(s string) json.RawMessage { return json.RawMessage(s) }
	claims := &auth.Claims{Form: auth.FormDetails, Subscribe: []auth.Matcher{
		{Match: "https://example.com/a", Type: auth.MatchExact, Payload: p(`{"n":1}`)},
		{Match: "https://example.com/bar/:id", Type: auth.MatchURLPattern, Payload: p(`{"n":2}`)},
		{Match: "https://example.com/nopayload", Type: auth.MatchExact},
		{Match: "*", Type: auth.MatchExact, Payload: p(`{"n":3}`)},
	}}
	for expr, want := range map[string]string{
		"https://example.com/a":         `{"n":1}`,
		"https://example.com/bar/:id":   `{"n":2}`, // the spec's example: the same pattern
		"https://example.com/bar/7":     `{"n":2}`,
		"https://example.com/nopayload": ``, // the first matching grant decides
		"https://example.com/else":      `{"n":3}`,
	} {
		if got := string(presence.PayloadFor(c, claims, expr)); got != want {
			t.Errorf("PayloadFor(%q) = %s, want %s", expr, got, want)
		}
	}
	if presence.PayloadFor(c, nil, "x") != nil {
		t.Error("anonymous subscriber has a payload")
	}
	legacy := &auth.Claims{Form: auth.FormLegacy, Payload: p(`{"legacy":true}`)}
	if got := string(presence.PayloadFor(c, legacy, "anything")); got != `{"legacy":true}` {
		t.Errorf("legacy payload = %s", got)
	}
}

func validReport() presence.Report {
	return presence.Report{Hub: presence.NewInstanceID(), Name: "shard-0", Seq: 1, Ops: []presence.Op{
		{Op: presence.OpAdd, Subscriber: presence.NewSubscriberID(), Topics: []presence.Topic{{MatchType: "exact", Match: "https://example.com/a"}}, Payload: json.RawMessage(`{"a":1}`)},
		{Op: presence.OpRemove, Subscriber: presence.NewSubscriberID()},
	}}
}

func TestDecode(t *testing.T) {
	r := validReport()
	b, _ := json.Marshal(r)
	got, err := presence.Decode(strings.NewReader(string(b)), presence.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Hub != r.Hub || got.Seq != 1 || len(got.Ops) != 2 || string(got.Ops[0].TopicPayload(0)) != `{"a":1}` {
		t.Fatalf("Decode = %+v", got)
	}
	// The protocol's example body, as the lead wrote it.
	body := `{"hub":"0123456789abcdef0123456789abcdef","name":"x","seq":7,"full":true,
	 "ops":[{"op":"add","subscriber":"urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6","topics":[{"match_type":"exact","match":"a","payload":null}],"payload":{"k":"v"}}]}`
	got, err = presence.Decode(strings.NewReader(body), presence.Limits{})
	if err != nil || !got.Full || got.Seq != 7 || string(got.Ops[0].TopicPayload(0)) != `{"k":"v"}` {
		t.Fatalf("Decode(example) = %+v, %v", got, err)
	}

	big := presence.Report{Hub: r.Hub, Seq: 1}
	for range 11 {
		big.Ops = append(big.Ops, presence.Op{Op: presence.OpRemove, Subscriber: presence.NewSubscriberID()})
	}
	b, _ = json.Marshal(big)
	if _, err := presence.Decode(strings.NewReader(string(b)), presence.Limits{MaxOps: 10}); !errors.Is(err, presence.ErrTooLarge) {
		t.Errorf("11 ops with MaxOps 10: %v", err)
	}
	if _, err := presence.Decode(strings.NewReader(string(b)), presence.Limits{MaxBodyBytes: int64(len(b) - 1)}); !errors.Is(err, presence.ErrTooLarge) {
		t.Errorf("body past MaxBodyBytes: %v", err)
	}
	if _, err := presence.Decode(strings.NewReader(string(b)), presence.Limits{MaxBodyBytes: int64(len(b))}); err != nil {
		t.Errorf("body of exactly MaxBodyBytes: %v", err)
	}

	mut := func(f func(r *presence.Report)) string {
		r := validReport()
		f(&r)
		b, _ := json.Marshal(r)
		return string(b)
	}
	for name, body := range map[string]string{
		"not json":          `{"hub":`,
		"trailing":          mut(func(*presence.Report) {}) + `{}`,
		"array":             `[]`,
		"bad hub":           mut(func(r *presence.Report) { r.Hub = "xyz" }),
		"seq 0":             mut(func(r *presence.Report) { r.Seq = 0 }),
		"bad op":            mut(func(r *presence.Report) { r.Ops[0].Op = "upsert" }),
		"bad subscriber":    mut(func(r *presence.Report) { r.Ops[0].Subscriber = "alice" }),
		"add without topic": mut(func(r *presence.Report) { r.Ops[0].Topics = nil }),
		"bad match type":    mut(func(r *presence.Report) { r.Ops[0].Topics[0].MatchType = "Exact" }),
		"empty match":       mut(func(r *presence.Report) { r.Ops[0].Topics[0].Match = "" }),
		"long match":        mut(func(r *presence.Report) { r.Ops[0].Topics[0].Match = strings.Repeat("a", 4097) }),
		"payload array":     mut(func(r *presence.Report) { r.Ops[0].Payload = json.RawMessage(`[1]`) }),
		"remove with topic": mut(func(r *presence.Report) { r.Ops[1].Topics = r.Ops[0].Topics }),
		"remove in full":    mut(func(r *presence.Report) { r.Full = true }),
		"twice in full": mut(func(r *presence.Report) {
			r.Full, r.Ops[1] = true, r.Ops[0]
		}),
	} {
		if _, err := presence.Decode(strings.NewReader(body), presence.Limits{}); !errors.Is(err, presence.ErrMalformed) {
			t.Errorf("%s: error %v, want ErrMalformed", name, err)
		}
	}
}
