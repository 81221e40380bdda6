package sse

import (
	"strconv"
	"strings"
)

// AppendEvent appends e to dst in the text/event-stream format (WHATWG HTML
// §9.2.5) and returns the extended buffer. It writes, in order, an "id" line
// when e.ID is not empty, an "event" line when e.Type is not empty, a "retry"
// line when e.Retry is positive, one "data" line per line of e.Data, and a
// blank line that makes clients dispatch the event.
//
// Fields are written as "name: value", with one space after the colon, so a
// value that itself begins with a space survives parsing. Every CR, LF or
// CRLF in e.Data starts a new data line, and empty Data still writes one
// "data:" line, so the event is dispatched with empty data.
//
// If e is not valid (see Event.Validate), AppendEvent returns dst unchanged
// and the error. It does not allocate when dst has enough capacity.
func AppendEvent(dst []byte, e Event) ([]byte, error) {
	if err := e.Validate(); err != nil {
		return dst, err
	}
	if e.ID != "" {
		dst = append(dst, "id: "...)
		dst = append(dst, e.ID...)
		dst = append(dst, '\n')
	}
	if e.Type != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, e.Type...)
		dst = append(dst, '\n')
	}
	if e.Retry > 0 {
		dst = AppendRetry(dst, e.Retry)
	}
	dst = appendLines(dst, "data", e.Data)
	return append(dst, '\n'), nil
}

// AppendComment appends text to dst as comment lines, which clients ignore
// (WHATWG HTML §9.2.6); hubs send them as heartbeats to keep intermediaries
// from closing idle streams. Each line of text, split on CR, LF and CRLF as
// AppendEvent splits data, becomes one line starting with ":", so text cannot
// inject fields. NUL needs no escaping in a comment. Empty text writes a
// single ":" line.
//
// AppendComment writes no blank line: a comment between two events needs
// none, and it cannot end a block. It never fails and never allocates when
// dst has enough capacity.
func AppendComment(dst []byte, text string) []byte {
	return appendLines(dst, "", text)
}

// AppendRetry appends a "retry" field to dst, which sets a client's
// reconnection time to ms milliseconds (WHATWG HTML §9.2.6). Clients apply
// it as soon as they read the line, so no blank line follows. A negative ms
// is not representable in the format (clients ignore anything but ASCII
// digits), so AppendRetry then returns dst unchanged; use AppendEvent or
// Event.Validate to get an error instead.
func AppendRetry(dst []byte, ms int) []byte {
	if ms < 0 {
		return dst
	}
	dst = append(dst, "retry: "...)
	dst = strconv.AppendInt(dst, int64(ms), 10)
	return append(dst, '\n')
}

// appendLines appends one "name: line" line for each line of s, where CR, LF
// and CRLF end lines (WHATWG HTML §9.2.5, "end-of-line"). An empty line is
// written as "name:" without the space; an empty name writes comment lines
// ":line". The search for LF is cached so that input made of CRs alone stays
// linear.
func appendLines(dst []byte, name, s string) []byte {
	lf := -1 // index of the first LF at or after i, or len(s)
	for i := 0; ; {
		if lf < i {
			if lf = strings.IndexByte(s[i:], '\n'); lf < 0 {
				lf = len(s)
			} else {
				lf += i
			}
		}
		end := lf
		if cr := strings.IndexByte(s[i:lf], '\r'); cr >= 0 {
			end = i + cr
		}
		dst = append(dst, name...)
		dst = append(dst, ':')
		if name != "" && end > i {
			dst = append(dst, ' ')
		}
		dst = append(dst, s[i:end]...)
		dst = append(dst, '\n')
		if end == len(s) {
			return dst
		}
		i = end + 1
		if s[end] == '\r' && i < len(s) && s[i] == '\n' {
			i++
		}
	}
}
