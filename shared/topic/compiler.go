package topic

import (
	"fmt"

	"github.com/edge-sse/edge-sse/shared/topic/internal/urlpattern"
	"github.com/edge-sse/edge-sse/shared/topic/internal/whatwgurl"
)

// Limits applied when a Config leaves them zero. Mercure asks hubs to bound
// the number of matchers in a request and the length of each (§"Subscription",
// §"Authorization Details"); the regexp size bounds what a pattern or template
// may cost to compile, hold and run, so a crafted selector cannot blow up
// memory or matching time.
const (
	// DefaultMaxSelectors is the default maximum number of selectors in a
	// Set.
	DefaultMaxSelectors = 100
	// DefaultMaxExprLen is the default maximum length of an expression, in
	// bytes.
	DefaultMaxExprLen = 4096
	// DefaultMaxRegexpSize is the default budget, in estimated regexp program
	// instructions (roughly 45 bytes each), for the templates and URL
	// patterns of a Set. A typical template or pattern costs 15 to 200.
	DefaultMaxRegexpSize = 16384
	// DefaultMaxTopicLen is the default length, in bytes, of the longest
	// topic selectors are matched against: the origin's default
	// --max-field-bytes, which refuses longer topics at publish.
	DefaultMaxTopicLen = 4096
	// DefaultMaxSelectorCost is the default match cost allowed to one
	// selector (see Selector.Cost): any template or URL pattern whose
	// regular expressions have an automaton, which reads each topic byte
	// once (about 2 ns), but no program that RE2 would run instruction by
	// instruction, beyond a couple of instructions.
	DefaultMaxSelectorCost = 2 * DefaultMaxTopicLen
	// DefaultMaxSetCost is the default match cost allowed to the selectors
	// of one subscription together: three templates or URL patterns.
	DefaultMaxSetCost = 4 * DefaultMaxTopicLen
	// DefaultMaxHubCost is the default match cost of the distinct costly
	// selectors one hub holds at once (see Registry): three templates or
	// URL patterns with 4096-byte topics, each read once per topic of an
	// event, so that an event of 64 such topics costs less than 10 times
	// what delivering it to 10,000 subscribers of "*" costs. Hubs whose
	// topics are shorter hold proportionally more for a smaller
	// MaxTopicLen.
	DefaultMaxHubCost = 4 * DefaultMaxTopicLen
)

// Config configures a Compiler.
type Config struct {
	// HubURL is the hub's URL, such as
	// "https://example.com/.well-known/mercure". Relative URL patterns and
	// relative topics are resolved against it (§"URL Pattern").
	HubURL string
	// NoBase says that HubURL is a stand-in, not the hub's configured public
	// URL. Relative URL patterns are then refused with ErrRelativePattern
	// and relative topics are not URLs (no URL pattern matches them): what
	// they would resolve to is not known, and must never be guessed from a
	// request, which any client controls.
	NoBase bool
	// MaxSelectors caps the selectors of a Set; zero means
	// DefaultMaxSelectors.
	MaxSelectors int
	// MaxExprLen caps the length of an expression in bytes; zero means
	// DefaultMaxExprLen.
	MaxExprLen int
	// MaxRegexpSize caps the regexp budget of a Set; zero means
	// DefaultMaxRegexpSize.
	MaxRegexpSize int
	// MaxTopicLen is the length of the longest topic the hub matches, which
	// the match cost of a selector is computed for; zero means
	// DefaultMaxTopicLen.
	MaxTopicLen int
	// MaxSelectorCost caps the match cost of one selector (see
	// Selector.Cost); zero means DefaultMaxSelectorCost.
	MaxSelectorCost int64
	// MaxSetCost caps the match cost of the selectors of a Set together;
	// zero means DefaultMaxSetCost.
	MaxSetCost int64
}

// Compiler compiles selectors for one hub. It is immutable and safe for
// concurrent use.
type Compiler struct {
	hubURL          string // base of relative URL patterns; "" with NoBase
	base            *whatwgurl.URL
	resolve         *whatwgurl.URL // base of relative topics; nil with NoBase
	maxSelectors    int
	maxExprLen      int
	maxRegexpSize   int
	maxTopicLen     int
	maxSelectorCost int64
	maxSetCost      int64
	// reg, when set, interns the Sets' costly selectors (see Shared).
	reg *Registry
}

// NewCompiler returns a Compiler for cfg. The hub URL must be an absolute
// http or https URL.
func NewCompiler(cfg Config) (*Compiler, error) {
	base, err := whatwgurl.Parse(cfg.HubURL, nil)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") {
		return nil, fmt.Errorf("%w, not %q", ErrInvalidHubURL, cfg.HubURL)
	}
	c := &Compiler{
		hubURL:          base.String(),
		base:            base,
		maxSelectors:    orDefault(cfg.MaxSelectors, DefaultMaxSelectors),
		maxExprLen:      orDefault(cfg.MaxExprLen, DefaultMaxExprLen),
		maxRegexpSize:   orDefault(cfg.MaxRegexpSize, DefaultMaxRegexpSize),
		maxTopicLen:     orDefault(cfg.MaxTopicLen, DefaultMaxTopicLen),
		maxSelectorCost: orDefault(cfg.MaxSelectorCost, DefaultMaxSelectorCost),
		maxSetCost:      orDefault(cfg.MaxSetCost, DefaultMaxSetCost),
	}
	if cfg.NoBase {
		c.hubURL, c.resolve = "", nil
	} else {
		c.resolve = base
	}
	return c, nil
}

func orDefault[T int | int64](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Limits returns the limits the Compiler applies, defaults filled in.
func (c *Compiler) Limits() Config {
	return Config{
		HubURL:          c.hubURL,
		NoBase:          c.resolve == nil,
		MaxSelectors:    c.maxSelectors,
		MaxExprLen:      c.maxExprLen,
		MaxRegexpSize:   c.maxRegexpSize,
		MaxTopicLen:     c.maxTopicLen,
		MaxSelectorCost: c.maxSelectorCost,
		MaxSetCost:      c.maxSetCost,
	}
}

// parse parses a topic against the hub's URL into the component strings URL
// patterns match; ok is false if it is not a URL, and then no URL pattern
// matches it (§"URL Pattern").
func (c *Compiler) parse(topic string) (urlpattern.Input, bool) {
	return urlpattern.ParseInput(topic, c.resolve)
}
