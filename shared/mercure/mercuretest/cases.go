// Package mercuretest holds the cases of the subscribe contract: requests,
// and the answer every hub of this project (the origin and the edge alike)
// must give them. The origin-versus-edge table test runs all of them
// against both sides; the end-to-end test runs those marked E2E through
// workerd and the real origin.
package mercuretest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/mercure"
)

// Header is one header field; a Case may repeat a name.
type Header struct{ Name, Value string }

// Case is a subscribe request and what the answer must be.
type Case struct {
	Name string
	// Query is the raw query of the request to mercure.Path.
	Query string
	// Header holds the request's header fields, in order.
	Header []Header
	// Status is the answer's status code.
	Status int
	// Body is a text the refusal's body must hold; "" for a stream.
	Body string
	// Challenge is the WWW-Authenticate value up to the resource_metadata
	// parameter ("" when the answer has none).
	Challenge string
	// Anchor is the Mercure-Last-Event-ID of the stream ("" for none).
	Anchor string
	// EdgeAnchor, when set, is the edge's Mercure-Last-Event-ID where it
	// differs from Anchor: for an id its ring does not hold, the edge
	// answers before the origin says whether it holds the id, and reports
	// it as found; when the origin does not hold it either, the stream
	// then opens with the mercure.MissedEventType event.
	EdgeAnchor string
	// E2E marks the representative subset run end to end.
	E2E bool
}

// Signer returns a token, signed with the key both hubs trust, for claims
// c with key id kid ("" for none) that expires after ttl (negative: that
// long ago).
type Signer func(c auth.Claims, kid string, ttl time.Duration) string

// RawSigner returns a token, signed with the key both hubs trust, whose
// claims set is the JSON text claims exactly as given: it can carry claims
// of types [auth.Signer] never writes.
type RawSigner func(claims string) string

// RawHS256 returns a RawSigner of HS256 tokens (typ "JWT") with key.
func RawHS256(key []byte) RawSigner {
	return func(claims string) string {
		enc := base64.RawURLEncoding
		input := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString([]byte(claims))
		m := hmac.New(sha256.New, key)
		m.Write([]byte(input))
		return input + "." + enc.EncodeToString(m.Sum(nil))
	}
}

// The hub settings the cases assume, besides these limits: anonymous
// subscribers allowed, no public hub URL configured, and one verification
// key without a key id.
const (
	MaxSelectors   = 100
	MaxLastEventID = mercure.DefaultMaxLastEventID
)

