package front

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/edge-sse/edge-sse/shared/mercure"
)

// Recorder is the http.ResponseWriter of the resident front door: the
// handler runs synchronously inside one call from entry.mjs and leaves its
// answer here, for the JavaScript to turn into a Response. The handler of
// a publish does not fetch the origin itself (that would be I/O of one
// request in an instance that all requests share, see
// docs/PLATFORM.md, fact 3): it sets Forward, and entry.mjs sends the
// body.
type Recorder struct {
	header  http.Header
	Status  int
	Body    bytes.Buffer
	Forward *Forward
}

// Forward is a request for entry.mjs to send to the origin (a publish, or
// a read of the subscription API): how, where, with which headers, and
// whether the client's body goes along (at most MaxBytes of it).
type Forward struct {
	Method   string
	URL      string
	Header   http.Header
	Body     bool
	MaxBytes int64
	// API: the answer is the subscription API's, relayed with the origin's
	// Link and the exposed headers (Relay).
	API bool
}

// NewRecorder returns an empty Recorder (status 200 until set).
func NewRecorder() *Recorder { return &Recorder{header: http.Header{}, Status: http.StatusOK} }

// Header implements http.ResponseWriter.
func (r *Recorder) Header() http.Header { return r.header }

// Write implements http.ResponseWriter.
func (r *Recorder) Write(b []byte) (int, error) { return r.Body.Write(b) }

// WriteHeader implements http.ResponseWriter.
func (r *Recorder) WriteHeader(status int) { r.Status = status }

// NewRequest builds the request a handler sees from what entry.mjs passes:
// the method, the URL and the headers as JSON pairs (HeaderPairs). The
// body is never read: a publish's body stays in JavaScript, and its
// Content-Length header becomes ContentLength (-1 when absent).
func NewRequest(method, rawURL, headerPairs string) (*http.Request, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("request URL %q: %w", rawURL, err)
	}
	h, err := ParseHeaderPairs(headerPairs)
	if err != nil {
		return nil, err
	}
	r := &http.Request{Method: method, URL: u, Host: u.Host, Header: h, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, ContentLength: -1, Body: http.NoBody}
	r.RequestURI = u.RequestURI()
	if v := h.Get("Content-Length"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			r.ContentLength = n
		}
	}
	return r, nil
}

// ParseHeaderPairs reads headers written by JavaScript as
// JSON.stringify([...headers]): an array of [name, value] pairs.
func ParseHeaderPairs(s string) (http.Header, error) {
	var pairs [][2]string
	if err := json.Unmarshal([]byte(s), &pairs); err != nil {
		return nil, fmt.Errorf("headers are not JSON [name, value] pairs: %w", err)
	}
	h := http.Header{}
	for _, p := range pairs {
		h.Add(p[0], p[1])
	}
	return h, nil
}

// HeaderPairs writes h as JSON [name, value] pairs, names in lower case,
// one pair per value, for `new Headers(JSON.parse(pairs))`.
func HeaderPairs(h http.Header) string {
	pairs := [][2]string{}
	for k, vs := range h {
		for _, v := range vs {
			pairs = append(pairs, [2]string{strings.ToLower(k), v})
		}
	}
	b, _ := json.Marshal(pairs)
	return string(b)
}

// Relay returns the headers of the answer to a forwarded request: base
// (those the front door sets on every answer: discovery and CORS) and the
// origin's, as RelayResponseHeaders copies them, or for the subscription
// API (api) as RelayAPIResponseHeaders does, with the headers a browser
// may read.
func Relay(base, origin http.Header, api bool) http.Header {
	dst := base.Clone()
	if dst == nil {
		dst = http.Header{}
	}
	if !api {
		RelayResponseHeaders(dst, origin)
		return dst
	}
	RelayAPIResponseHeaders(dst, origin)
	dst.Set("Access-Control-Expose-Headers", mercure.ExposeHeaders)
	return dst
}
