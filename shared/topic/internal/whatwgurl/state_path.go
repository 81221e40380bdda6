package whatwgurl

import "strings"

// stepPath runs the states that read the path, query and fragment (URL
// Standard §4.4, path start state to fragment state).
func (p *parser) stepPath(c rune) (done bool, err error) {
	u := p.url
	switch p.state {
	case StatePathStart:
		switch {
		case u.Special():
			p.state = statePath
			if c != '/' && c != '\\' {
				p.pointer--
			}
		case p.override == stateNone && c == '?':
			u.Query, u.HasQuery = "", true
			p.state = StateQuery
		case p.override == stateNone && c == '#':
			u.Fragment, u.HasFragment = "", true
			p.state = StateFragment
		case c != eof:
			p.state = statePath
			if c != '/' {
				p.pointer--
			}
		case p.override != stateNone && u.HostKind == HostNull:
			u.Path = append(u.Path, "")
		}

	case statePath:
		slash := c == '/' || (u.Special() && c == '\\')
		if c == eof || slash || (p.override == stateNone && (c == '?' || c == '#')) {
			seg := string(p.buffer)
			switch {
			case isDoubleDot(seg):
				u.shortenPath()
				if !slash {
					u.Path = append(u.Path, "")
				}
			case isSingleDot(seg):
				if !slash {
					u.Path = append(u.Path, "")
				}
			default:
				if u.Scheme == "file" && len(u.Path) == 0 && isWindowsDriveLetter(p.buffer) {
					seg = seg[:1] + ":"
				}
				u.Path = append(u.Path, seg)
			}
			p.buffer = p.buffer[:0]
			switch c {
			case '?':
				u.Query, u.HasQuery = "", true
				p.state = StateQuery
			case '#':
				u.Fragment, u.HasFragment = "", true
				p.state = StateFragment
			}
		} else {
			p.buffer = appendPercentEncoded(p.buffer, c, &pathSet)
		}

	case StateOpaquePath:
		switch c {
		case '?':
			p.flushOpaque()
			u.Query, u.HasQuery = "", true
			p.state = StateQuery
		case '#':
			p.flushOpaque()
			u.Fragment, u.HasFragment = "", true
			p.state = StateFragment
		case ' ':
			if p.remainingStartsWith("?") || p.remainingStartsWith("#") {
				p.opaque.WriteString("%20")
			} else {
				p.opaque.WriteByte(' ')
			}
		case eof:
		default:
			writePercentEncoded(&p.opaque, c, &c0ControlSet)
		}

	case StateQuery:
		if (p.override == stateNone && c == '#') || c == eof {
			set := &querySet
			if u.Special() {
				set = &specialQuerySet
			}
			var b strings.Builder
			b.WriteString(u.Query)
			for _, cp := range p.buffer {
				writePercentEncoded(&b, cp, set)
			}
			u.Query = b.String()
			p.buffer = p.buffer[:0]
			if c == '#' {
				u.Fragment, u.HasFragment = "", true
				p.state = StateFragment
			}
		} else {
			p.buffer = append(p.buffer, c)
		}

	case StateFragment:
		if c != eof {
			writePercentEncoded(&p.fragment, c, &fragmentSet)
		}
	}
	return false, nil
}
