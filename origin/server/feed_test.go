package server_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/origin/hub/hubtest"
	"github.com/edge-sse/edge-sse/origin/server"
	"github.com/edge-sse/edge-sse/shared/frame"
)

// feedFrame is a decoded frame, copied out of the reader's buffer.
type feedFrame struct {
	typ     frame.Type
	id      string
	private bool
	sse     string
}

func (f feedFrame) String() string { return f.typ.String() + "(" + f.id + ")" }

// feedClient reads an edge feed's frames on a goroutine.
type feedClient struct {
	resp   *http.Response
	frames chan feedFrame
	err    chan error // the reader's error at the end of the body
}

// openFeed requests the edge feed with query and the given secret (none
// when empty); for a status other than 200 it returns the body.
func (h *testHub) openFeed(t *testing.T, query, secret string) (*feedClient, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.URL+server.FeedPath+"?"+query, nil)
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	fc := &feedClient{resp: resp, frames: make(chan feedFrame, 1024), err: make(chan error, 1)}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fc, string(b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != server.FeedContentType {
		t.Fatalf("feed Content-Type %q", ct)
	}
	go func() {
		defer resp.Body.Close()
		defer close(fc.frames)
		r := frame.NewReader(resp.Body, 0)
		for r.Next() {
			f := r.Frame()
			fc.frames <- feedFrame{typ: f.Type, id: string(f.ID), private: f.Private, sse: string(f.SSE)}
		}
		fc.err <- r.Err()
	}()
	return fc, ""
}

// next returns the next frame of a type in types, skipping others.
func (fc *feedClient) next(t *testing.T, types ...frame.Type) feedFrame {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case f, ok := <-fc.frames:
			if !ok {
				t.Fatal("feed ended")
			}
			for _, typ := range types {
				if f.typ == typ {
					return f
				}
			}
		case <-timeout:
			t.Fatalf("no %v frame within 5s", types)
		}
	}
}

// all returns every frame up to the end of a feed that must end by itself.
func (fc *feedClient) all(t *testing.T) []feedFrame {
	t.Helper()
	var out []feedFrame
	timeout := time.After(5 * time.Second)
	for {
		select {
		case f, ok := <-fc.frames:
			if !ok {
				if err := <-fc.err; err != nil {
					t.Fatalf("feed ended with %v", err)
				}
				return out
			}
			out = append(out, f)
		case <-timeout:
			t.Fatalf("feed did not end within 5s; read %v", out)
		}
	}
}

// TestFeedAuthorization: the feed is never served without the secret.
func TestFeedAuthorization(t *testing.T) {
	h := newHub(t, nil)
	for _, secret := range []string{"", "wrong", feedSecret + "x", strings.ToUpper(feedSecret)} {
		fc, body := h.openFeed(t, "", secret)
		if fc.resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, server.ErrFeedUnauthorized.Error()) {
			t.Errorf("secret %q: %s %q, want 401", secret, fc.resp.Status, body)
		}
	}
	if fc, body := h.openFeed(t, "", feedSecret); fc.resp.StatusCode != http.StatusOK {
		t.Fatalf("right secret: %s %q", fc.resp.Status, body)
	}
	off := newHub(t, nil, func(c *serverConfig) { c.FeedSecret = "" })
	if fc, _ := off.openFeed(t, "", "x"); fc.resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("feed without a configured secret: %s, want 401", fc.resp.Status)
	}
}

