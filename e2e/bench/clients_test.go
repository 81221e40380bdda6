package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edge-sse/edge-sse/worker/edge"
)

// subClient holds SSE streams: one TCP connection per stream, no limit.
var subClient = &http.Client{Transport: &http.Transport{
	DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
	DisableCompression:    true,
	ResponseHeaderTimeout: 30 * time.Second,
	MaxIdleConnsPerHost:   -1,
}}

// apiClient publishes and reads stats over kept-alive connections.
var apiClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
	MaxIdleConns:        256,
	MaxIdleConnsPerHost: 256,
}}

// subscriber is one held stream read by a raw Go HTTP client. It counts
// the SSE events it receives and hands each event's data to its handler,
// if set, on the reading goroutine.
type subscriber struct {
	cancel  context.CancelFunc
	body    io.Closer
	done    chan struct{}
	events  atomic.Int64
	bytes   atomic.Int64 // bytes of the body read, comments included
	handler atomic.Pointer[func(data []byte, at time.Time)]
}

// onData sets (nil: removes) the handler of each event's data.
func (s *subscriber) onData(f func([]byte, time.Time)) {
	if f == nil {
		s.handler.Store(nil)
		return
	}
	s.handler.Store(&f)
}

func dialSubscriber(u string, header http.Header, onData func([]byte, time.Time)) (*subscriber, error) {
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := subClient.Do(req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("subscribe %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("subscribe %s: %s: %s", u, resp.Status, bytes.TrimSpace(b))
	}
	s := &subscriber{cancel: cancel, body: resp.Body, done: make(chan struct{})}
	s.onData(onData)
	go s.read(resp.Body)
	return s, nil
}

// read is a minimal SSE reader: the benchmark publishes one-line data, so
// an event is a data line followed by a blank line.
func (s *subscriber) read(body io.Reader) {
	defer close(s.done)
	r := bufio.NewReaderSize(body, 4096)
	var data []byte
	have := false
	for {
		line, err := r.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
		s.bytes.Add(int64(len(line)))
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
			if have {
				s.events.Add(1)
				if f := s.handler.Load(); f != nil {
					(*f)(data, time.Now())
				}
			}
			data, have = data[:0], false
		case bytes.HasPrefix(line, []byte("data:")):
			have = true
			if s.handler.Load() != nil {
				data = append(data[:0], bytes.TrimPrefix(line[5:], []byte(" "))...)
			}
		}
	}
}

func (s *subscriber) close() {
	s.cancel()
	s.body.Close()
	<-s.done
}

// dialMany opens n streams to u, conc at a time. onData, if not nil, makes
// the handler of stream i.
func dialMany(n, conc int, u string, header http.Header, onData func(i int) func([]byte, time.Time)) ([]*subscriber, error) {
	subs := make([]*subscriber, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	next := atomic.Int64{}
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				mu.Lock()
				failed := firstErr != nil
				mu.Unlock()
				if failed {
					return
				}
				var h func([]byte, time.Time)
				if onData != nil {
					h = onData(i)
				}
				s, err := dialSubscriber(u, header, h)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("stream %d of %d: %w", i, n, err)
					}
					mu.Unlock()
					return
				}
				subs[i] = s
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		closeAll(subs)
		return nil, firstErr
	}
	return subs, nil
}

func closeAll(subs []*subscriber) {
	var wg sync.WaitGroup
	for _, s := range subs {
		if s != nil {
			wg.Add(1)
			go func() { defer wg.Done(); s.close() }()
		}
	}
	wg.Wait()
}

func totalEvents(subs []*subscriber) (sum, lowest int64) {
	lowest = -1
	for _, s := range subs {
		n := s.events.Load()
		sum += n
		if lowest < 0 || n < lowest {
			lowest = n
		}
	}
	return sum, lowest
}

// waitEvents waits until every stream has received at least want events.
func waitEvents(subs []*subscriber, want int64, timeout time.Duration) bool {
	return waitFor(timeout, 50*time.Millisecond, func() bool {
		_, low := totalEvents(subs)
		return low >= want
	})
}

