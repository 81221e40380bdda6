// Package urlpattern implements URL patterns as the URL Pattern Standard
// (Review Draft 2025-09, the snapshot the Mercure specification cites)
// defines them, for matching topics.
//
// Regular expressions are Go's (RE2): matching is linear-time, as Mercure
// §"URL Pattern" requires. Regexp groups written in a pattern are compiled
// with Go's syntax, so JavaScript-only constructs (lookaround,
// backreferences, "v"-mode class set operations) are rejected, and RE2-only
// ones are accepted. The ignoreCase option is never enabled (Mercure §"URL
// Pattern"). URL parsing comes from package whatwgurl, with its IDNA subset.
package urlpattern

import (
	"errors"
	"strings"

	"github.com/edge-sse/edge-sse/shared/topic/internal/whatwgurl"
)

// ErrNoProtocol reports a relative pattern string without a base URL.
var ErrNoProtocol = errors.New("relative pattern without a base URL")

// Pattern is a URL pattern (URL Pattern Standard §1.3): one compiled
// component per URL component.
type Pattern struct {
	protocol, username, password, hostname, port, pathname, search, hash component
}

// New implements "create" for a pattern string input with base URL baseURL,
// which is null when empty. Regular expressions are charged to budget.
func New(input, baseURL string, budget *int) (*Pattern, error) {
	init, err := parseConstructorString(input, *budget)
	if err != nil {
		return nil, err
	}
	if baseURL == "" && !init.has("protocol") {
		return nil, ErrNoProtocol
	}
	if baseURL != "" {
		init["baseURL"] = baseURL
	}
	return NewInit(init, budget)
}

// NewRelative is New except that baseURL is used only when the pattern string
// has no protocol, that is, when it is a relative pattern. With a base URL,
// "create" prefixes any pathname that does not start with "/" with the base
// URL's directory, even in an absolute pattern: "urn:uuid\\:*" would get the
// pathname "/.well-known/uuid\\:*" and match no URN.
func NewRelative(input, baseURL string, budget *int) (*Pattern, error) {
	init, err := parseConstructorString(input, *budget)
	if err != nil {
		return nil, err
	}
	if !init.has("protocol") {
		init["baseURL"] = baseURL
	}
	return NewInit(init, budget)
}

// NewInit implements "create" for a URLPatternInit input.
func NewInit(init Init, budget *int) (*Pattern, error) {
	processed, err := processInit(init, typePattern, nil)
	if err != nil {
		return nil, err
	}
	for _, name := range componentNames {
		if _, ok := processed[name]; !ok {
			processed[name] = "*"
		}
	}
	if whatwgurl.IsSpecialScheme(processed["protocol"]) && processed["port"] == defaultPortString(processed["protocol"]) {
		processed["port"] = ""
	}
	p := &Pattern{}
	steps := []struct {
		c      *component
		name   string
		encode encodingCallback
		opts   options
	}{
		{&p.protocol, "protocol", canonicalizeProtocol, defaultOptions},
		{&p.username, "username", canonicalizeUsername, defaultOptions},
		{&p.password, "password", canonicalizePassword, defaultOptions},
		{&p.hostname, "hostname", canonicalizeHostname, hostnameOptions},
		{&p.port, "port", canonicalizePort, defaultOptions},
	}
	if hostnamePatternIsIPv6(processed["hostname"]) {
		steps[3].encode = canonicalizeIPv6Hostname
	}
	for _, s := range steps {
		if *s.c, err = compileComponent(processed[s.name], s.encode, s.opts, budget); err != nil {
			return nil, err
		}
	}
	if p.protocol.matchesSpecialScheme() {
		p.pathname, err = compileComponent(processed["pathname"], canonicalizePathname, pathnameOptions, budget)
	} else {
		p.pathname, err = compileComponent(processed["pathname"], canonicalizeOpaquePathname, defaultOptions, budget)
	}
	if err != nil {
		return nil, err
	}
	if p.search, err = compileComponent(processed["search"], canonicalizeSearch, defaultOptions, budget); err != nil {
		return nil, err
	}
	if p.hash, err = compileComponent(processed["hash"], canonicalizeHash, defaultOptions, budget); err != nil {
		return nil, err
	}
	return p, nil
}

