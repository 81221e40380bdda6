//go:build chaos

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/edge-sse/edge-sse/shared/sse"
)

// soakPublish publishes form (which carries an id) and retries the same id
// on a failure; a 409 on a retry means an earlier attempt was stored.
func soakPublish(base string, form url.Values) (string, error) {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		var id string
		id, err = tryPublish(base, form)
		if err == nil {
			return id, nil
		}
		if attempt > 0 && strings.Contains(err.Error(), "409") {
			return form.Get("id"), nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return "", err
}

// soakSub is one churning subscriber: it holds a connection for a random
// time, leaves, and comes back with Last-Event-ID, until the publisher
// stopped and it has every event.
type soakSub struct {
	name, prefix string
	side         int
	// base and path: the subscribe URL; edge, for the edge side, follows
	// the worker when wrangler reloads it (base is then unused).
	base, path string
	edge       *edgeDirect

	have atomic.Int64 // next, for the goroutine that ends the last connection

	// Owned by run's goroutine; read after it returned.
	lastID                       string
	next                         int // the number of the next event expected
	received, gaps, dups, missed int
	firstGap                     string
	conns, dialErrs, abandoned   int
	statuses                     map[int]int
}

func (s *soakSub) run(st *soakState, holdMin, holdMax time.Duration, drainBy time.Time) {
	for time.Now().Before(drainBy) {
		if f := st.final.Load(); f >= 0 && int64(s.next) > f {
			return // every event received: leave for good
		}
		hold := holdMin + rand.N(holdMax-holdMin+1)
		s.once(st, hold)
		time.Sleep(time.Duration(50+rand.IntN(450)) * time.Millisecond)
	}
}

// once opens one connection, resuming after lastID, reads it for hold (or
// until every event arrived once the publisher stopped) and leaves.
func (s *soakSub) once(st *soakState, hold time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), hold)
	defer cancel()
	// Once the publisher stopped, leave as soon as every event is here.
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if f := st.final.Load(); f >= 0 && s.have.Load() > f {
					cancel()
					return
				}
			}
		}
	}()
	base := s.base
	if s.edge != nil {
		base = s.edge.url()
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+s.path, nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Last-Event-ID", s.lastID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			s.dialErrs++
			if s.edge != nil {
				s.edge.moved(base)
			}
		} else {
			s.abandoned++ // left before the answer came
		}
		return
	}
	defer resp.Body.Close()
	s.statuses[resp.StatusCode]++
	if resp.StatusCode != 200 {
		return
	}
	connected := time.Now()
	s.conns++
	st.addConn(s.side)
	p := sse.NewParser(resp.Body, sse.Config{LastEventID: s.lastID})
	for p.Next() {
		if p.Kind() != sse.KindEvent {
			continue
		}
		e := p.Event()
		if e.Type == "mercure-missed" {
			s.missed++
			continue
		}
		s.received++
		nStr, tsStr, _ := strings.Cut(e.Data, " ")
		n, err1 := strconv.Atoi(nStr)
		ts, err2 := strconv.ParseInt(tsStr, 10, 64)
		if err1 != nil || err2 != nil || e.ID != s.prefix+nStr {
			s.dups++ // not one of ours: counted as an extra event
			continue
		}
		switch {
		case n == s.next:
			s.next++
		case n > s.next:
			if s.firstGap == "" {
				s.firstGap = fmt.Sprintf("%d→%d after resuming from %s", s.next, n, s.lastID)
			}
			s.gaps += n - s.next
			s.next = n + 1
		default:
			s.dups++
		}
		s.lastID = e.ID
		s.have.Store(int64(s.next))
		if sent := time.Unix(0, ts); sent.After(connected) {
			st.addLatency(s.side, time.Since(sent)) // live, not replayed
		}
		if f := st.final.Load(); f >= 0 && int64(s.next) > f {
			return
		}
	}
}

// pctl is the q-quantile of ds (which it sorts), 0 for none.
func pctl(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[min(len(ds)-1, int(q*float64(len(ds))))]
}

func pctls(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d", pctl(ds, .5).Milliseconds(), pctl(ds, .99).Milliseconds())
}