func waitFor(timeout, every time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(every)
	}
	return cond()
}

// publish posts one update and returns the error of a failed request.
func publish(base, token, topic, data string) error {
	_, err := publishID(base, token, topic, data)
	return err
}

// publishID publishes like publish and returns the event's id.
func publishID(base, token, topic, data string) (string, error) {
	form := url.Values{"topic": {topic}, "data": {data}}
	req, err := http.NewRequest(http.MethodPost, base+"/.well-known/mercure", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := apiClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("publish: %w", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("publish: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	return string(bytes.TrimSpace(body)), nil
}

// stats is the subset of the edge hub's and the naive worker's counters
// the benchmark reads.
type stats struct {
	Subscribers     int     `json:"subscribers"`
	Deliveries      float64 `json:"deliveries"`
	Events          float64 `json:"events"`
	Batches         float64 `json:"batches"`
	Writes          float64 `json:"writes"`
	Dropped         float64 `json:"dropped"`
	WasmMemoryBytes float64 `json:"wasmMemoryBytes"`
	// FeedWaits: how long the feed's chunks waited in the hub's JS pump
	// before Go took them (worker/feedpump.mjs).
	FeedWaits *feedWaits `json:"feedWaits"`
	// Go is the hub's Go runtime (worker/bridge.go goStats).
	Go struct {
		GCCycles float64 `json:"gcCycles"`
		HeapLive float64 `json:"heapLiveBytes"`
		// JSValues: JS values Go holds references to (entry.mjs).
		JSValues float64 `json:"jsValuesHeld"`
	} `json:"go"`
	// FeedTrace (with ?trace=1): the timelines of the hub's newest
	// fan-outs (worker/edge BatchTrace).
	FeedTrace []edge.BatchTrace `json:"feedTrace"`
	// naive worker
	Streams         int     `json:"streams"`
	SelfMemoryBytes float64 `json:"selfWasmMemoryBytes"`
}

func getStats(u string) (stats, error) {
	var st stats
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return st, err
	}
	req.Header.Set("Authorization", "Bearer "+statsToken)
	resp, err := apiClient.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("%s: %s", u, resp.Status)
	}
	err = json.NewDecoder(resp.Body).Decode(&st)
	return st, err
}

// feedWaits is worker/feedpump.mjs's count of the pump's waits.
type feedWaits struct {
	Takes    int       `json:"takes"`
	MaxMs    float64   `json:"maxMs"`
	TotalMs  float64   `json:"totalMs"`
	BoundsMs []float64 `json:"boundsMs"`
	Counts   []int     `json:"counts"`
}

// since returns the waits counted after before (nil: all of w), with
// MaxMs still the largest since the pump's isolate started.
func (w *feedWaits) since(before *feedWaits) *feedWaits {
	if w == nil {
		return nil
	}
	d := *w
	d.Counts = slices.Clone(w.Counts)
	if before != nil && len(before.Counts) == len(w.Counts) {
		d.Takes -= before.Takes
		d.TotalMs -= before.TotalMs
		for i := range d.Counts {
			d.Counts[i] -= before.Counts[i]
		}
	}
	return &d
}

// String is the distribution as "n ≤ 1 ms, n ≤ 5 ms, …, n > 200 ms".
func (w *feedWaits) String() string {
	var parts []string
	for i, n := range w.Counts {
		if i < len(w.BoundsMs) {
			parts = append(parts, fmt.Sprintf("%d ≤ %g ms", n, w.BoundsMs[i]))
		} else if len(w.BoundsMs) > 0 {
			parts = append(parts, fmt.Sprintf("%d > %g ms", n, w.BoundsMs[len(w.BoundsMs)-1]))
		}
	}
	mean := 0.0
	if w.Takes > 0 {
		mean = w.TotalMs / float64(w.Takes)
	}
	return fmt.Sprintf("%d takes, mean %.1f ms: %s (largest since start %g ms)", w.Takes, mean, strings.Join(parts, ", "), w.MaxMs)
}
