package edge

// The hub's CPU budget per invocation.
//
// Cloudflare bounds the CPU a Durable Object spends per invocation (30 s
// by default, up to 5 minutes with wrangler.toml's [limits] cpu_ms) and
// resets the count with every incoming request (docs/PLATFORM.md, fact
// 13). A hub that fans a steady feed out to thousands of clients spends
// CPU in its feed's callbacks, which are no incoming request: past the
// limit the platform resets the object, and every stream on it breaks at
// once. So the hub keeps its own account and, when the budget runs low,
// closes some of its streams itself: each client reconnects after the
// retry advice its stream began with (RETRY_MS plus a random share of
// RETRY_JITTER_MS) and resumes with Last-Event-ID from the ring, losing
// nothing — and that reconnection is itself an incoming request, which
// gives the object a fresh budget.
//
// The account is an estimate, counted from the hub's work: deployed on
// Cloudflare, an isolate's clocks (Date.now, performance.now, and so Go's
// time.Now) advance only at I/O, a Spectre mitigation, so the hub cannot
// time its own fan-outs there (under wrangler dev they do advance). The
// estimate follows what a write was measured to cost (README, "CPU per
// invocation"): an event write costs WriteCost (WRITE_COST_US) plus
// KBCost (WRITE_KB_COST_NS) per KiB it carries, since workerd moves every
// byte of every client's copy out (measured on the bench's pure-JS floor:
// 95 µs for a write of 16.5 KB, 240 µs for 87 KB); a heartbeat comment
// costs CommentCost (COMMENT_COST_US; measured at ≈0.83 of a small event
// write); each event read from the feed is counted as one event write too
// (decoding, the ring, one call from the feed pump).

import "time"

// Budget is the CPU account of a hub; the zero value keeps none.
type Budget struct {
	// CPU is the platform's CPU limit per invocation (CPU_BUDGET_MS, the
	// [limits] cpu_ms of wrangler.toml); 0 turns the account off.
	CPU time.Duration
	// WriteCost is the CPU one stream write of events costs, besides its
	// bytes (WRITE_COST_US); KBCost the CPU per KiB such a write carries
	// (WRITE_KB_COST_NS); CommentCost the CPU of one heartbeat comment
	// written (COMMENT_COST_US).
	WriteCost, KBCost, CommentCost time.Duration
	// ShedAt is the share of CPU, in percent, spent since the last
	// incoming request at which the hub starts closing streams
	// (SHED_AT_PCT).
	ShedAt int
	// ShedPct is the share of its streams, in percent, the hub closes at
	// each step (SHED_PCT).
	ShedPct int
}

// shedSteps is the number of steps between ShedAt and the limit: every
// further tenth of the remaining budget spent without an incoming request
// closes ShedPct of the streams again, and the last step closes them all,
// so the platform's limit is never reached.
const shedSteps = 10

// budgetState is the hub's account since the last incoming request; the
// hub's lock covers it.
type budgetState struct {
	// at is the work counted at the last incoming request.
	at work
	// step is the next shedding step (0: none taken yet).
	step int
	// shed counts the streams closed to stay within the budget, shedRounds
	// the steps taken.
	shed, shedRounds uint64
}

// Touch records an incoming request to the hub's object: the platform
// gives the object a fresh CPU budget, and the hub's account starts
// again.
func (h *Hub) Touch() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.budget.at = h.workLocked()
	h.budget.step = 0
}

// work is what the hub counted so far: stream writes (heartbeat comments
// and held chunks included), of those the comments, the bytes of the
// others, and events read.
type work struct {
	writes, comments, bytes, events uint64
}

func (h *Hub) workLocked() work {
	return work{writes: h.reg.writes, comments: h.reg.comments, bytes: h.reg.bytes, events: h.events}
}

// cost estimates the CPU of w.
func (b Budget) cost(w work) time.Duration {
	return time.Duration(w.writes-w.comments+w.events)*b.WriteCost +
		time.Duration(w.comments)*b.CommentCost +
		time.Duration(float64(w.bytes)/1024*float64(b.KBCost))
}

// spentLocked estimates the CPU spent since the last incoming request.
func (h *Hub) spentLocked() time.Duration {
	now, at := h.workLocked(), h.budget.at
	return h.Budget.cost(work{
		writes:   now.writes - at.writes,
		comments: now.comments - at.comments,
		bytes:    now.bytes - at.bytes,
		events:   now.events - at.events,
	})
}

// threshold returns the spending at which shedding step k (from 0) is
// taken.
func (b Budget) threshold(k int) time.Duration {
	start := b.CPU * time.Duration(b.ShedAt) / 100
	return start + (b.CPU-start)*time.Duration(k)/shedSteps
}

// checkBudgetLocked takes the shedding steps the spending has reached
// since the last incoming request: each closes ShedPct of the streams (at
// least one), the last one every stream.
func (h *Hub) checkBudgetLocked() {
	b := h.Budget
	if b.CPU <= 0 || b.WriteCost <= 0 {
		return
	}
	spent := h.spentLocked()
	for h.budget.step < shedSteps && spent >= b.threshold(h.budget.step) {
		h.budget.step++
		h.budget.shedRounds++
		n := len(h.reg.clients)
		if h.budget.step < shedSteps {
			n = max(1, (n*b.ShedPct+99)/100)
		}
		h.shedLocked(n)
	}
}

// shedLocked closes n streams, chosen at random (Go's map order). Their
// clients reconnect after the retry advice their stream began with and
// resume from the ring.
func (h *Hub) shedLocked(n int) {
	for _, c := range h.reg.clients {
		if n <= 0 {
			return
		}
		n--
		h.budget.shed++
		h.forgetLocked(c)
		c.Sink.Close()
	}
}

// BudgetStats is the hub's CPU account, as /_edge/stats shows it.
type BudgetStats struct {
	// SpentMs is the CPU estimated since the last incoming request.
	SpentMs float64 `json:"cpuSpentMs"`
	// Shed counts the streams closed to stay within the budget, ShedRounds
	// the steps that closed them.
	Shed       uint64 `json:"shed"`
	ShedRounds uint64 `json:"shedRounds"`
}

func (h *Hub) budgetStatsLocked() BudgetStats {
	return BudgetStats{
		SpentMs:    float64(h.spentLocked()) / float64(time.Millisecond),
		Shed:       h.budget.shed,
		ShedRounds: h.budget.shedRounds,
	}
}