// TestFeedLive: Hello with the newest id, the stored events after the
// requested id, then live events (private ones included, flagged) and
// heartbeats.
func TestFeedLive(t *testing.T) {
	h := newHub(t, boltStore(t), func(c *serverConfig) { c.Heartbeat = 50 * time.Millisecond })
	e1 := h.publish(t, form("topic", bookTopic, "data", "1"))
	e2 := h.publish(t, form("topic", bookTopic, "data", "2"))
	waitNewest(t, h, e2)
	fc, _ := h.openFeed(t, "lastEventID="+url.QueryEscape(e1), feedSecret)
	if f := fc.next(t, frame.TypeHello, frame.TypeEvent); f.typ != frame.TypeHello || f.id != e2 {
		t.Fatalf("first frame %v, want hello(%s)", f, e2)
	}
	if f := fc.next(t, frame.TypeEvent); f.id != e2 || !strings.Contains(f.sse, "data: 2\n") {
		t.Fatalf("replay %v %q, want %s", f, f.sse, e2)
	}
	e3 := h.publish(t, form("topic", bookTopic, "private", "on"))
	if f := fc.next(t, frame.TypeEvent); f.id != e3 || !f.private {
		t.Fatalf("live %v private=%v, want private %s", f, f.private, e3)
	}
	fc.next(t, frame.TypeHeartbeat)
}

// TestFeedUnknownID: an unknown id gets Hello, a Gap frame for it, then
// live events.
func TestFeedUnknownID(t *testing.T) {
	h := newHub(t, nil)
	// Stored and offered before the feed opens: otherwise it can reach the
	// new feed as a live event, after the Gap (the feed starts at its own
	// position, not at the hub's newest id).
	waitNewest(t, h, h.publish(t, form("topic", bookTopic)))
	fc, _ := h.openFeed(t, "lastEventID=gone", feedSecret)
	fc.next(t, frame.TypeHello)
	if f := fc.next(t, frame.TypeGap, frame.TypeEvent); f.typ != frame.TypeGap || f.id != "gone" {
		t.Fatalf("after hello %v, want gap(gone)", f)
	}
	id := h.publish(t, form("topic", bookTopic))
	if f := fc.next(t, frame.TypeEvent); f.id != id {
		t.Fatalf("live %v, want %s", f, id)
	}
}

// TestFeedCatchUp: the bounded mode streams Hello and the events after
// lastEventID up to and including until, then ends, without live events;
// an unknown id gives Hello and a Gap frame, then the end.
func TestFeedCatchUp(t *testing.T) {
	h := newHub(t, boltStore(t))
	var ids []string
	for i := range 6 {
		f := form("topic", bookTopic, "data", string(rune('a'+i)))
		if i == 2 {
			f.Set("private", "on")
		}
		ids = append(ids, h.publish(t, f))
	}
	waitNewest(t, h, ids[5])
	catchUp := func(after, until string) string {
		return "lastEventID=" + url.QueryEscape(after) + "&until=" + url.QueryEscape(until)
	}
	cases := []struct {
		name  string
		query string
		want  string
	}{
		{"range", catchUp(ids[0], ids[3]), "hello(" + ids[5] + ") event(" + ids[1] + ") event(" + ids[2] + ") event(" + ids[3] + ")"},
		{"one event", catchUp(ids[4], ids[5]), "hello(" + ids[5] + ") event(" + ids[5] + ")"},
		{"empty range", catchUp(ids[3], ids[3]), "hello(" + ids[5] + ")"},
		{"until before lastEventID", catchUp(ids[4], ids[1]), "hello(" + ids[5] + ")"},
		{"unknown lastEventID", catchUp("gone", ids[3]), "hello(" + ids[5] + ") gap(gone)"},
		{"unknown until", catchUp(ids[0], "future"), "hello(" + ids[5] + ") gap(future)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fc, body := h.openFeed(t, c.query, feedSecret)
			if fc.resp.StatusCode != http.StatusOK {
				t.Fatalf("%s %q", fc.resp.Status, body)
			}
			var got []string
			for _, f := range fc.all(t) {
				got = append(got, f.String())
			}
			if strings.Join(got, " ") != c.want {
				t.Fatalf("frames %v, want %s", got, c.want)
			}
		})
	}
	t.Run("needs both ids", func(t *testing.T) {
		fc, body := h.openFeed(t, "until="+url.QueryEscape(ids[1]), feedSecret)
		if fc.resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, server.ErrCatchUp.Error()) {
			t.Fatalf("%s %q, want 400", fc.resp.Status, body)
		}
	})
	t.Run("needs the secret", func(t *testing.T) {
		if fc, _ := h.openFeed(t, catchUp(ids[0], ids[3]), ""); fc.resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s, want 401", fc.resp.Status)
		}
	})
	t.Run("needs the history", func(t *testing.T) {
		h := newHub(t, nil, func(c *serverConfig) { c.History = nil })
		if fc, _ := h.openFeed(t, catchUp("a", "b"), feedSecret); fc.resp.StatusCode != http.StatusNotImplemented {
			t.Fatalf("%s, want 501", fc.resp.Status)
		}
	})
}

