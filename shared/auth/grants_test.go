package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// detail returns one Mercure authorization detail as JSON.
func detail(actions, topics string, payload ...string) string {
	p := ""
	if len(payload) > 0 {
		p = `,"payload":` + payload[0]
	}
	return fmt.Sprintf(`{"type":%q,"actions":%s,"topics":%s%s}`, DetailType, actions, topics, p)
}

// grants is the part of Claims a claim shape determines.
type grants struct {
	Form      Form
	Publish   []Matcher
	Subscribe []Matcher
	Payload   json.RawMessage
}

func TestClaimShapes(t *testing.T) {
	hsV := mustVerifier(t, Config{Keys: []Key{must(HMACKey(secret))}})
	strictV := mustVerifier(t, Config{Keys: []Key{must(HMACKey(secret))}, RequireAccessToken: true, Audience: "a", Issuer: "i"})
	books := "https://example.com/books/:id"
	tests := []struct {
		name    string
		strict  bool
		claims  string
		want    grants
		wantErr error
	}{
		{"legacy publish and subscribe strings", false,
			`{"mercure":{"publish":["*"],"subscribe":["https://example.com/books/{id}"],"payload":{"user":1}}}`,
			grants{FormLegacy, []Matcher{{"*", MatchSelector, nil}}, []Matcher{{"https://example.com/books/{id}", MatchSelector, nil}}, json.RawMessage(`{"user":1}`)}, nil},
		{"legacy objects with per-matcher payload", false,
			`{"mercure":{"subscribe":[{"match":"` + books + `","match_type":"urlpattern","payload":{"a":1}},{"match":"x"}],"publish":[{"match":"y","payload":1}]}}`,
			grants{FormLegacy, []Matcher{{"y", MatchExact, nil}}, []Matcher{{books, MatchURLPattern, json.RawMessage(`{"a":1}`)}, {"x", MatchExact, nil}}, nil}, nil},
		{"legacy scalar payload", false, `{"mercure":{"payload":"tenant-a"}}`,
			grants{Form: FormLegacy, Payload: json.RawMessage(`"tenant-a"`)}, nil},
		{"legacy null payload", false, `{"mercure":{"subscribe":["a"],"payload":null}}`,
			grants{Form: FormLegacy, Subscribe: []Matcher{{"a", MatchSelector, nil}}}, nil},
		{"legacy namespaced claim", false, `{"https://mercure.rocks/":{"publish":["a"]}}`,
			grants{Form: FormLegacy, Publish: []Matcher{{"a", MatchSelector, nil}}}, nil},
		{"legacy claim ignored in strict mode", true, `{"mercure":{"publish":["*"]}}`, grants{}, nil},
		{"current publish and subscribe", false,
			`{"authorization_details":[` + detail(`["publish","subscribe"]`, `[{"match":"*"}]`) + `]}`,
			grants{FormDetails, []Matcher{{"*", MatchExact, nil}}, []Matcher{{"*", MatchExact, nil}}, nil}, nil},
		{"current payloads stay with their matchers, in order", true,
			`{"authorization_details":[` +
				detail(`["subscribe"]`, `[{"match":"https://example.com/foo"}]`, `{"custom1":1}`) + "," +
				detail(`["subscribe"]`, `[{"match":"`+books+`","match_type":"urlpattern"},{"match":"b","match_type":"exact"}]`, `{"custom2":2}`) + "," +
				detail(`["subscribe"]`, `[{"match":"*"}]`, `{"custom3":3}`) + `]}`,
			grants{FormDetails, nil, []Matcher{
				{"https://example.com/foo", MatchExact, json.RawMessage(`{"custom1":1}`)},
				{books, MatchURLPattern, json.RawMessage(`{"custom2":2}`)},
				{"b", MatchExact, json.RawMessage(`{"custom2":2}`)},
				{"*", MatchExact, json.RawMessage(`{"custom3":3}`)},
			}, nil}, nil},
		{"current form wins over legacy", false,
			`{"mercure":{"publish":["*"]},"authorization_details":[` + detail(`["subscribe"]`, `[{"match":"a"}]`) + `]}`,
			grants{FormDetails, nil, []Matcher{{"a", MatchExact, nil}}, nil}, nil},
		{"empty details fall back to legacy", false,
			`{"mercure":{"publish":["*"]},"authorization_details":[]}`,
			grants{FormLegacy, []Matcher{{"*", MatchSelector, nil}}, nil, nil}, nil},
		{"other detail types are skipped", false,
			`{"authorization_details":[{"type":"payment","topics":"not mercure"},` + detail(`["publish"]`, `[{"match":"a"}]`) + `]}`,
			grants{FormDetails, []Matcher{{"a", MatchExact, nil}}, nil, nil}, nil},
		{"only other detail types", false, `{"authorization_details":[{"type":"payment"}],"mercure":{"publish":["*"]}}`, grants{}, nil},
		{"unknown actions grant nothing", false,
			`{"authorization_details":[` + detail(`["delete","subscribe"]`, `[{"match":"a"}]`) + `]}`,
			grants{FormDetails, nil, []Matcher{{"a", MatchExact, nil}}, nil}, nil},
		{"no mercure claim", false, `{"sub":"x"}`, grants{}, nil},

		{"details not an array", false, `{"authorization_details":{}}`, grants{}, ErrInvalidClaim},
		{"detail not an object", false, `{"authorization_details":[1]}`, grants{}, ErrInvalidClaim},
		{"no actions", false, `{"authorization_details":[` + detail(`[]`, `[{"match":"a"}]`) + `]}`, grants{}, ErrInvalidClaim},
		{"action not a string", false, `{"authorization_details":[` + detail(`["publish",1]`, `[{"match":"a"}]`) + `]}`, grants{}, ErrInvalidClaim},
		{"no topics", false, `{"authorization_details":[` + detail(`["publish"]`, `[]`) + `]}`, grants{}, ErrInvalidClaim},
		{"bare string topic", false, `{"authorization_details":[` + detail(`["publish"]`, `["*"]`) + `]}`, grants{}, ErrInvalidClaim},
		{"null topic", false, `{"authorization_details":[` + detail(`["publish"]`, `[null]`) + `]}`, grants{}, ErrInvalidClaim},
		{"topic without match", false, `{"authorization_details":[` + detail(`["publish"]`, `[{"match_type":"exact"}]`) + `]}`, grants{}, ErrInvalidClaim},
		{"empty match", false, `{"authorization_details":[` + detail(`["publish"]`, `[{"match":""}]`) + `]}`, grants{}, ErrInvalidClaim},
		{"unknown match_type", false, `{"authorization_details":[` + detail(`["publish"]`, `[{"match":"a","match_type":"regexp"}]`) + `]}`, grants{}, ErrInvalidClaim},
		{"match_type is case-sensitive", false, `{"authorization_details":[` + detail(`["publish"]`, `[{"match":"a","match_type":"Exact"}]`) + `]}`, grants{}, ErrInvalidClaim},
		{"selector is not a match_type", false, `{"authorization_details":[` + detail(`["publish"]`, `[{"match":"a","match_type":"selector"}]`) + `]}`, grants{}, ErrInvalidClaim},
		{"payload not an object", false, `{"authorization_details":[` + detail(`["subscribe"]`, `[{"match":"a"}]`, `"x"`) + `]}`, grants{}, ErrInvalidClaim},
		{"control character", false, `{"authorization_details":[` + detail(`["publish"]`, `[{"match":"a\nb"}]`) + `]}`, grants{}, ErrInvalidClaim},
		{"format character", false, `{"authorization_details":[` + detail(`["publish"]`, `[{"match":"a\u202eb"}]`) + `]}`, grants{}, ErrInvalidClaim},
		{"match too long", false, `{"authorization_details":[` + detail(`["publish"]`, `[{"match":"`+strings.Repeat("a", MaxMatchLength+1)+`"}]`) + `]}`, grants{}, ErrInvalidClaim},
		{"too many matchers", false, `{"mercure":{"publish":[` + strings.Repeat(`"a",`, MaxMatchers) + `"a"]}}`, grants{}, ErrInvalidClaim},
		{"one bad detail refuses the token", false,
			`{"authorization_details":[` + detail(`["publish"]`, `[{"match":"*"}]`) + "," + detail(`["subscribe"]`, `[{"match":"a","match_type":"nope"}]`) + `]}`, grants{}, ErrInvalidClaim},
		{"legacy claim not an object", false, `{"mercure":"publish"}`, grants{}, ErrInvalidClaim},
		{"legacy entry not a string or object", false, `{"mercure":{"subscribe":[true]}}`, grants{}, ErrInvalidClaim},
		{"legacy unknown match_type", false, `{"mercure":{"subscribe":[{"match":"a","match_type":"uritemplate"}]}}`, grants{}, ErrInvalidClaim},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, claims := hsV, tt.claims
			if tt.strict {
				v = strictV
				claims = `{"iss":"i","aud":"a",` + claims[1:]
			}
			var header any = map[string]string{"alg": "HS256", "typ": "at+jwt"}
			var m map[string]any
			if err := json.Unmarshal([]byte(claims), &m); err != nil {
				t.Fatal(err)
			}
			m["exp"] = time.Now().Add(time.Hour).Unix()
			c, err := v.Verify(raw(header, m, hs(secret)))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Verify: err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got := (grants{c.Form, c.Publish, c.Subscribe, c.Payload}); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("grants = %+v\nwant     %+v", got, tt.want)
			}
		})
	}
}

func TestCanPublish(t *testing.T) {
	tests := []struct {
		name    string
		c       Claims
		wantErr error
	}{
		{"publish grant", Claims{Form: FormDetails, Publish: []Matcher{{Match: "*"}}}, nil},
		{"legacy publish grant", Claims{Form: FormLegacy, Publish: []Matcher{{Match: "*"}}}, nil},
		{"subscribe only", Claims{Form: FormDetails, Subscribe: []Matcher{{Match: "*"}}}, ErrPublishForbidden},
		{"legacy subscribe only", Claims{Form: FormLegacy, Subscribe: []Matcher{{Match: "*"}}}, ErrPublishForbidden},
		{"no mercure claim", Claims{}, ErrNoMercureClaim},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.c.CanPublish(); !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("CanPublish = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
