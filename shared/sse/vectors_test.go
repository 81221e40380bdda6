package sse_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/edge-sse/edge-sse/shared/sse"
)

// The parser's test vectors as language-neutral data: testdata/*.json holds
// the cases of parser_test.go, wpt_test.go and chunkCases below, which the
// browser client's tests (worker/client) read too, so that the Go parser,
// its wasm build and the JavaScript parser cannot disagree quietly.
// TestVectorFilesUpToDate fails when a Go case changes and the files were
// not regenerated; -sse.update-vectors regenerates them.

var updateVectors = flag.Bool("sse.update-vectors", false, "rewrite shared/sse/testdata/*.json from the Go test cases")

// vectorFile is one testdata/*.json file.
type vectorFile struct {
	About   string   `json:"about"`
	Vectors []vector `json:"vectors"`
}

// vector is one stream, cut into the chunks a reader delivers, and what a
// client must make of it.
type vector struct {
	Name string `json:"name"`
	// Chunks are the stream's bytes, one read each: a JSON string when the
	// chunk is valid UTF-8, else {"base64": "..."}.
	Chunks []chunk `json:"chunks"`
	// StartLastEventID is the last event ID the client starts with, as
	// after a reconnection that sent it as Last-Event-ID.
	StartLastEventID string `json:"start_last_event_id,omitempty"`
	// MaxLineSize and MaxEventSize are the Go parser's limits (0: default);
	// a client without such limits skips the vectors that set them.
	MaxLineSize  int `json:"max_line_size,omitempty"`
	MaxEventSize int `json:"max_event_size,omitempty"`
	// Expect lists the dispatched events and valid retry fields in order.
	Expect []vectorItem `json:"expect"`
	// LastEventID is the last event ID string at the end of the stream.
	LastEventID string `json:"last_event_id"`
	// Error is "line_too_long" or "event_too_large" when the parser stops
	// on a limit after Expect, and empty when it reads to the end.
	Error string `json:"error,omitempty"`
}

// vectorItem is a dispatched event (type, id, data) or a retry field.
type vectorItem struct {
	Retry *int    `json:"retry,omitempty"`
	Type  *string `json:"type,omitempty"`
	ID    *string `json:"id,omitempty"`
	Data  *string `json:"data,omitempty"`
}

// chunk is bytes that JSON shows as text when it can.
type chunk []byte

func (c chunk) MarshalJSON() ([]byte, error) {
	if utf8.Valid(c) {
		return json.Marshal(string(c))
	}
	return json.Marshal(map[string]string{"base64": base64.StdEncoding.EncodeToString(c)})
}

func (c *chunk) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*c = chunk(s)
		return nil
	}
	var o struct {
		Base64 *string `json:"base64"`
	}
	if err := json.Unmarshal(b, &o); err != nil || o.Base64 == nil {
		return fmt.Errorf("chunk %s: want a string or {\"base64\": ...}", b)
	}
	raw, err := base64.StdEncoding.DecodeString(*o.Base64)
	*c = raw
	return err
}

// chunkCases are streams whose chunking matters: a read boundary inside a
// UTF-8 sequence, a BOM, a CRLF or a field name.
var chunkCases = []struct {
	name   string
	chunks []string
	lastID string
	want   []item
}{
	{name: "UTF-8 sequence split across reads", chunks: []string{"data:\xF0\x9F", "\x98\x80\n\n"}, want: []item{msg("😀", "")}},
	{name: "UTF-8 sequence one byte per read", chunks: []string{"data:\xE2", "\x80", "\xA6\n", "\n"}, want: []item{msg("…", "")}},
	{name: "UTF-8 in id split across reads", chunks: []string{"id:\xC3", "\xA9\ndata:x\n\n"}, want: []item{msg("x", "é")}, lastID: "é"},
	{name: "truncated sequence then next read", chunks: []string{"data:\xE2\x80", "A\n\n"}, want: []item{msg("\uFFFDA", "")}},
	{name: "BOM one byte per read", chunks: []string{"\xEF", "\xBB", "\xBF", "data:a\n\n"}, want: []item{msg("a", "")}},
	{name: "BOM split then second BOM", chunks: []string{"\xEF\xBB", "\xBF\xEF\xBB\xBF", "data:a\n\ndata:b\n\n"}, want: []item{msg("b", "")}},
	{name: "CRLF split across reads", chunks: []string{"data:a\r", "\n\r", "\ndata:b\r\n\r\n"}, want: []item{msg("a", ""), msg("b", "")}},
	{name: "CR at end of read then blank line", chunks: []string{"data:a\r", "\r", "\ndata:b\n\n"}, want: []item{msg("a", ""), msg("b", "")}},
	{name: "field name split across reads", chunks: []string{"da", "ta: x\nre", "try: 5", "00\n\n"}, want: []item{retry(500), msg("x", "")}},
	{name: "empty reads", chunks: []string{"", "data:x\n", "", "\n", ""}, want: []item{msg("x", "")}},
}

// errorNames name the limit errors in the files.
var errorNames = map[error]string{sse.ErrLineTooLong: "line_too_long", sse.ErrEventTooLarge: "event_too_large"}