// TestFeedDrain: Drain ends the live feeds.
func TestFeedDrain(t *testing.T) {
	h := newHub(t, nil)
	fc, _ := h.openFeed(t, "", feedSecret)
	fc.next(t, frame.TypeHello)
	h.srv.Drain()
	fc.all(t)
}

// waitNewest waits until the hub's newest id, which a feed's Hello carries,
// is id. A publish returns once the event is stored; the newest id moves
// when the fan-out takes the event, just after.
func waitNewest(t *testing.T, h *testHub, id string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); h.hub.LastEventID() != id; {
		if time.Now().After(deadline) {
			t.Fatalf("hub's newest id is %s 5 s after the last publish, want %s", h.hub.LastEventID(), id)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestFeedHelloIsTheFeedsPosition: a live feed's Hello names the id right
// before its first event, also while events are being published as the
// feed opens. An edge hub anchors its replay ring at the Hello's id, and
// its clients in catch-up are served from the origin's history up to it
// and from the feed after it: a Hello ahead of the feed's position loses
// the events between for those clients, one behind duplicates them. (The
// Hello used to carry the hub's newest id, which the fan-out goroutine
// stores after offering a batch to every shard: a feed registered in a
// shard already offered the batch read the id before it and never got
// the batch. Found through a deploy at scale, 13 deliveries short in one
// run of 32.)
func TestFeedHelloIsTheFeedsPosition(t *testing.T) {
	h := newHub(t, hub.NewMemoryHistory(100000))
	stop := make(chan struct{})
	published := make(chan int, 1)
	go func() {
		i := 0
		defer func() { published <- i }()
		for ; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := h.hub.Publish(hubtest.Encode(hubtest.NewEvent(fmt.Sprintf("e%07d", i), "x", bookTopic))); err != nil {
				t.Error(err)
				return
			}
			if i%8 == 7 {
				runtime.Gosched() // let the fan-out make batches of a few
			}
		}
	}()
	defer func() {
		close(stop)
		<-published
	}()
	waitFor := func(id string) {
		for h.hub.LastEventID() < id {
			time.Sleep(time.Millisecond)
		}
	}
	waitFor("e0000010")
	const feeds = 400
	bad := 0
	for n := 0; n < feeds; n++ {
		fc, body := h.openFeed(t, "", feedSecret)
		if body != "" {
			t.Fatalf("feed: %s %s", fc.resp.Status, body)
		}
		hello := fc.next(t, frame.TypeHello, frame.TypeEvent)
		first := fc.next(t, frame.TypeEvent)
		fc.resp.Body.Close()
		var hi, fi int
		if hello.typ != frame.TypeHello || !scanID(hello.id, &hi) || !scanID(first.id, &fi) {
			t.Fatalf("feed %d began %v then %v", n, hello, first)
		}
		if fi != hi+1 {
			if bad < 5 {
				what := fmt.Sprintf("%d events lost", fi-hi-1)
				if fi <= hi {
					what = fmt.Sprintf("%d events duplicated", hi-fi+1)
				}
				t.Errorf("feed %d: Hello(%s) then first event %s: %s", n, hello.id, first.id, what)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d feeds began off their Hello", bad, feeds)
	}
}

func scanID(id string, n *int) bool {
	_, err := fmt.Sscanf(id, "e%07d", n)
	return err == nil
}

// rawFeed reads a live feed over a plain TCP connection, one HTTP chunk
// at a time, to see how the origin's writes fall: each write of events
// ends with a flush, which is one chunk.
type rawFeed struct {
	conn net.Conn
	br   *bufio.Reader
	buf  []byte // every chunk's bytes so far
}

func openRawFeed(t *testing.T, h *testHub) *rawFeed {
	t.Helper()
	u, _ := url.Parse(h.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET %s?lastEventID= HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", server.FeedPath, u.Host, feedSecret)
	f := &rawFeed{conn: conn, br: bufio.NewReader(conn)}
	resp, err := http.ReadResponse(f.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("feed: %s, transfer encoding %v", resp.Status, resp.TransferEncoding)
	}
	// ReadResponse leaves the body to us: read it raw, chunk by chunk.
	return f
}

// chunk reads one HTTP chunk and returns the event ids the feed's bytes
// hold in all, so far.
func (f *rawFeed) chunk(t *testing.T) []string {
	t.Helper()
	f.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := f.br.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(line), 16, 64)
	if err != nil || n == 0 {
		t.Fatalf("chunk size line %q", line)
	}
	b := make([]byte, n+2) // the data and its CRLF
	if _, err := io.ReadFull(f.br, b); err != nil {
		t.Fatal(err)
	}
	f.buf = append(f.buf, b[:n]...)
	var ids []string
	r := frame.NewReader(bytes.NewReader(f.buf), 0)
	for r.Next() {
		if r.Frame().Type == frame.TypeEvent {
			ids = append(ids, string(r.Frame().ID))
		}
	}
	return ids
}

// TestFeedCoalesce: while events keep coming, a feed writes them at most
// once per FeedCoalesce, so a burst reaches the edge hub in a few chunks
// instead of one per event; an event after a quiet spell is not held.
func TestFeedCoalesce(t *testing.T) {
	const window = time.Second
	h := newHub(t, nil, func(c *serverConfig) { c.FeedCoalesce = window })
	f := openRawFeed(t, h)
	if ids := f.chunk(t); len(ids) != 0 { // the Hello
		t.Fatalf("first chunk holds events %v", ids)
	}
	publish := func(id string) time.Time {
		t.Helper()
		if err := h.hub.Publish(hubtest.Encode(hubtest.NewEvent(id, "x", bookTopic))); err != nil {
			t.Fatal(err)
		}
		return time.Now()
	}
	// The first event of the feed goes out at once.
	sent := publish("a")
	if ids := f.chunk(t); len(ids) != 1 || time.Since(sent) > window/2 {
		t.Fatalf("first event: %v after %s, want [a] well within the %s window", ids, time.Since(sent), window)
	}
	// Quiet for longer than the window: the next event is not held either.
	time.Sleep(window + window/10)
	sent = publish("b")
	if ids := f.chunk(t); len(ids) != 2 || time.Since(sent) > window/2 {
		t.Fatalf("event after a quiet spell: %v after %s, want [a b] well within the %s window", ids, time.Since(sent), window)
	}
	// Events right after it, a millisecond apart (each would be a write
	// of its own): held until the window has passed since b, then
	// written together.
	const burst = 200
	for i := range burst {
		publish(fmt.Sprintf("c%03d", i))
		time.Sleep(time.Millisecond)
	}
	chunks, before := 0, len(f.buf)
	var ids []string
	for len(ids) < 2+burst {
		ids = f.chunk(t)
		chunks++
	}
	if time.Since(sent) < window*9/10 {
		t.Errorf("the burst arrived %s after b, inside the %s window", time.Since(sent), window)
	}
	// A write is one flush, but the HTTP server also sends a chunk each
	// time its 2 KiB buffer fills (net/http's bufferBeforeChunkingSize).
	if most := (len(f.buf)-before)/2048 + 2; chunks > most {
		t.Errorf("the burst of %d events (%d bytes) came in %d chunks, want one write (≤ %d chunks of the server's buffer)", burst, len(f.buf)-before, chunks, most)
	}
	if want := append([]string{"a", "b"}, func() (s []string) {
		for i := range burst {
			s = append(s, fmt.Sprintf("c%03d", i))
		}
		return
	}()...); !slices.Equal(ids, want) {
		t.Errorf("events %v, want %v", ids, want)
	}
}