// Cases returns the cases; known is the newest event id both hubs hold,
// and "never-published" is an id neither holds.
func Cases(sign Signer, signRaw RawSigner, known string) []Case {
	all := []auth.Matcher{{Match: "*", Type: auth.MatchExact}}
	token := sign(auth.Claims{Subscribe: all}, "", time.Hour)
	many := make([]auth.Matcher, 150)
	for i := range many {
		many[i] = auth.Matcher{Match: "https://example.com/b/" + strconv.Itoa(i), Type: auth.MatchExact}
	}
	tooMany := "topic=*" + strings.Repeat("&topic=a", MaxSelectors)
	long := strings.Repeat("x", MaxLastEventID+1)
	bad := `Bearer error="invalid_token"`
	return []Case{
		{Name: "anonymous, every topic", Query: "topic=*", Status: 200, E2E: true},
		{Name: "no selector", Query: "foo=bar", Status: 400, Body: mercure.ErrNoSelector.Error(), E2E: true},
		{Name: "unknown matcher parameter", Query: "match_regex=a", Status: 400, Body: "unknown topic matcher query parameter"},
		{Name: "empty selector", Query: "match=", Status: 400, Body: "empty topic selector"},
		{Name: "one selector over the limit", Query: tooMany, Status: 400, Body: "too many topic selectors", E2E: true},
		{Name: "relative URL pattern without a hub URL", Query: "match_urlpattern=" + url.QueryEscape("/books/:id"), Status: 400, Body: "PUBLIC_URL", E2E: true},
		{Name: "absolute URL pattern", Query: "match_urlpattern=" + url.QueryEscape("https://example.com/books/:id"), Status: 200},
		{Name: "resume, header", Query: "topic=*", Header: []Header{{"Last-Event-ID", known}}, Status: 200, Anchor: known, E2E: true},
		{Name: "resume, last_event_id wins over lastEventID", Query: "topic=*&lastEventID=never-published&last_event_id=" + url.QueryEscape(known), Status: 200, Anchor: known, E2E: true},
		{Name: "resume, header wins over last_event_id", Query: "topic=*&last_event_id=never-published", Header: []Header{{"Last-Event-ID", known}}, Status: 200, Anchor: known},
		{Name: "resume from earliest, header", Query: "topic=*", Header: []Header{{"Last-Event-ID", mercure.Earliest}}, Status: 200, Anchor: mercure.Earliest},
		{Name: "resume from earliest, lastEventID", Query: "topic=*&lastEventID=earliest", Status: 200, Anchor: mercure.Earliest, E2E: true},
		{Name: "two Last-Event-ID headers are one unknown id", Query: "topic=*", Header: []Header{{"Last-Event-ID", known}, {"Last-Event-ID", known}}, Status: 200, Anchor: mercure.Earliest, EdgeAnchor: known + ", " + known},
		{Name: "Last-Event-ID over the limit", Query: "topic=*", Header: []Header{{"Last-Event-ID", long}}, Status: 400, Body: "longer than any event id", E2E: true},
		{Name: "last_event_id over the limit", Query: "topic=*&last_event_id=" + long, Status: 400, Body: "longer than any event id"},
		{Name: "token", Query: "topic=*", Header: []Header{{"Authorization", "Bearer " + token}}, Status: 200, E2E: true},
		{Name: "two Authorization headers", Query: "topic=*", Header: []Header{{"Authorization", "Bearer " + token}, {"Authorization", "Bearer " + token}}, Status: 400, Body: "several Authorization values", Challenge: `Bearer error="invalid_request"`, E2E: true},
		{Name: "Authorization not Bearer", Query: "topic=*", Header: []Header{{"Authorization", "Basic dXNlcjpwYXNz"}}, Status: 400, Body: "not \"Bearer <token>\"", Challenge: `Bearer error="invalid_request"`},
		{Name: "expired token", Query: "topic=*", Header: []Header{{"Authorization", "Bearer " + sign(auth.Claims{Subscribe: all}, "", -time.Hour)}}, Status: 401, Body: "expired", Challenge: bad},
		{Name: "bad signature", Query: "topic=*", Header: []Header{{"Authorization", "Bearer " + token[:len(token)-2] + "AA"}}, Status: 401, Body: "signature", Challenge: bad},
		{Name: "unknown kid, key without an id", Query: "topic=*", Header: []Header{{"Authorization", "Bearer " + sign(auth.Claims{Subscribe: all}, "not-a-key-of-ours", time.Hour)}}, Status: 200, E2E: true},
		{Name: "token in the cookie", Query: "topic=*", Header: []Header{{"Cookie", auth.CookieName + "=" + token}}, Status: 200},
		{Name: "second Cookie header with a bad token", Query: "topic=*", Header: []Header{{"Cookie", "a=b"}, {"Cookie", auth.LegacyCookieName + "=not.a.jwt"}}, Status: 401, Body: "not a JWT", Challenge: bad, E2E: true},
		{Name: "Authorization wins over a bad cookie", Query: "topic=*", Header: []Header{{"Authorization", "Bearer " + token}, {"Cookie", auth.CookieName + "=not.a.jwt"}}, Status: 200},
		{Name: "aud a number", Query: "topic=*", Header: []Header{{"Authorization", "Bearer " + signRaw(`{"aud":42,"mercure":{"subscribe":["*"]}}`)}}, Status: 401, Body: `claim "aud" must be a string or an array of strings`, Challenge: bad},
		{Name: "iss an array", Query: "topic=*", Header: []Header{{"Authorization", "Bearer " + signRaw(`{"iss":["x"],"mercure":{"subscribe":["*"]}}`)}}, Status: 401, Body: `claim "iss" must be a string`, Challenge: bad},
		{Name: "exp a string", Query: "topic=*", Header: []Header{{"Cookie", auth.CookieName + "=" + signRaw(`{"exp":"tomorrow","mercure":{"subscribe":["*"]}}`)}}, Status: 401, Body: `claim "exp" must be a number`, Challenge: bad},
		{Name: "mercure claim a number", Query: "topic=*", Header: []Header{{"Authorization", "Bearer " + signRaw(`{"mercure":42}`)}}, Status: 401, Body: `claim "mercure" must be an object`, Challenge: bad},
		{Name: "150 subscribe grants", Query: "topic=*", Header: []Header{{"Authorization", "Bearer " + sign(auth.Claims{Subscribe: many}, "", time.Hour)}}, Status: 200, E2E: true},
		{Name: "relative URL pattern grant without a hub URL", Query: "topic=*", Header: []Header{{"Authorization", "Bearer " + sign(auth.Claims{Subscribe: []auth.Matcher{{Match: "/books/:id", Type: auth.MatchURLPattern}}}, "", time.Hour)}}, Status: 401, Body: "PUBLIC_URL", Challenge: bad},
	}
}

// Request builds the case's request to the hub at base (scheme://host).
func (c Case) Request(base string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodGet, base+mercure.Path+"?"+c.Query, nil)
	if err != nil {
		return nil, err
	}
	for _, h := range c.Header {
		req.Header.Add(h.Name, h.Value)
	}
	return req, nil
}

// Combined returns the values of the named header combined as a Worker
// sees them (mercure.HeaderValue).
func (c Case) Combined(name string) string {
	var vs []string
	for _, h := range c.Header {
		if http.CanonicalHeaderKey(h.Name) == http.CanonicalHeaderKey(name) {
			vs = append(vs, h.Value)
		}
	}
	return mercure.HeaderValue(vs)
}

// Compared are the response headers that must be equal at the origin and
// the edge whatever their configuration (CORS headers follow each side's
// CORS origins: the end-to-end test, which gives both the same, compares
// those too).
var Compared = []string{"Content-Type", "Cache-Control", "X-Content-Type-Options", "WWW-Authenticate", "Mercure-Last-Event-ID", "Last-Event-ID"}
