package server_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/origin/server"
	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/topic"
)

// TestPublishRefusesInvalidUpdates: every malformed update is refused with
// a 4xx saying why, and none is stored or delivered (Mercure
// §"Publication", §"Server-Sent Events Field Injection").
func TestPublishRefusesInvalidUpdates(t *testing.T) {
	h := newHub(t, boltStore(t), func(c *serverConfig) {
		c.MaxTopics, c.MaxFieldBytes, c.MaxBodyBytes, c.AllowAnonymous = 3, 64, 1024, true
	})
	watcher, _ := h.subscribe(t, "topic=*", nil)
	long := strings.Repeat("x", 65)
	cases := []struct {
		name    string
		form    url.Values
		status  int
		wantErr error
	}{
		{"LF in id", form("topic", bookTopic, "id", "1\nevent: forged"), 400, server.ErrInvalidID},
		{"CR in id", form("topic", bookTopic, "id", "1\rdata: forged"), 400, server.ErrInvalidID},
		{"NUL in id", form("topic", bookTopic, "id", "1\x00"), 400, server.ErrInvalidID},
		{"format character in id", form("topic", bookTopic, "id", "a\u200bb"), 400, server.ErrInvalidID},
		{"id starting with #", form("topic", bookTopic, "id", "#1"), 400, server.ErrInvalidID},
		{"reserved id earliest", form("topic", bookTopic, "id", "earliest"), 400, server.ErrInvalidID},
		{"LF in type", form("topic", bookTopic, "type", "update\ndata: forged"), 400, server.ErrInvalidType},
		{"CR in type", form("topic", bookTopic, "type", "update\rid: 9"), 400, server.ErrInvalidType},
		{"NUL in type", form("topic", bookTopic, "type", "up\x00date"), 400, server.ErrInvalidType},
		{"reserved type mercure", form("topic", bookTopic, "type", "mercure"), 400, server.ErrReservedType},
		{"reserved type mercure-missed", form("topic", bookTopic, "type", "mercure-missed"), 400, server.ErrReservedType},
		{"retry with letters", form("topic", bookTopic, "retry", "10s"), 400, server.ErrInvalidRetry},
		{"negative retry", form("topic", bookTopic, "retry", "-1"), 400, server.ErrInvalidRetry},
		{"retry with LF", form("topic", bookTopic, "retry", "1\nid: 2"), 400, server.ErrInvalidRetry},
		{"data not UTF-8", form("topic", bookTopic, "data", "\xff\xfe"), 400, server.ErrInvalidData},
		{"no topic", form("data", "x"), 400, server.ErrMissingTopic},
		{"wildcard topic", form("topic", "*"), 400, topic.ErrWildcardTopic},
		{"reserved hub topic", form("topic", "https://hub.test/.well-known/mercure/subscriptions/x"), 400, topic.ErrReservedTopic},
		{"reserved relative topic", form("topic", "/.well-known/%6Dercure/x"), 400, topic.ErrReservedTopic},
		{"LF in topic", form("topic", "a\nb"), 400, topic.ErrInvalidChar},
		{"too many topics", form("topic", "a", "topic", "b", "topic", "c", "topic", "d"), 413, server.ErrTooManyTopics},
		{"topic too long", form("topic", long), 413, server.ErrFieldTooLong},
		{"id too long", form("topic", bookTopic, "id", long), 413, server.ErrFieldTooLong},
		{"body too large", form("topic", bookTopic, "data", strings.Repeat("x", 2000)), 413, server.ErrBodyTooLarge},
	}
	tok := publisher(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := h.post(t, tok, c.form)
			if resp.StatusCode != c.status {
				t.Errorf("status %d, want %d (%q)", resp.StatusCode, c.status, body)
			}
			if !strings.Contains(body, c.wantErr.Error()) {
				t.Errorf("body %q does not say %q", body, c.wantErr)
			}
		})
	}
	t.Run("not a form", func(t *testing.T) {
		req := newPublishRequest(t, h, form("topic", bookTopic))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, body := do(t, req)
		if resp.StatusCode != http.StatusUnsupportedMediaType || !strings.Contains(body, server.ErrContentType.Error()) {
			t.Errorf("%s %q", resp.Status, body)
		}
	})
	t.Run("malformed form", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, h.URL+server.MercurePath, strings.NewReader("topic=a&data=%zz"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, body := do(t, req)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, server.ErrForm.Error()) {
			t.Errorf("%s %q", resp.Status, body)
		}
	})

	if st := h.hub.Stats(); st.Published != 0 || st.History != 0 {
		t.Fatalf("refused updates were stored: %+v", st)
	}
	ok := h.publish(t, form("topic", bookTopic, "data", "valid"))
	if e := watcher.next(t, 5*time.Second); e.ID != ok {
		t.Fatalf("first delivered event %q, want only the valid %q", e.ID, ok)
	}
}

