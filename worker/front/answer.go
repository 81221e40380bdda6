package front

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

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
// JSON.stringify([...headers]): an array of [name, value] pairs. It is
// written out rather than left to encoding/json, whose reflection cost
// the front door a tenth of a millisecond per request inside workerd.
func ParseHeaderPairs(s string) (http.Header, error) {
	p := pairParser{s: s}
	h := http.Header{}
	p.space()
	if !p.eat('[') {
		return nil, p.fail("[")
	}
	p.space()
	if p.eat(']') {
		return h, p.end()
	}
	for {
		p.space()
		if !p.eat('[') {
			return nil, p.fail("[")
		}
		name, err := p.str()
		if err != nil {
			return nil, err
		}
		p.space()
		if !p.eat(',') {
			return nil, p.fail(",")
		}
		value, err := p.str()
		if err != nil {
			return nil, err
		}
		p.space()
		if !p.eat(']') {
			return nil, p.fail("]")
		}
		h.Add(name, value)
		p.space()
		if p.eat(']') {
			return h, p.end()
		}
		if !p.eat(',') {
			return nil, p.fail(", or ]")
		}
	}
}

// pairParser reads the JSON of ParseHeaderPairs.
type pairParser struct {
	s string
	i int
}

func (p *pairParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *pairParser) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *pairParser) fail(want string) error {
	return fmt.Errorf("headers are not JSON [name, value] pairs: want %s at byte %d", want, p.i)
}

func (p *pairParser) end() error {
	p.space()
	if p.i != len(p.s) {
		return p.fail("the end")
	}
	return nil
}

// str reads one JSON string, escapes included.
func (p *pairParser) str() (string, error) {
	p.space()
	start := p.i
	if !p.eat('"') {
		return "", p.fail("a string")
	}
	// Without escapes the string is the bytes between the quotes.
	for j := p.i; j < len(p.s); j++ {
		switch p.s[j] {
		case '"':
			p.i = j + 1
			return p.s[start+1 : j], nil
		case '\\':
			j = len(p.s) // has escapes: let encoding/json decode it
		}
	}
	end := start + 1
	for end < len(p.s) && p.s[end] != '"' {
		if p.s[end] == '\\' {
			end++
		}
		end++
	}
	if end >= len(p.s) {
		return "", p.fail("a closing quote")
	}
	var v string
	if err := json.Unmarshal([]byte(p.s[start:end+1]), &v); err != nil {
		return "", fmt.Errorf("headers are not JSON [name, value] pairs: %w", err)
	}
	p.i = end + 1
	return v, nil
}

// HeaderPairs writes h as JSON [name, value] pairs, names in lower case,
// one pair per value, for `new Headers(JSON.parse(pairs))`.
func HeaderPairs(h http.Header) string {
	b := make([]byte, 0, 256)
	b = append(b, '[')
	for k, vs := range h {
		name := strings.ToLower(k)
		for _, v := range vs {
			if len(b) > 1 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = appendJSONString(b, name)
			b = append(b, ',')
			b = appendJSONString(b, v)
			b = append(b, ']')
		}
	}
	return string(append(b, ']'))
}

// appendJSONString appends s as a JSON string. Header names and values
// are text; bytes that are not valid UTF-8 become U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
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
