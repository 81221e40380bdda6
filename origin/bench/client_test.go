package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// childEnv marks the child process that holds the subscribers.
const childEnv = "EDGE_SSE_BENCH_CHILD"

// maxEvents bounds the events of one connect round.
const maxEvents = 1 << 20

// TestBenchClient is the child side of TestBenchReport: it reads commands
// on stdin and answers on stdout with lines that start with "bench: ".
//
//	connect ADDR PATH N  open N connections, GET PATH on each; "ready ERRS"
//	                     once every stream has sent its first line
//	phase P              record latencies in histogram P from now on
//	stats P              "stats P COUNT P50 P99 P99.9" (microseconds)
//	wait-closed          "closed" once the server closed every connection
//
// While connected it prints "ack K" once all N streams received event K.
func TestBenchClient(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("run by TestBenchReport")
	}
	raiseFDLimit(t)
	out := &lineWriter{w: bufio.NewWriter(os.Stdout)}
	var round *clientRound
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		switch {
		case len(f) == 4 && f[0] == "connect":
			n, _ := strconv.Atoi(f[3])
			round = connectRound(f[1], f[2], n, out)
		case len(f) == 2 && f[0] == "phase":
			p, _ := strconv.Atoi(f[1])
			round.phase.Store(int32(p))
		case len(f) == 2 && f[0] == "stats":
			p, _ := strconv.Atoi(f[1])
			n, q := round.hist[p].quantiles(0.5, 0.99, 0.999)
			out.printf("stats %d %d %d %d %d", p, n, q[0].Microseconds(), q[1].Microseconds(), q[2].Microseconds())
		case len(f) == 1 && f[0] == "wait-closed":
			round.readers.Wait()
			out.printf("closed")
		}
	}
}

// lineWriter prints protocol lines from many goroutines.
type lineWriter struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (l *lineWriter) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "bench: "+format+"\n", args...)
	l.w.Flush()
}

// clientRound is one set of N streams.
type clientRound struct {
	n       int32
	phase   atomic.Int32
	hist    [2]histogram
	counts  []atomic.Int32 // streams that received event K
	acks    chan int
	readers sync.WaitGroup
}

func connectRound(addr, path string, n int, out *lineWriter) *clientRound {
	r := &clientRound{n: int32(n), counts: make([]atomic.Int32, maxEvents), acks: make(chan int, 4096)}
	go func() {
		for k := range r.acks {
			out.printf("ack %d", k)
		}
	}()
	var ready sync.WaitGroup
	var errs atomic.Int32
	dials := make(chan struct{}, 128) // concurrent dials, below the listen backlog
	for range n {
		ready.Add(1)
		r.readers.Add(1)
		dials <- struct{}{}
		go func() {
			defer r.readers.Done()
			body, conn, err := openStream(addr, path)
			<-dials
			if err != nil {
				errs.Add(1)
				ready.Done()
				return
			}
			defer conn.Close()
			r.read(body, ready.Done)
		}()
	}
	ready.Wait()
	out.printf("ready %d", errs.Load())
	return r
}

// openStream sends the GET and returns the de-chunked body.
func openStream(addr, path string) (*bufio.Reader, net.Conn, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	if _, err := io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n"); err != nil {
		conn.Close()
		return nil, nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, 4096), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		conn.Close()
		return nil, nil, fmt.Errorf("subscribe: %v %v", resp, err)
	}
	return bufio.NewReaderSize(resp.Body, 4096), conn, nil
}

var dataPrefix = []byte("data: ")

// read consumes one stream: the first line marks it ready; every data line
// "K UNIXNANO" is a received event.
func (r *clientRound) read(body *bufio.Reader, ready func()) {
	first := true
	for {
		line, err := body.ReadSlice('\n')
		if err != nil {
			if first {
				ready()
			}
			return
		}
		if first {
			first = false
			ready()
		}
		if !bytes.HasPrefix(line, dataPrefix) {
			continue
		}
		k, sent, ok := parseData(line[len(dataPrefix):])
		if !ok || k >= maxEvents {
			continue
		}
		r.hist[r.phase.Load()].record(time.Duration(time.Now().UnixNano() - sent))
		if r.counts[k].Add(1) == r.n {
			r.acks <- k
		}
	}
}

// parseData reads "K UNIXNANO\n" without allocating.
func parseData(b []byte) (k int, sent int64, ok bool) {
	sp := bytes.IndexByte(b, ' ')
	if sp < 0 {
		return 0, 0, false
	}
	for _, c := range b[:sp] {
		k = k*10 + int(c-'0')
	}
	for _, c := range bytes.TrimRight(b[sp+1:], "\r\n") {
		sent = sent*10 + int64(c-'0')
	}
	return k, sent, true
}

// raiseFDLimit lifts the soft open-file limit to the hard one: 10,000
// loopback streams need 10,000 descriptors on each side.
func raiseFDLimit(t testing.TB) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("getrlimit: %v", err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("setrlimit: %v", err)
	}
}
