package sse_test

import (
	"bytes"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	gosse "github.com/tmaxmax/go-sse"

	"github.com/edge-sse/edge-sse/shared/sse"
)

// The parser benchmarks run ours (BenchmarkParse) and github.com/tmaxmax/go-sse's
// sse.Read (BenchmarkParseGoSSE) over the same inputs; compare their MB/s:
//
//	go test -run='^$' -bench=Parse -benchmem ./shared/sse/
//
// or let TestCompareGoSSE print the ratio per input, measured in CPU time,
// which a busy machine skews far less than the wall time of -bench:
//
//	go test -run=TestCompareGoSSE -v ./shared/sse/ -args -sse.compare
var compareGoSSE = flag.Bool("sse.compare", false, "run TestCompareGoSSE, which prints our parser's speed relative to go-sse's")

// benchInputs are the streams the parser benchmarks read.
var benchInputs = []struct {
	name  string
	input []byte
}{
	{"mercure", mercureStream(2000)},
	{"large-data", largeDataStream(64)},
	{"multiline", multilineStream(500)},
}

// mercureStream is what a Mercure hub sends: an id, often a type, a JSON
// update of a few hundred bytes, and a heartbeat now and then.
func mercureStream(n int) []byte {
	b := sse.AppendRetry(nil, 3000)
	for i := range n {
		e := sse.Event{
			ID:   fmt.Sprintf("urn:uuid:9a1b6f2e-4c3d-4e5f-8a7b-%012d", i),
			Data: fmt.Sprintf(`{"@id":"/books/%d","@type":"Book","title":"The Book of %d","author":"Jane Doe","isbn":"978-3-16-148410-%d","price":%d.99,"tags":["fiction","classic","bestseller"],"updatedAt":"2026-05-01T12:00:00Z"}`, i, i, i%10, i%100),
		}
		if i%2 == 0 {
			e.Type = "update"
		}
		b, _ = sse.AppendEvent(b, e)
		if i%20 == 0 {
			b = sse.AppendComment(b, "")
		}
	}
	return b
}

// largeDataStream has n events of one 16 KiB data line each.
func largeDataStream(n int) []byte {
	var b []byte
	for i := range n {
		b, _ = sse.AppendEvent(b, sse.Event{ID: fmt.Sprint(i), Data: strings.Repeat("0123456789abcdef", 1<<10)})
	}
	return b
}

// multilineStream has n events of 20 short data lines each (pretty-printed
// JSON, log lines).
func multilineStream(n int) []byte {
	var b []byte
	for i := range n {
		b, _ = sse.AppendEvent(b, sse.Event{ID: fmt.Sprint(i), Data: strings.Repeat("  \"key\": \"value\",\n", 20)})
	}
	return b
}

func BenchmarkAppendEvent(b *testing.B) {
	e := sse.Event{
		ID:   "urn:uuid:9a1b6f2e-4c3d-4e5f-8a7b-000000000001",
		Type: "update",
		Data: `{"@id":"/books/1","title":"The Book","price":9.99}`,
	}
	buf, _ := sse.AppendEvent(nil, e)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = sse.AppendEvent(buf[:0], e)
	}
}

func BenchmarkParse(b *testing.B) {
	for _, in := range benchInputs {
		b.Run(in.name, func(b *testing.B) { benchmarkParse(b, in.input) })
	}
}

func BenchmarkParseGoSSE(b *testing.B) {
	for _, in := range benchInputs {
		b.Run(in.name, func(b *testing.B) { benchmarkParseGoSSE(b, in.input) })
	}
}

// benchmarkParse reads every event of input, as a client would.
func benchmarkParse(b *testing.B, input []byte) {
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	r := bytes.NewReader(input)
	for b.Loop() {
		r.Reset(input)
		p := sse.NewParser(r, sse.Config{})
		n := 0
		for p.Next() {
			if p.Kind() == sse.KindEvent {
				n += len(p.Event().Data)
			}
		}
		if p.Err() != nil || n == 0 {
			b.Fatalf("parsed %d bytes of data, Err %v", n, p.Err())
		}
	}
}

// benchmarkParseGoSSE reads every event of input with go-sse.
func benchmarkParseGoSSE(b *testing.B, input []byte) {
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	r := bytes.NewReader(input)
	cfg := &gosse.ReadConfig{MaxEventSize: 1 << 20}
	for b.Loop() {
		r.Reset(input)
		n := 0
		for e, err := range gosse.Read(r, cfg) {
			if err != nil {
				b.Fatal(err)
			}
			n += len(e.Data)
		}
		if n == 0 {
			b.Fatal("parsed no data")
		}
	}
}

// TestGoSSEAgrees checks that both parsers read the same events from the
// benchmark inputs, so that the benchmarks compare equal work.
func TestGoSSEAgrees(t *testing.T) {
	for _, in := range benchInputs {
		var ours []string
		p := sse.NewParser(bytes.NewReader(in.input), sse.Config{})
		for p.Next() {
			if p.Kind() == sse.KindEvent {
				e := p.Event()
				ours = append(ours, e.ID+"\x00"+e.Data)
			}
		}
		var theirs []string
		for e, err := range gosse.Read(bytes.NewReader(in.input), &gosse.ReadConfig{MaxEventSize: 1 << 20}) {
			if err != nil {
				t.Fatal(err)
			}
			theirs = append(theirs, e.LastEventID+"\x00"+e.Data)
		}
		if strings.Join(ours, "\n") != strings.Join(theirs, "\n") || len(ours) == 0 {
			t.Errorf("%s: we read %d events, go-sse %d, or their ids or data differ", in.name, len(ours), len(theirs))
		}
	}
}

// TestCompareGoSSE prints how much faster our parser is than go-sse's on
// each benchmark input, measured in process CPU time where the platform has
// it (see processCPUTime), which includes GC work on other threads and
// excludes time lost to other processes on a busy machine. The parsers take
// turns, five rounds each, and each keeps its best round. It runs only with
// -sse.compare.
func TestCompareGoSSE(t *testing.T) {
	if !*compareGoSSE {
		t.Skip("run with -args -sse.compare")
	}
	ours := func(input []byte) int {
		p := sse.NewParser(bytes.NewReader(input), sse.Config{})
		n := 0
		for p.Next() {
			if p.Kind() == sse.KindEvent {
				n += len(p.Event().Data)
			}
		}
		return n
	}
	theirs := func(input []byte) int {
		n := 0
		for e, err := range gosse.Read(bytes.NewReader(input), &gosse.ReadConfig{MaxEventSize: 1 << 20}) {
			if err != nil {
				t.Fatal(err)
			}
			n += len(e.Data)
		}
		return n
	}
	for _, in := range benchInputs {
		var best [2]float64
		for range 5 {
			for i, parse := range []func([]byte) int{ours, theirs} {
				best[i] = max(best[i], throughput(in.input, parse))
			}
		}
		t.Logf("%-10s ours %7.1f MB/s | go-sse %7.1f MB/s (%s) | %.2fx", in.name, best[0], best[1], cpuClock, best[0]/best[1])
	}
}

// throughput runs parse over input for about 200ms of processCPUTime and
// returns the rate in MB/s.
func throughput(input []byte, parse func([]byte) int) float64 {
	start, n := processCPUTime(), 0
	for processCPUTime()-start < 200*time.Millisecond {
		parse(input)
		n++
	}
	return float64(n*len(input)) / (processCPUTime() - start).Seconds() / 1e6
}
