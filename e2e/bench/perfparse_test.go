package bench

import (
	"testing"
	"time"
)

// perf script output as `perf record -g` on workerd gives it: a header
// line per sample, then its stack, leaf first.
const perfScriptSample = `workerd 100/100 1000.100000: 
	     34fdd133bcf JS:wasm-function[1773]-1773-turbofan (/tmp/perf-100.map)
	    56059d0d4d6e Stub:js-to-wasm:: (/tmp/perf-100.map)
	         39cea2a Builtins_RunMicrotasks (/w/workerd)

workerd 100/100 1000.200000: 
	         51c2876 workerd::api::WritableStreamDefaultWriter::write (/w/workerd)
	    56059d0cedd1 JS:+'write entry.js:791:15 (/tmp/perf-100.map)
	    56059d0cefc5 JS:+'enqueueMany entry.js:870:14 (/tmp/perf-100.map)
	     34fdd133bcf JS:wasm-function[1773]-1773-turbofan (/tmp/perf-100.map)

workerd 100/100 1000.300000: 
	          108cae __GI___writev (/usr/lib/x86_64-linux-gnu/libc.so.6)
	         2d11b5f workerd::api::(anonymous namespace)::pumpTo (/w/workerd)

V8 DefaultWorke 100/101 1000.350000: 
	         3be7629 v8::internal::compiler::turboshaft::RepresentationFor (/w/workerd)

workerd 100/100 1000.400000: 
	ffffffff8100 _copy_from_iter ([kernel.kallsyms])
	         51b9dcb kj::EventLoop::turn (/w/workerd)

workerd 100/100 1005.000000: 
	         51b9dcb kj::EventLoop::turn (/w/workerd)
`

// TestParsePerfScript: samples are sorted by what they were for (Go's own
// code, the writes, the pumps, the rest) and by their leaf's code, only
// the main thread's and only inside the windows.
func TestParsePerfScript(t *testing.T) {
	at := func(s float64) time.Time { return time.Unix(0, int64(s*1e9)) }
	s, err := parsePerfScript([]byte(perfScriptSample), []cpuSample{{from: at(1000.05), to: at(1000.45), writes: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if s.total != 4 || !s.named || s.writes != 10 {
		t.Fatalf("total %d (want 4: the other thread's and the late one left out), named %v, writes %v", s.total, s.named, s.writes)
	}
	for purpose, want := range map[string]int{perfPurposes[0]: 1, perfPurposes[2]: 1, perfPurposes[3]: 1, perfPurposes[6]: 1} {
		if s.purposes[purpose] != want {
			t.Errorf("%q: %d samples, want %d (all: %v)", purpose, s.purposes[purpose], want, s.purposes)
		}
	}
	for kind, want := range map[string]int{"Go's Wasm": 1, "workerd (kj, workerd::api)": 1, "malloc, libc": 1, "kernel": 1} {
		if s.kinds[kind] != want {
			t.Errorf("%q: %d samples, want %d (all: %v)", kind, s.kinds[kind], want, s.kinds)
		}
	}
	if got, want := s.perWrite(s.total), 4.0/perfHz/10; got < want*0.999 || got > want*1.001 {
		t.Errorf("perWrite %v", got)
	}
}
