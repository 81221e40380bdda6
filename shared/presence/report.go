package presence

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Path is the origin's report endpoint, next to the edge feed
// (mercure.FeedPath): POST, Authorization: Bearer <feed secret>, a Report
// as JSON. The origin answers 200 with a Response, 409 with a Resync, 400
// for a report Decode refuses, 401 for a bad secret, 404 when presence is
// off, 413 for a body past Limits.MaxBodyBytes.
const Path = "/edge/presence"

// ContentType is the media type of reports and of the origin's answers.
const ContentType = "application/json"

// The op names of Op.Op.
const (
	OpAdd    = "add"
	OpRemove = "remove"
)

// Topic is one selector of a connection in an add op.
type Topic struct {
	MatchType string `json:"match_type"`
	Match     string `json:"match"`
	// Payload, when set, is this selector's payload and takes precedence
	// over the op's (selectors of one token may match grants with
	// different payloads; see PayloadFor).
	Payload json.RawMessage `json:"payload,omitempty"`
}

// Op is one change of an instance's set: a connection that started (add,
// with its selectors) or ended (remove).
type Op struct {
	Op         string  `json:"op"`
	Subscriber string  `json:"subscriber"`
	Topics     []Topic `json:"topics,omitempty"`
	// Payload is the payload of every selector of the connection that has
	// none of its own.
	Payload json.RawMessage `json:"payload,omitempty"`
}

// TopicPayload returns the payload of the op's i-th selector.
func (o *Op) TopicPayload(i int) json.RawMessage {
	if p := o.Topics[i].Payload; len(p) > 0 {
		return p
	}
	return o.Payload
}

// Report is the body of a POST to Path: what one hub instance changed
// since its previous report, or (Full) everything it holds.
type Report struct {
	// Hub is the instance id (NewInstanceID), new each time the hub
	// object starts.
	Hub string `json:"hub"`
	// Name is the hub object's name, for logs only.
	Name string `json:"name,omitempty"`
	// Seq numbers the instance's reports: 1 for its first, then +1 per
	// report. A report re-sent after a failure keeps its seq.
	Seq uint64 `json:"seq"`
	// Full says Ops is the instance's whole current set (add ops only).
	Full bool `json:"full"`
	Ops  []Op `json:"ops"`
}

// Response is the body of a 200 answer: the report is applied, and the
// instance's lease runs for LeaseMS from now.
type Response struct {
	LeaseMS int64 `json:"lease_ms"`
}

// Resync is the body of a 409 answer: the origin does not hold the
// instance or the seq does not follow; the instance's next report must be
// Full.
type Resync struct {
	Error  string `json:"error"`
	Resync bool   `json:"resync"`
}

// Limits bound what Decode accepts. The zero value of a field means its
// default.
type Limits struct {
	// MaxBodyBytes bounds the body (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// MaxOps bounds the ops of one report (default DefaultMaxOps).
	MaxOps int
	// MaxTopics bounds the selectors of one add op (default
	// DefaultMaxTopics).
	MaxTopics int
	// MaxFieldBytes bounds name, match_type, match and each payload
	// (default DefaultMaxFieldBytes).
	MaxFieldBytes int
}

// Defaults of Limits. A full report holds one add op per connection of
// an edge hub (at most MAX_CLIENTS, 10,000 by default), and an
// incremental one at most an add and a remove per connection; 100 is the
// default bound on a subscription's selectors (MAX_SELECTORS), 4096 that
// on a topic (MAX_TOPIC_BYTES).
const (
	DefaultMaxBodyBytes  = 16 << 20
	DefaultMaxOps        = 20000
	DefaultMaxTopics     = 100
	DefaultMaxFieldBytes = 4096
)

func (l Limits) withDefaults() Limits {
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if l.MaxOps <= 0 {
		l.MaxOps = DefaultMaxOps
	}
	if l.MaxTopics <= 0 {
		l.MaxTopics = DefaultMaxTopics
	}
	if l.MaxFieldBytes <= 0 {
		l.MaxFieldBytes = DefaultMaxFieldBytes
	}
	return l
}

// Errors of Decode and Validate. ErrTooLarge answers 413, the others 400.
var (
	ErrTooLarge  = errors.New("presence: report body too large")
	ErrMalformed = errors.New("presence: malformed report")
)

