package whatwgurl

// stepScheme runs the states that read the scheme and decide between a
// relative and an absolute URL (URL Standard §4.4, scheme start state to
// special authority ignore slashes state).
func (p *parser) stepScheme(c rune) (done bool, err error) {
	u := p.url
	switch p.state {
	case stateSchemeStart:
		switch {
		case isASCIIAlpha(c):
			p.buffer = append(p.buffer, asciiLower(c))
			p.state = stateScheme
		case p.override == stateNone:
			p.state = stateNoScheme
			p.pointer--
		default:
			return false, ErrInvalid
		}

	case stateScheme:
		switch {
		case isASCIIAlphanumeric(c) || c == '+' || c == '-' || c == '.':
			p.buffer = append(p.buffer, asciiLower(c))
		case c == ':':
			scheme := string(p.buffer)
			if p.override != stateNone {
				if u.Special() != IsSpecialScheme(scheme) ||
					((u.includesCredentials() || u.Port >= 0) && scheme == "file") ||
					(u.Scheme == "file" && u.HostKind == HostEmpty) {
					return true, nil
				}
			}
			u.Scheme = scheme
			if p.override != stateNone {
				if u.Port == DefaultPort(u.Scheme) {
					u.Port = -1
				}
				return true, nil
			}
			p.buffer = p.buffer[:0]
			switch {
			case u.Scheme == "file":
				p.state = stateFile
			case u.Special() && p.base != nil && p.base.Scheme == u.Scheme:
				p.state = stateSpecialRelativeOrAuthority
			case u.Special():
				p.state = stateSpecialAuthoritySlashes
			case p.remainingStartsWith("/"):
				p.state = statePathOrAuthority
				p.pointer++
			default:
				u.HasOpaquePath, u.OpaquePath = true, ""
				p.state = StateOpaquePath
			}
		case p.override == stateNone:
			p.buffer = p.buffer[:0]
			p.state = stateNoScheme
			p.pointer = -1
		default:
			return false, ErrInvalid
		}

	case stateNoScheme:
		b := p.base
		switch {
		case b == nil || (b.HasOpaquePath && c != '#'):
			return false, ErrInvalid
		case b.HasOpaquePath && c == '#':
			u.Scheme = b.Scheme
			u.HasOpaquePath, u.OpaquePath = true, b.OpaquePath
			u.Query, u.HasQuery = b.Query, b.HasQuery
			u.Fragment, u.HasFragment = "", true
			p.state = StateFragment
		case b.Scheme != "file":
			p.state = stateRelative
			p.pointer--
		default:
			p.state = stateFile
			p.pointer--
		}

	case stateSpecialRelativeOrAuthority:
		if c == '/' && p.remainingStartsWith("/") {
			p.state = stateSpecialAuthorityIgnoreSlashes
			p.pointer++
		} else {
			p.state = stateRelative
			p.pointer--
		}

	case statePathOrAuthority:
		if c == '/' {
			p.state = stateAuthority
		} else {
			p.state = statePath
			p.pointer--
		}

	case stateRelative:
		b := p.base
		u.Scheme = b.Scheme
		switch {
		case c == '/':
			p.state = stateRelativeSlash
		case u.Special() && c == '\\':
			p.state = stateRelativeSlash
		default:
			p.copyAuthority(b)
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
				u.shortenPath()
				p.state = statePath
				p.pointer--
			}
		}

	case stateRelativeSlash:
		switch {
		case u.Special() && (c == '/' || c == '\\'):
			p.state = stateSpecialAuthorityIgnoreSlashes
		case c == '/':
			p.state = stateAuthority
		default:
			p.copyAuthority(p.base)
			p.state = statePath
			p.pointer--
		}

	case stateSpecialAuthoritySlashes:
		p.state = stateSpecialAuthorityIgnoreSlashes
		if c == '/' && p.remainingStartsWith("/") {
			p.pointer++
		} else {
			p.pointer--
		}

	case stateSpecialAuthorityIgnoreSlashes:
		if c != '/' && c != '\\' {
			p.state = stateAuthority
			p.pointer--
		}
	}
	return false, nil
}
