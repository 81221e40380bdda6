package urlpattern

import "unicode/utf8"

// constructorState is a constructor string parser state (URL Pattern
// Standard §1.6 "Constructor string parsing").
type constructorState uint8

const (
	csInit constructorState = iota
	csProtocol
	csAuthority
	csUsername
	csPassword
	csHostname
	csPort
	csPathname
	csSearch
	csHash
	csDone
)

// componentOf maps the states that name a component to the Init key.
var componentOf = map[constructorState]string{
	csProtocol: "protocol",
	csUsername: "username",
	csPassword: "password",
	csHostname: "hostname",
	csPort:     "port",
	csPathname: "pathname",
	csSearch:   "search",
	csHash:     "hash",
}

// constructorParser is the constructor string parser struct.
type constructorParser struct {
	input                  string
	tokens                 []token
	result                 Init
	componentStart         int
	tokenIndex             int
	tokenIncrement         int
	groupDepth             int
	hostnameIPv6Depth      int
	protocolMatchesSpecial bool
	state                  constructorState
	// budget bounds the protocol component compiled to compute
	// protocolMatchesSpecial; that compilation is not kept.
	budget int
}

// parseConstructorString implements "parse a constructor string"; budget
// bounds the regular expressions it compiles on the way.
func parseConstructorString(input string, budget int) (Init, error) {
	tokens, err := tokenize(input, lenient)
	if err != nil {
		return nil, err
	}
	if !utf8.ValidString(input) {
		input = string([]rune(input)) // as tokenize sees it
	}
	p := &constructorParser{input: input, tokens: tokens, result: Init{}, tokenIncrement: 1, budget: budget}
	for p.tokenIndex < len(p.tokens) {
		p.tokenIncrement = 1
		if p.tokens[p.tokenIndex].typ == tokenEnd {
			if p.state == csInit {
				p.rewind()
				switch {
				case p.isHashPrefix():
					p.changeState(csHash, 1)
				case p.isSearchPrefix():
					p.changeState(csSearch, 1)
				default:
					p.changeState(csPathname, 0)
				}
				p.tokenIndex += p.tokenIncrement
				continue
			}
			if p.state == csAuthority {
				p.rewindAndSetState(csHostname)
				p.tokenIndex += p.tokenIncrement
				continue
			}
			p.changeState(csDone, 0)
			break
		}
		if p.isGroupOpen() {
			p.groupDepth++
			p.tokenIndex += p.tokenIncrement
			continue
		}
		if p.groupDepth > 0 {
			if !p.isGroupClose() {
				p.tokenIndex += p.tokenIncrement
				continue
			}
			p.groupDepth--
		}
		if err := p.step(); err != nil {
			return nil, err
		}
		p.tokenIndex += p.tokenIncrement
	}
	if _, ok := p.result["hostname"]; ok {
		if _, ok := p.result["port"]; !ok {
			p.result["port"] = ""
		}
	}
	return p.result, nil
}

// step runs the state-specific steps for the current token.
func (p *constructorParser) step() error {
	switch p.state {
	case csInit:
		if p.isProtocolSuffix() {
			p.rewindAndSetState(csProtocol)
		}
	case csProtocol:
		if !p.isProtocolSuffix() {
			return nil
		}
		if err := p.computeProtocolMatchesSpecial(); err != nil {
			return err
		}
		next, skip := csPathname, 1
		if p.nextIsAuthoritySlashes() {
			next, skip = csAuthority, 3
		} else if p.protocolMatchesSpecial {
			next = csAuthority
		}
		p.changeState(next, skip)
	case csAuthority:
		if p.isIdentityTerminator() {
			p.rewindAndSetState(csUsername)
		} else if p.isPathnameStart() || p.isSearchPrefix() || p.isHashPrefix() {
			p.rewindAndSetState(csHostname)
		}
	case csUsername:
		if p.isPasswordPrefix() {
			p.changeState(csPassword, 1)
		} else if p.isIdentityTerminator() {
			p.changeState(csHostname, 1)
		}
	case csPassword:
		if p.isIdentityTerminator() {
			p.changeState(csHostname, 1)
		}
	case csHostname:
		switch {
		case p.isNonSpecialPatternChar(p.tokenIndex, "["):
			p.hostnameIPv6Depth++
		case p.isNonSpecialPatternChar(p.tokenIndex, "]"):
			p.hostnameIPv6Depth--
		case p.isNonSpecialPatternChar(p.tokenIndex, ":") && p.hostnameIPv6Depth == 0:
			p.changeState(csPort, 1)
		case p.isPathnameStart():
			p.changeState(csPathname, 0)
		case p.isSearchPrefix():
			p.changeState(csSearch, 1)
		case p.isHashPrefix():
			p.changeState(csHash, 1)
		}
	case csPort:
		switch {
		case p.isPathnameStart():
			p.changeState(csPathname, 0)
		case p.isSearchPrefix():
			p.changeState(csSearch, 1)
		case p.isHashPrefix():
			p.changeState(csHash, 1)
		}
	case csPathname:
		if p.isSearchPrefix() {
			p.changeState(csSearch, 1)
		} else if p.isHashPrefix() {
			p.changeState(csHash, 1)
		}
	case csSearch:
		if p.isHashPrefix() {
			p.changeState(csHash, 1)
		}
	}
	return nil
}

