package topic_test

import (
	"fmt"
	"log"

	"github.com/edge-sse/edge-sse/shared/topic"
)

// A subscriber listens to every book with a URL pattern while its token
// grants it only book 1 and its own namespace (Mercure §"Subscribers").
func Example() {
	c, err := topic.NewCompiler(topic.Config{HubURL: "https://example.com/.well-known/mercure"})
	if err != nil {
		log.Fatal(err)
	}
	// GET /.well-known/mercure?match_urlpattern=https://example.com/books/:id
	subscription, err := c.NewSet(topic.Spec{Kind: topic.KindURLPattern, Expr: "https://example.com/books/:id"})
	if err != nil {
		log.Fatal(err)
	}
	grant, err := c.NewSet(
		topic.Spec{Kind: topic.KindExact, Expr: "https://example.com/books/1"},
		topic.Spec{Kind: topic.KindURLPattern, Expr: "/users/42/*"},
	)
	if err != nil {
		log.Fatal(err)
	}
	updates := []struct {
		topics  []string
		private bool
	}{
		{[]string{"https://example.com/books/1"}, true},
		{[]string{"https://example.com/books/2"}, true},
		{[]string{"https://example.com/books/2"}, false},
		{[]string{"https://example.com/books/3", "https://example.com/users/42/books/3"}, true},
		{[]string{"https://example.com/authors/1"}, false},
	}
	for _, u := range updates {
		ts := c.Prepare(u.topics...) // once per update, shared by all subscribers
		deliver := subscription.MatchTopics(ts) && (!u.private || grant.MatchTopics(ts))
		fmt.Println(u.topics[0], u.private, deliver)
	}
	// Output:
	// https://example.com/books/1 true true
	// https://example.com/books/2 true false
	// https://example.com/books/2 false true
	// https://example.com/books/3 true true
	// https://example.com/authors/1 false false
}

// Query parameters name the kind of their selectors (Mercure
// §"Subscription"); "topic" is what pre-standardization clients send.
func ExampleParamKind() {
	for _, name := range []string{"match", "match_urlpattern", "topic", "last_event_id", "match_regexp"} {
		kind, ok, err := topic.ParamKind(name)
		fmt.Println(name, kind, ok, err)
	}
	// Output:
	// match exact true <nil>
	// match_urlpattern urlpattern true <nil>
	// topic topic true <nil>
	// last_event_id Kind(0) false <nil>
	// match_regexp Kind(0) false topic: unknown topic matcher query parameter; use "match", "match_exact", "match_urlpattern" or "topic", not "match_regexp"
}
