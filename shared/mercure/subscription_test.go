package mercure_test

import (
	"errors"
	"net/url"
	"testing"

	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/mercure"
	"github.com/edge-sse/edge-sse/shared/topic"
)

func compiler(t *testing.T) *topic.Compiler {
	t.Helper()
	c, err := topic.NewCompiler(topic.Config{HubURL: "https://hub.example/.well-known/mercure"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSelectorsAndCanReceive(t *testing.T) {
	c := compiler(t)
	tests := []struct {
		name    string
		query   string
		grants  []auth.Matcher
		topic   string
		private bool
		want    bool
		wantErr error
	}{
		{name: "exact topic", query: "topic=https://ex.com/a", topic: "https://ex.com/a", want: true},
		{name: "other topic", query: "topic=https://ex.com/a", topic: "https://ex.com/b", want: false},
		{name: "template", query: "topic=https://ex.com/books/{id}", topic: "https://ex.com/books/1", want: true},
		{name: "star", query: "topic=*", topic: "anything", want: true},
		{name: "match exact", query: "match=https://ex.com/a", topic: "https://ex.com/a", want: true},
		{name: "private without grant", query: "topic=*", topic: "https://ex.com/a", private: true, want: false},
		{name: "private with grant", query: "topic=*", grants: []auth.Matcher{{Match: "https://ex.com/a", Type: auth.MatchExact}}, topic: "https://ex.com/a", private: true, want: true},
		{name: "private other grant", query: "topic=*", grants: []auth.Matcher{{Match: "https://ex.com/b", Type: auth.MatchExact}}, topic: "https://ex.com/a", private: true, want: false},
		{name: "private star grant", query: "topic=https://ex.com/a", grants: []auth.Matcher{{Match: "*", Type: auth.MatchSelector}}, topic: "https://ex.com/a", private: true, want: true},
		{name: "no selector", query: "lastEventID=x", wantErr: mercure.ErrNoSelector},
		{name: "empty selector", query: "topic=", wantErr: mercure.ErrEmptySelector},
		{name: "empty match", query: "topic=a&match=", wantErr: mercure.ErrEmptySelector},
		{name: "unknown match param", query: "match_regexp=.*", wantErr: topic.ErrUnknownParam},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, _ := url.ParseQuery(tt.query)
			sub, err := mercure.Selectors(c, q)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Selectors err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			var grant *topic.Set
			if tt.grants != nil {
				if grant, err = mercure.Grants(c, tt.grants); err != nil {
					t.Fatal(err)
				}
			}
			if got := mercure.CanReceive(sub, grant, c.Prepare(tt.topic), tt.private); got != tt.want {
				t.Fatalf("CanReceive = %v, want %v", got, tt.want)
			}
		})
	}
}