// hostnamePatternIsIPv6 implements "hostname pattern is an IPv6 address".
func hostnamePatternIsIPv6(input string) bool {
	return strings.HasPrefix(input, "[") || strings.HasPrefix(input, "{[") || strings.HasPrefix(input, `\[`)
}

// Input holds the component strings a URL is matched with.
type Input struct {
	Protocol, Username, Password, Hostname, Port, Pathname, Search, Hash string
}

// InputFromURL reads the component strings of a parsed URL, as "match" does
// for a string input (URL Pattern Standard §1.4).
func InputFromURL(u *whatwgurl.URL) Input {
	return Input{
		Protocol: u.Scheme,
		Username: u.Username,
		Password: u.Password,
		Hostname: u.HostString(),
		Port:     u.PortString(),
		Pathname: u.PathString(),
		Search:   u.Query,
		Hash:     u.Fragment,
	}
}

// ParseInput parses input against baseURL (nil for none) and returns its
// component strings; ok is false where "match" returns null because the URL
// does not parse.
func ParseInput(input string, baseURL *whatwgurl.URL) (in Input, ok bool) {
	u, err := whatwgurl.Parse(input, baseURL)
	if err != nil {
		return Input{}, false
	}
	return InputFromURL(u), true
}

// InputFromInit processes a URLPatternInit input as "match" does; ok is false
// where it returns null.
func InputFromInit(init Init) (in Input, ok bool) {
	defaults := Init{}
	for _, name := range componentNames {
		defaults[name] = ""
	}
	r, err := processInit(init, typeURL, defaults)
	if err != nil {
		return Input{}, false
	}
	return Input{r["protocol"], r["username"], r["password"], r["hostname"], r["port"], r["pathname"], r["search"], r["hash"]}, true
}

// Match reports whether every component of p matches the corresponding
// string of in; it does not allocate.
func (p *Pattern) Match(in *Input) bool {
	return p.protocol.match(in.Protocol) &&
		p.hostname.match(in.Hostname) &&
		p.pathname.match(in.Pathname) &&
		p.port.match(in.Port) &&
		p.search.match(in.Search) &&
		p.hash.match(in.Hash) &&
		p.username.match(in.Username) &&
		p.password.match(in.Password)
}

// MatchCost bounds the work of Match on the components of a URL of at most
// n bytes, in the units of boundedre.Regexp.MatchCost. The component
// strings together are at most n bytes long, so the regular expressions
// cost at most the largest of them over n bytes; literals cost their
// length.
func (p *Pattern) MatchCost(n int) int64 {
	var re, lit int64
	for _, c := range [...]*component{&p.protocol, &p.username, &p.password, &p.hostname, &p.port, &p.pathname, &p.search, &p.hash} {
		if c.kind == matchRegexp {
			re = max(re, c.re.MatchCost(n))
		} else {
			lit += int64(len(c.literal))
		}
	}
	return re + lit
}

// HasRegexp reports whether matching runs a regular expression: some
// component is neither a lone "*" nor fixed text.
func (p *Pattern) HasRegexp() bool {
	for _, c := range [...]*component{&p.protocol, &p.username, &p.password, &p.hostname, &p.port, &p.pathname, &p.search, &p.hash} {
		if c.kind == matchRegexp {
			return true
		}
	}
	return false
}

// Components returns the component pattern strings, as the URLPattern
// attributes return them, keyed by component name.
func (p *Pattern) Components() map[string]string {
	return map[string]string{
		"protocol": p.protocol.patternString,
		"username": p.username.patternString,
		"password": p.password.patternString,
		"hostname": p.hostname.patternString,
		"port":     p.port.patternString,
		"pathname": p.pathname.patternString,
		"search":   p.search.patternString,
		"hash":     p.hash.patternString,
	}
}

// HasRegexpGroups implements "has regexp groups".
func (p *Pattern) HasRegexpGroups() bool {
	for _, c := range [...]*component{&p.protocol, &p.username, &p.password, &p.hostname, &p.port, &p.pathname, &p.search, &p.hash} {
		if c.hasRegexp {
			return true
		}
	}
	return false
}