// buildVectorFiles turns the Go cases into the files' contents.
func buildVectorFiles() map[string]vectorFile {
	fromCases := func(cases []parseCase) []vector {
		var vs []vector
		for _, tc := range cases {
			vs = append(vs, vector{
				Name: tc.name, Chunks: []chunk{chunk(tc.in)},
				StartLastEventID: tc.cfg.LastEventID, MaxLineSize: tc.cfg.MaxLineSize, MaxEventSize: tc.cfg.MaxEventSize,
				Expect: vectorItems(tc.want), LastEventID: tc.lastID, Error: errorNames[tc.err],
			})
		}
		return vs
	}
	var chunked []vector
	for _, tc := range chunkCases {
		v := vector{Name: tc.name, Expect: vectorItems(tc.want), LastEventID: tc.lastID}
		for _, c := range tc.chunks {
			v.Chunks = append(v.Chunks, chunk(c))
		}
		chunked = append(chunked, v)
	}
	const common = " Each vector's chunks are delivered one read each; a parser must give the same result for any other cut of their concatenation."
	return map[string]vectorFile{
		"parser.json": {About: "Event-stream parsing (WHATWG HTML §9.2.6), from shared/sse/parser_test.go; regenerate with go test ./shared/sse -run TestVectorFilesUpToDate -sse.update-vectors." + common, Vectors: fromCases(parseCases)},
		"wpt.json":    {About: "The web-platform-tests eventsource/format-* streams, from shared/sse/wpt_test.go; regenerate as parser.json." + common, Vectors: fromCases(wptCases)},
		"chunks.json": {About: "Streams whose cut into reads matters (UTF-8 sequences, BOM, CRLF), from shared/sse/vectors_test.go; regenerate as parser.json." + common, Vectors: chunked},
	}
}

func vectorItems(items []item) []vectorItem {
	out := []vectorItem{}
	for _, it := range items {
		if it.Kind == sse.KindRetry {
			out = append(out, vectorItem{Retry: &it.Retry})
			continue
		}
		e := it.Event
		out = append(out, vectorItem{Type: &e.Type, ID: &e.ID, Data: &e.Data})
	}
	return out
}

func encodeVectorFile(f vectorFile) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err := enc.Encode(f)
	return b.Bytes(), err
}

// TestVectorFilesUpToDate checks that testdata/*.json hold exactly the Go
// cases, and rewrites them under -sse.update-vectors.
func TestVectorFilesUpToDate(t *testing.T) {
	for name, f := range buildVectorFiles() {
		want, err := encodeVectorFile(f)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", name)
		if *updateVectors {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the Go cases: run go test ./shared/sse -run TestVectorFilesUpToDate -sse.update-vectors", path)
		}
	}
}

// readerOfChunks returns one chunk per Read, then io.EOF.
type readerOfChunks struct{ chunks [][]byte }

func (r *readerOfChunks) Read(b []byte) (int, error) {
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(b, r.chunks[0])
	if r.chunks[0] = r.chunks[0][n:]; len(r.chunks[0]) == 0 {
		r.chunks = r.chunks[1:]
	}
	return n, nil
}

// TestVectors runs the Parser over every vector of testdata/*.json, read
// from the files as the other languages' tests read them: its chunks one
// read each, and their concatenation cut every way feeds knows. Where no
// limit stopped the Parser, the reference transcription must agree too.
func TestVectors(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no vector files in testdata (err %v)", err)
	}
	errs := map[string]error{}
	for e, name := range errorNames {
		errs[name] = e
	}
	for _, path := range files {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var f vectorFile
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, v := range f.Vectors {
			t.Run(filepath.Base(path)+"/"+v.Name, func(t *testing.T) {
				want, err := v.result(errs)
				if err != nil {
					t.Fatal(err)
				}
				cfg := sse.Config{MaxLineSize: v.MaxLineSize, MaxEventSize: v.MaxEventSize, LastEventID: v.StartLastEventID}
				var chunks [][]byte
				for _, c := range v.Chunks {
					chunks = append(chunks, bytes.Clone(c))
				}
				if diff := sameResult(parse(&readerOfChunks{slices.Clone(chunks)}, cfg), want); diff != "" {
					t.Fatalf("chunks as given: %s", diff)
				}
				in := bytes.Join(chunks, nil)
				checkParse(t, in, cfg, want)
				if want.Err == nil {
					if diff := sameResult(refParse(in, v.StartLastEventID), want); diff != "" {
						t.Fatalf("reference: %s", diff)
					}
				}
			})
		}
	}
}

// result is what the vector expects, in the form parse returns.
func (v vector) result(errs map[string]error) (result, error) {
	res := result{LastEventID: v.LastEventID}
	if v.Error != "" {
		if res.Err = errs[v.Error]; res.Err == nil {
			return res, fmt.Errorf("unknown error %q", v.Error)
		}
	}
	for i, it := range v.Expect {
		switch {
		case it.Retry != nil && it.Type == nil && it.ID == nil && it.Data == nil:
			res.Items = append(res.Items, retry(*it.Retry))
		case it.Retry == nil && it.Type != nil && it.ID != nil && it.Data != nil:
			res.Items = append(res.Items, ev(*it.Type, *it.Data, *it.ID))
		default:
			return res, fmt.Errorf("expect[%d]: want either retry or all of type, id and data", i)
		}
	}
	return res, nil
}
