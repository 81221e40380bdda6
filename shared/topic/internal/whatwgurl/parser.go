package whatwgurl

import (
	"strconv"
	"strings"
)

// State is a state of the basic URL parser (URL Standard §4.4 "URL
// parsing"). The exported ones are those URL Pattern passes as a state
// override.
type State uint8

const (
	stateNone State = iota
	stateSchemeStart
	stateScheme
	stateNoScheme
	stateSpecialRelativeOrAuthority
	statePathOrAuthority
	stateRelative
	stateRelativeSlash
	stateSpecialAuthoritySlashes
	stateSpecialAuthorityIgnoreSlashes
	stateAuthority
	stateHost
	// StateHostname is the hostname state.
	StateHostname
	// StatePort is the port state.
	StatePort
	stateFile
	stateFileSlash
	stateFileHost
	// StatePathStart is the path start state.
	StatePathStart
	statePath
	// StateOpaquePath is the opaque path state.
	StateOpaquePath
	// StateQuery is the query state.
	StateQuery
	// StateFragment is the fragment state.
	StateFragment
)

const eof = -1

// Parse runs the basic URL parser on input with base, which may be nil.
func Parse(input string, base *URL) (*URL, error) {
	u := &URL{Port: -1}
	input = strings.TrimFunc(input, func(r rune) bool { return r <= 0x20 })
	if err := parse(input, base, u, stateNone); err != nil {
		return nil, err
	}
	return u, nil
}

// ParseOverride runs the basic URL parser on input with u as url and override
// as state override, modifying u.
func ParseOverride(input string, u *URL, override State) error {
	return parse(input, nil, u, override)
}

// parser holds the variables of the basic URL parser (URL Standard §4.4):
// the input as code points, the pointer into it, the optional base URL, the
// URL being built, the state override and the buffer.
type parser struct {
	input    []rune
	pointer  int
	base     *URL
	url      *URL
	override State
	state    State
	buffer   []rune

	atSignSeen, insideBrackets, passwordTokenSeen bool

	// opaque and fragment collect the opaque path and fragment code points
	// appended since entering their states, and username and password the
	// credentials, so that appending stays linear.
	opaque, fragment, username, password strings.Builder
}

// parse runs the basic URL parser on input, which has been trimmed of leading
// and trailing C0 controls and spaces unless u was given by the caller.
func parse(input string, base *URL, u *URL, override State) error {
	if strings.ContainsAny(input, "\t\n\r") {
		input = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(input)
	}
	p := &parser{input: []rune(input), base: base, url: u, override: override, state: override}
	if p.state == stateNone {
		p.state = stateSchemeStart
	}
	for {
		c := rune(eof)
		if p.pointer >= 0 && p.pointer < len(p.input) {
			c = p.input[p.pointer]
		}
		done, err := p.step(c)
		if err != nil {
			return err
		}
		if done || p.pointer >= len(p.input) {
			p.flushOpaque()
			if p.fragment.Len() > 0 {
				u.Fragment += p.fragment.String()
			}
			return nil
		}
		p.pointer++
	}
}

// flushOpaque appends the collected opaque path code points to the URL.
func (p *parser) flushOpaque() {
	if p.opaque.Len() > 0 {
		p.url.OpaquePath += p.opaque.String()
		p.opaque.Reset()
	}
}

// remainingStartsWith reports whether the code points after the current one
// start with s.
func (p *parser) remainingStartsWith(s string) bool {
	rest := p.input[min(p.pointer+1, len(p.input)):]
	i := 0
	for _, c := range s {
		if i >= len(rest) || rest[i] != c {
			return false
		}
		i++
	}
	return true
}

// step runs the state machine once for code point c. It reports done when the
// algorithm returns early without failure.
func (p *parser) step(c rune) (done bool, err error) {
	switch p.state {
	case stateSchemeStart, stateScheme, stateNoScheme, stateSpecialRelativeOrAuthority, statePathOrAuthority,
		stateRelative, stateRelativeSlash, stateSpecialAuthoritySlashes, stateSpecialAuthorityIgnoreSlashes:
		return p.stepScheme(c)
	case stateAuthority, stateHost, StateHostname, StatePort, stateFile, stateFileSlash, stateFileHost:
		return p.stepAuthority(c)
	}
	return p.stepPath(c)
}

// copyAuthority copies username, password, host and port from base, as the
// relative states do.
func (p *parser) copyAuthority(b *URL) {
	u := p.url
	u.Username, u.Password = b.Username, b.Password
	u.HostKind, u.Host, u.Port = b.HostKind, b.Host, b.Port
}

// setHost host-parses the buffer into the URL's host and empties the buffer.
func (p *parser) setHost() bool {
	kind, host, ok := parseHost(string(p.buffer), !p.url.Special())
	if !ok {
		return false
	}
	p.url.HostKind, p.url.Host = kind, host
	p.buffer = p.buffer[:0]
	return true
}

// parsePort reads a buffer of ASCII digits as a 16-bit port.
func parsePort(digits []rune) (int, bool) {
	s := strings.TrimLeft(string(digits), "0")
	if len(s) > 5 {
		return 0, false
	}
	if s == "" {
		return 0, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > 0xFFFF {
		return 0, false
	}
	return n, true
}
