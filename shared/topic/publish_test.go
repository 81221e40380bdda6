package topic

import (
	"errors"
	"testing"
)

func TestCheckTopic(t *testing.T) {
	c := newTestCompiler(t)
	cases := []struct {
		name    string
		topic   string
		wantErr error
	}{
		{"absolute", "https://example.com/books/1", nil},
		{"relative", "/books/1", nil},
		{"urn", "urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6", nil},
		{"not a URL", "bar", nil},
		{"unparsable", "http://exa mple.com/.well-known/mercure/x", nil},
		{"sibling path", "/.well-known/mercure-other", nil},
		{"opaque path", "urn:.well-known/mercure/x", nil},
		{"wildcard", "*", ErrWildcardTopic},
		{"control character", "https://example.com/\r\nid: 1", ErrInvalidChar},
		{"format character", "https://example.com/\u2066x", ErrInvalidChar},
		{"hub path", "/.well-known/mercure", ErrReservedTopic},
		{"hub path with slash", "/.well-known/mercure/", ErrReservedTopic},
		{"subscription event", "/.well-known/mercure/subscriptions/exact/a/b", ErrReservedTopic},
		{"absolute on the hub's host", "https://example.com/.well-known/mercure/subscriptions/x", ErrReservedTopic},
		{"other host", "https://attacker.example/.well-known/mercure/subscriptions/x", ErrReservedTopic},
		{"other scheme", "foo:/.well-known/mercure/subscriptions/x", ErrReservedTopic},
		{"percent-encoded unreserved", "/.well-known/%6Dercure/subscriptions/x", ErrReservedTopic},
		{"percent-encoded lowercase hex", "/.well-known/%6dercure", ErrReservedTopic},
		{"dot-segments", "/.well-known/mercure/../mercure/subscriptions/x", ErrReservedTopic},
		{"encoded dot-segments", "/foo/%2e%2E/.well-known/mercure/x", ErrReservedTopic},
		{"relative dot-segments", "../.well-known/mercure/x", ErrReservedTopic},
		{"relative dot-segments elsewhere", "../mercure/x", nil},
		{"hierarchical path, any scheme", "urn:/.well-known/mercure", ErrReservedTopic},
		{"relative to hub path", "mercure/x", ErrReservedTopic},
		{"encoded slash is not a separator", "/.well-known%2Fmercure/x", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := c.CheckTopic(tc.topic); !errors.Is(err, tc.wantErr) {
				t.Errorf("CheckTopic(%q) = %v, want %v", tc.topic, err, tc.wantErr)
			}
		})
	}
}

func TestCheckTopicHubAtRoot(t *testing.T) {
	c, err := NewCompiler(Config{HubURL: "https://hub.example/mercure/"})
	if err != nil {
		t.Fatal(err)
	}
	for topic, want := range map[string]error{
		"/mercure":        ErrReservedTopic,
		"/mercure/x":      ErrReservedTopic,
		"/mercurex":       nil,
		"/other/mercure/": nil,
	} {
		if err := c.CheckTopic(topic); !errors.Is(err, want) {
			t.Errorf("CheckTopic(%q) = %v, want %v", topic, err, want)
		}
	}
}