// Decode reads a report from body, at most l.MaxBodyBytes of it, and
// validates it (Validate). Errors wrap ErrTooLarge or ErrMalformed and
// say what to fix.
func Decode(body io.Reader, l Limits) (*Report, error) {
	l = l.withDefaults()
	b, err := io.ReadAll(io.LimitReader(body, l.MaxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the body: %v", ErrMalformed, err)
	}
	if int64(len(b)) > l.MaxBodyBytes {
		return nil, fmt.Errorf("%w: more than %d bytes: send fewer ops per report, or raise the origin's limit", ErrTooLarge, l.MaxBodyBytes)
	}
	var r Report
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if d.More() {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrMalformed)
	}
	if err := r.Validate(l); err != nil {
		return nil, err
	}
	return &r, nil
}

// Validate checks r against the protocol and l: a valid instance id, seq
// at least 1, at most l.MaxOps ops, each naming a valid subscriber id;
// add ops with 1 to l.MaxTopics selectors of a known match type and a
// non-empty match; payloads that are JSON objects; fields within
// l.MaxFieldBytes; in a full report, add ops only and each subscriber
// once. Errors wrap ErrMalformed or ErrTooLarge. A null payload is made
// nil, as if absent.
func (r *Report) Validate(l Limits) error {
	l = l.withDefaults()
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, a...)...)
	}
	switch {
	case !ValidInstanceID(r.Hub):
		return bad("hub %q is not an instance id (32 lower-case hex characters)", clip(r.Hub))
	case len(r.Name) > l.MaxFieldBytes:
		return bad("name is longer than %d bytes", l.MaxFieldBytes)
	case r.Seq == 0:
		return bad("seq must be at least 1")
	case len(r.Ops) > l.MaxOps:
		return fmt.Errorf("%w: %d ops, at most %d: send fewer ops per report, or raise the origin's limit", ErrTooLarge, len(r.Ops), l.MaxOps)
	}
	var seen map[string]bool
	if r.Full {
		seen = make(map[string]bool, len(r.Ops))
	}
	for i := range r.Ops {
		o := &r.Ops[i]
		if !ValidSubscriberID(o.Subscriber) {
			return bad("ops[%d].subscriber %q is not a subscriber id (urn:uuid:…)", i, clip(o.Subscriber))
		}
		switch o.Op {
		case OpAdd:
		case OpRemove:
			if r.Full {
				return bad("ops[%d] is a remove op in a full report, which lists only what the instance holds", i)
			}
			if len(o.Topics) > 0 || len(o.Payload) > 0 {
				return bad("ops[%d] is a remove op with topics or a payload", i)
			}
			continue
		default:
			return bad("ops[%d].op is %q, want %q or %q", i, clip(o.Op), OpAdd, OpRemove)
		}
		if r.Full {
			if seen[o.Subscriber] {
				return bad("ops[%d]: subscriber %s twice in a full report", i, o.Subscriber)
			}
			seen[o.Subscriber] = true
		}
		if len(o.Topics) == 0 || len(o.Topics) > l.MaxTopics {
			return bad("ops[%d] has %d topics, want 1 to %d", i, len(o.Topics), l.MaxTopics)
		}
		if err := checkPayload(o.Payload, l); err != nil {
			return bad("ops[%d].payload %v", i, err)
		}
		o.Payload = nonEmpty(o.Payload)
		for j := range o.Topics {
			t := &o.Topics[j]
			switch {
			case !ValidMatchType(t.MatchType):
				return bad("ops[%d].topics[%d].match_type is %q, want exact, urlpattern or topic", i, j, clip(t.MatchType))
			case t.Match == "":
				return bad("ops[%d].topics[%d].match is empty", i, j)
			case len(t.Match) > l.MaxFieldBytes:
				return bad("ops[%d].topics[%d].match is longer than %d bytes", i, j, l.MaxFieldBytes)
			}
			if err := checkPayload(t.Payload, l); err != nil {
				return bad("ops[%d].topics[%d].payload %v", i, j, err)
			}
			t.Payload = nonEmpty(t.Payload)
		}
	}
	return nil
}

// ValidMatchType reports whether s names a kind of selector: "exact",
// "urlpattern" or "topic" (topic.Kind.String()).
func ValidMatchType(s string) bool {
	return s == "exact" || s == "urlpattern" || s == "topic"
}

func checkPayload(p json.RawMessage, l Limits) error {
	if len(p) == 0 {
		return nil
	}
	if len(p) > l.MaxFieldBytes {
		return fmt.Errorf("is longer than %d bytes", l.MaxFieldBytes)
	}
	if bytes.Equal(p, []byte("null")) {
		return nil
	}
	if p[0] != '{' {
		return errors.New("is not a JSON object")
	}
	return nil
}

// clip shortens a value quoted in an error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