// TestPublishAnswer: 200 text/plain with the id, a generated urn:uuid or
// the given id; the event reaches subscribers with its type, retry and data
// split into lines, so that data cannot inject fields.
func TestPublishAnswer(t *testing.T) {
	h := newHub(t, nil, allowAnonymous)
	sub, _ := h.subscribe(t, "topic="+url.QueryEscape(bookTopic), nil)

	resp, id := h.post(t, publisher(t), form("topic", bookTopic, "data", "plain"))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("%s, Content-Type %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	if !regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id) {
		t.Fatalf("generated id %q is not a version 4 urn:uuid", id)
	}
	if e := sub.next(t, 5*time.Second); e.ID != id || e.Data != "plain" || e.Type != "message" {
		t.Fatalf("delivered %+v", e)
	}

	given := h.publish(t, form("topic", bookTopic, "id", "book-1-v2", "type", "update", "retry", "2500", "data", "a\r\nb\nid: forged\revent: forged"))
	if given != "book-1-v2" {
		t.Fatalf("publish answered %q, want the given id", given)
	}
	var retry int
	for it := range sub.items {
		if it.isRetry {
			retry = it.retry
			continue
		}
		if it.event.ID != "book-1-v2" || it.event.Type != "update" || it.event.Data != "a\nb\nid: forged\nevent: forged" {
			t.Fatalf("delivered %+v", it.event)
		}
		break
	}
	if retry != 2500 {
		t.Fatalf("retry %d, want 2500", retry)
	}
}

// TestPublishDuplicateID: an id already held is refused with 409 and the
// update is neither stored nor delivered twice.
func TestPublishDuplicateID(t *testing.T) {
	h := newHub(t, boltStore(t), allowAnonymous)
	sub, _ := h.subscribe(t, "topic=*", nil)
	h.publish(t, form("topic", bookTopic, "id", "dup", "data", "first"))
	resp, body := h.post(t, publisher(t), form("topic", bookTopic, "id", "dup", "data", "second"))
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, server.ErrDuplicateID.Error()) {
		t.Fatalf("%s %q, want 409", resp.Status, body)
	}
	marker := h.publish(t, form("topic", bookTopic, "data", "after"))
	if got := sub.until(t, marker, 5*time.Second); len(got) != 1 || got[0] != "dup" {
		t.Fatalf("delivered %v, want dup once", got)
	}
	if n := h.hub.Stats().History; n != 2 {
		t.Fatalf("history holds %d events, want 2", n)
	}
}

// TestPublishPrivateFieldPresence: the private field marks an update
// private whatever its value, even empty or "false" (Mercure
// §"Publication": hubs must not interpret the value).
func TestPublishPrivateFieldPresence(t *testing.T) {
	h := newHub(t, nil, allowAnonymous)
	anon, _ := h.subscribe(t, "topic=*", nil)
	reader, _ := h.subscribe(t, "topic=*", bearer(sign(t, auth.Claims{Subscribe: exact(bookTopic)}, time.Hour)))
	var private []string
	for _, v := range []string{"", "on", "false", "0", "off"} {
		private = append(private, h.publish(t, url.Values{"topic": {bookTopic}, "private": {v}}))
	}
	marker := h.publish(t, form("topic", bookTopic))
	if got := anon.until(t, marker, 5*time.Second); len(got) != 0 {
		t.Fatalf("anonymous subscriber got private updates %v", got)
	}
	if got := reader.until(t, marker, 5*time.Second); strings.Join(got, ",") != strings.Join(private, ",") {
		t.Fatalf("authorized subscriber got %v, want %v", got, private)
	}
}
