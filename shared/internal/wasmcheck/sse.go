package wasmcheck

import (
	"bytes"
	"io"
	"math/rand/v2"
	"strings"

	"github.com/edge-sse/edge-sse/shared/sse"
)

// sseCase records the SSE encoder on a random event, comment and retry, the
// parser on what the encoder wrote, and the parser on a random event stream
// and on random bytes.
func sseCase(t *transcript, g *gen) {
	e := sse.Event{ID: g.field(), Type: g.field(), Data: g.text(12, tokens), Retry: g.retry()}
	var dst []byte
	if g.chance(30) {
		dst = []byte(": before\n")
	}
	out, err := sse.AppendEvent(dst, e)
	t.line("sse.AppendEvent id=%q type=%q data=%q retry=%d -> %q err=%s validate=%s",
		e.ID, e.Type, e.Data, e.Retry, out, errString(err), errString(e.Validate()))
	comment := g.text(6, tokens)
	t.line("sse.AppendComment %q -> %q", comment, sse.AppendComment(nil, comment))
	ms := g.retry()
	t.line("sse.AppendRetry %d -> %q", ms, sse.AppendRetry(nil, ms))
	if err == nil {
		parse(t, g, "encoded", out, sse.Config{})
	}
	parse(t, g, "stream", g.stream(), g.parserConfig())
	parse(t, g, "bytes", g.bytes(g.intn(64)), sse.Config{})
}

// parse records the parser's events, retries, last event ID and error for
// the whole input, and again for the input delivered in random chunks.
func parse(t *transcript, g *gen, label string, in []byte, cfg sse.Config) {
	t.line("sse.Parser %s in=%q max_line=%d max_event=%d last=%q", label, in, cfg.MaxLineSize, cfg.MaxEventSize, cfg.LastEventID)
	whole := parseLines(bytes.NewReader(in), cfg)
	for _, l := range whole {
		t.line("  %s", l)
	}
	chunked := parseLines(&chunkReader{b: in, r: rand.New(rand.NewPCG(g.r.Uint64(), 0))}, cfg)
	if slicesEqual(chunked, whole) {
		t.line("  chunked: same")
		return
	}
	for _, l := range chunked {
		t.line("  chunked: %s", l)
	}
}

// parseLines runs a Parser over r and describes everything it reports.
func parseLines(r io.Reader, cfg sse.Config) []string {
	var out []string
	p := sse.NewParser(r, cfg)
	for p.Next() {
		switch p.Kind() {
		case sse.KindEvent:
			e := p.Event()
			out = append(out, sprintf("event id=%q type=%q data=%q retry=%d last=%q", e.ID, e.Type, e.Data, e.Retry, p.LastEventID()))
		case sse.KindRetry:
			out = append(out, sprintf("retry %d", p.Retry()))
		default:
			out = append(out, sprintf("kind %d", p.Kind()))
		}
	}
	return append(out, sprintf("end last=%q err=%s", p.LastEventID(), errString(p.Err())))
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// chunkReader returns its bytes in chunks of 1 to 16 bytes, sizes drawn
// from its own generator so that they do not depend on how often the reader
// is called.
type chunkReader struct {
	b []byte
	r *rand.Rand
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 1+c.r.IntN(16))], c.b)
	c.b = c.b[n:]
	return n, nil
}

// fieldNames are the names of random stream lines: the four fields, mostly
// data, and near misses the parser must ignore.
var fieldNames = []string{"data", "data", "data", "id", "event", "retry", "Data", "dat", "datas", "", "data ", " data", "\ufeffdata", "ïd", "id\x00"}

// retryValues are values of random retry lines.
var retryValues = []string{"0", "1", "3000", "007", "", " 12", "12 ", "12a", "-1", "+5", "1.5", "９", "9223372036854775807", "9223372036854775808", "99999999999999999999999"}

// lineEnds are the line endings of random streams.
var lineEnds = []string{"\n", "\n", "\r\n", "\r"}

// stream returns a random event stream: optional BOMs, lines of fields,
// comments, fields without a colon and blank lines, mixed line endings, and
// sometimes a last line or block that nothing ends.
func (g *gen) stream() []byte {
	var b strings.Builder
	if g.chance(25) {
		b.WriteString("\ufeff")
		if g.chance(20) {
			b.WriteString("\ufeff")
		}
	}
	for range g.intn(14) {
		switch g.intn(10) {
		case 0, 1:
			// A blank line: dispatch.
		case 2:
			b.WriteString(":" + g.text(3, tokens))
		case 3:
			b.WriteString(g.pick(fieldNames))
		default:
			name := g.pick(fieldNames)
			b.WriteString(name)
			b.WriteByte(':')
			if g.chance(60) {
				b.WriteByte(' ')
			}
			switch {
			case name == "retry":
				b.WriteString(g.pick(retryValues))
			case g.chance(80):
				b.WriteString(g.text(4, cleanTokens))
			default:
				b.WriteString(g.text(4, tokens))
			}
		}
		b.WriteString(g.pick(lineEnds))
	}
	if g.chance(30) {
		b.WriteString("data: unterminated")
	}
	return []byte(b.String())
}

// parserConfig returns the default limits mostly, and sometimes limits small
// enough for random streams to exceed, and a starting last event ID.
func (g *gen) parserConfig() sse.Config {
	var cfg sse.Config
	if g.chance(30) {
		cfg.MaxLineSize = 1 + g.intn(40)
		cfg.MaxEventSize = 1 + g.intn(80)
	}
	if g.chance(20) {
		cfg.LastEventID = g.field()
	}
	return cfg
}
