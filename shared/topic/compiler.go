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
}

// Compiler compiles selectors for one hub. It is immutable and safe for
// concurrent use.
type Compiler struct {
	hubURL        string // base of relative URL patterns; "" with NoBase
	base          *whatwgurl.URL
	resolve       *whatwgurl.URL // base of relative topics; nil with NoBase
	maxSelectors  int
	maxExprLen    int
	maxRegexpSize int
}

// NewCompiler returns a Compiler for cfg. The hub URL must be an absolute
// http or https URL.
func NewCompiler(cfg Config) (*Compiler, error) {
	base, err := whatwgurl.Parse(cfg.HubURL, nil)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") {
		return nil, fmt.Errorf("%w, not %q", ErrInvalidHubURL, cfg.HubURL)
	}
	c := &Compiler{
		hubURL:        base.String(),
		base:          base,
		maxSelectors:  orDefault(cfg.MaxSelectors, DefaultMaxSelectors),
		maxExprLen:    orDefault(cfg.MaxExprLen, DefaultMaxExprLen),
		maxRegexpSize: orDefault(cfg.MaxRegexpSize, DefaultMaxRegexpSize),
	}
	if cfg.NoBase {
		c.hubURL, c.resolve = "", nil
	} else {
		c.resolve = base
	}
	return c, nil
}

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// parse parses a topic against the hub's URL into the component strings URL
// patterns match; ok is false if it is not a URL, and then no URL pattern
// matches it (§"URL Pattern").
func (c *Compiler) parse(topic string) (urlpattern.Input, bool) {
	return urlpattern.ParseInput(topic, c.resolve)
}