// changeState implements "change state".
func (p *constructorParser) changeState(newState constructorState, skip int) {
	if name, ok := componentOf[p.state]; ok {
		p.result[name] = p.makeComponentString()
	}
	if p.state != csInit && newState != csDone {
		_, hasHostname := p.result["hostname"]
		_, hasPathname := p.result["pathname"]
		_, hasSearch := p.result["search"]
		beforeHostname := p.state == csProtocol || p.state == csAuthority || p.state == csUsername || p.state == csPassword
		if beforeHostname && (newState == csPort || newState == csPathname || newState == csSearch || newState == csHash) && !hasHostname {
			p.result["hostname"] = ""
		}
		beforePathname := beforeHostname || p.state == csHostname || p.state == csPort
		if beforePathname && (newState == csSearch || newState == csHash) && !hasPathname {
			if p.protocolMatchesSpecial {
				p.result["pathname"] = "/"
			} else {
				p.result["pathname"] = ""
			}
		}
		beforeSearch := beforePathname || p.state == csPathname
		if beforeSearch && newState == csHash && !hasSearch {
			p.result["search"] = ""
		}
	}
	p.state = newState
	p.tokenIndex += skip
	p.componentStart = p.tokenIndex
	p.tokenIncrement = 0
}

func (p *constructorParser) rewind() {
	p.tokenIndex = p.componentStart
	p.tokenIncrement = 0
}

func (p *constructorParser) rewindAndSetState(s constructorState) {
	p.rewind()
	p.state = s
}

// safeToken implements "get a safe token".
func (p *constructorParser) safeToken(index int) token {
	if index < len(p.tokens) {
		return p.tokens[index]
	}
	return p.tokens[len(p.tokens)-1]
}

// isNonSpecialPatternChar implements "is a non-special pattern char".
func (p *constructorParser) isNonSpecialPatternChar(index int, value string) bool {
	t := p.safeToken(index)
	if t.value != value {
		return false
	}
	return t.typ == tokenChar || t.typ == tokenEscapedChar || t.typ == tokenInvalidChar
}

func (p *constructorParser) isProtocolSuffix() bool {
	return p.isNonSpecialPatternChar(p.tokenIndex, ":")
}

func (p *constructorParser) nextIsAuthoritySlashes() bool {
	return p.isNonSpecialPatternChar(p.tokenIndex+1, "/") && p.isNonSpecialPatternChar(p.tokenIndex+2, "/")
}

func (p *constructorParser) isIdentityTerminator() bool {
	return p.isNonSpecialPatternChar(p.tokenIndex, "@")
}

func (p *constructorParser) isPasswordPrefix() bool {
	return p.isNonSpecialPatternChar(p.tokenIndex, ":")
}

func (p *constructorParser) isPathnameStart() bool {
	return p.isNonSpecialPatternChar(p.tokenIndex, "/")
}

func (p *constructorParser) isHashPrefix() bool {
	return p.isNonSpecialPatternChar(p.tokenIndex, "#")
}

// isSearchPrefix implements "is a search prefix".
func (p *constructorParser) isSearchPrefix() bool {
	if p.isNonSpecialPatternChar(p.tokenIndex, "?") {
		return true
	}
	if p.tokens[p.tokenIndex].value != "?" {
		return false
	}
	if p.tokenIndex-1 < 0 {
		return true
	}
	switch p.safeToken(p.tokenIndex - 1).typ {
	case tokenName, tokenRegexp, tokenClose, tokenAsterisk:
		return false
	}
	return true
}

func (p *constructorParser) isGroupOpen() bool { return p.tokens[p.tokenIndex].typ == tokenOpen }

func (p *constructorParser) isGroupClose() bool { return p.tokens[p.tokenIndex].typ == tokenClose }

// makeComponentString implements "make a component string".
func (p *constructorParser) makeComponentString() string {
	t := p.tokens[p.tokenIndex]
	start := p.safeToken(p.componentStart).pos
	return p.input[start:t.pos]
}

// computeProtocolMatchesSpecial implements "compute protocol matches a
// special scheme flag".
func (p *constructorParser) computeProtocolMatchesSpecial() error {
	budget := p.budget
	c, err := compileComponent(p.makeComponentString(), canonicalizeProtocol, defaultOptions, &budget)
	if err != nil {
		return err
	}
	if c.matchesSpecialScheme() {
		p.protocolMatchesSpecial = true
	}
	return nil
}
