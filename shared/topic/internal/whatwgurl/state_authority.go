package whatwgurl

// stepAuthority runs the states that read the credentials, host and port,
// the file host included (URL Standard §4.4, authority state to file host
// state).
func (p *parser) stepAuthority(c rune) (done bool, err error) {
	u := p.url
	switch p.state {
	case stateAuthority:
		switch {
		case c == '@':
			if p.atSignSeen {
				p.buffer = append([]rune("%40"), p.buffer...)
			}
			if !p.atSignSeen {
				p.username.WriteString(u.Username)
				p.password.WriteString(u.Password)
			}
			p.atSignSeen = true
			for _, cp := range p.buffer {
				if cp == ':' && !p.passwordTokenSeen {
					p.passwordTokenSeen = true
					continue
				}
				if p.passwordTokenSeen {
					writePercentEncoded(&p.password, cp, &userinfoSet)
				} else {
					writePercentEncoded(&p.username, cp, &userinfoSet)
				}
			}
			u.Username, u.Password = p.username.String(), p.password.String()
			p.buffer = p.buffer[:0]
		case c == eof || c == '/' || c == '?' || c == '#' || (u.Special() && c == '\\'):
			if p.atSignSeen && len(p.buffer) == 0 {
				return false, ErrInvalid
			}
			p.pointer -= len(p.buffer) + 1
			p.buffer = p.buffer[:0]
			p.state = stateHost
		default:
			p.buffer = append(p.buffer, c)
		}

	case stateHost, StateHostname:
		switch {
		case p.override != stateNone && u.Scheme == "file":
			p.pointer--
			p.state = stateFileHost
		case c == ':' && !p.insideBrackets:
			if len(p.buffer) == 0 || p.override == StateHostname {
				return false, ErrInvalid
			}
			if !p.setHost() {
				return false, ErrInvalid
			}
			p.state = StatePort
		case c == eof || c == '/' || c == '?' || c == '#' || (u.Special() && c == '\\'):
			p.pointer--
			if u.Special() && len(p.buffer) == 0 {
				return false, ErrInvalid
			}
			if p.override != stateNone && len(p.buffer) == 0 && (u.includesCredentials() || u.Port >= 0) {
				return false, ErrInvalid
			}
			if !p.setHost() {
				return false, ErrInvalid
			}
			p.state = StatePathStart
			if p.override != stateNone {
				return true, nil
			}
		default:
			switch c {
			case '[':
				p.insideBrackets = true
			case ']':
				p.insideBrackets = false
			}
			p.buffer = append(p.buffer, c)
		}

	case StatePort:
		switch {
		case isASCIIDigit(c):
			p.buffer = append(p.buffer, c)
		case c == eof || c == '/' || c == '?' || c == '#' || (u.Special() && c == '\\') || p.override != stateNone:
			if len(p.buffer) != 0 {
				port, ok := parsePort(p.buffer)
				if !ok {
					return false, ErrInvalid
				}
				if port == DefaultPort(u.Scheme) {
					port = -1
				}
				u.Port = port
				p.buffer = p.buffer[:0]
				if p.override != stateNone {
					return true, nil
				}
			}
			if p.override != stateNone {
				return false, ErrInvalid
			}
			p.state = StatePathStart
			p.pointer--
		default:
			return false, ErrInvalid
		}

	case stateFile:
		u.Scheme = "file"
		u.HostKind, u.Host = HostEmpty, ""
		b := p.base
		switch {
		case c == '/' || c == '\\':
			p.state = stateFileSlash
		case b != nil && b.Scheme == "file":
			u.HostKind, u.Host = b.HostKind, b.Host
			u.Path = append([]string(nil), b.Path...)
			u.Query, u.HasQuery = b.Query, b.HasQuery
			switch c {
			case '?':
				u.Query, u.HasQuery = "", true
				p.state = StateQuery
			case '#':
				u.Fragment, u.HasFragment = "", true
				p.state = StateFragment
			case eof:
			default:
				u.Query, u.HasQuery = "", false
				if !startsWithWindowsDriveLetter(p.input[p.pointer:]) {
					u.shortenPath()
				} else {
					u.Path = nil
				}
				p.state = statePath
				p.pointer--
			}
		default:
			p.state = statePath
			p.pointer--
		}

	case stateFileSlash:
		if c == '/' || c == '\\' {
			p.state = stateFileHost
			break
		}
		if b := p.base; b != nil && b.Scheme == "file" {
			u.HostKind, u.Host = b.HostKind, b.Host
			if !startsWithWindowsDriveLetter(p.input[max(p.pointer, 0):]) &&
				len(b.Path) > 0 && isNormalizedWindowsDriveLetter(b.Path[0]) {
				u.Path = append(u.Path, b.Path[0])
			}
		}
		p.state = statePath
		p.pointer--

	case stateFileHost:
		switch c {
		case eof, '/', '\\', '?', '#':
			p.pointer--
			switch {
			case p.override == stateNone && isWindowsDriveLetter(p.buffer):
				p.state = statePath
			case len(p.buffer) == 0:
				u.HostKind, u.Host = HostEmpty, ""
				if p.override != stateNone {
					return true, nil
				}
				p.state = StatePathStart
			default:
				kind, host, ok := parseHost(string(p.buffer), !u.Special())
				if !ok {
					return false, ErrInvalid
				}
				if kind == HostDomain && host == "localhost" {
					kind, host = HostEmpty, ""
				}
				u.HostKind, u.Host = kind, host
				if p.override != stateNone {
					return true, nil
				}
				p.buffer = p.buffer[:0]
				p.state = StatePathStart
			}
		default:
			p.buffer = append(p.buffer, c)
		}
	}
	return false, nil
}
