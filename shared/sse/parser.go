package sse

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"
)

// maxFieldName is the length of the longest field name the Parser
// processes, "retry" and "event".
const maxFieldName = 5

// Default limits of a Parser, used when a Config field is 0 or negative.
const (
	DefaultMaxLineSize  = 64 << 10
	DefaultMaxEventSize = 1 << 20
)

// Config bounds a Parser's memory and sets its starting state. Its zero
// value is ready to use.
type Config struct {
	// MaxLineSize is the longest line accepted, in bytes, not counting its
	// end-of-line; a longer line stops the Parser with ErrLineTooLong.
	// 0 means DefaultMaxLineSize.
	MaxLineSize int
	// MaxEventSize is the largest data buffer accepted, in bytes of UTF-8
	// after decoding, counting the LF added after each data line (WHATWG HTML
	// §9.2.6); a larger one stops the Parser with ErrEventTooLarge.
	// 0 means DefaultMaxEventSize.
	MaxEventSize int
	// LastEventID is the last event ID the stream starts with, as for an
	// EventSource that reconnected with this Last-Event-ID: events dispatched
	// before the stream sets an id carry it.
	LastEventID string
}

// Kind says what Parser.Next stopped at.
type Kind uint8

const (
	// KindEvent is a dispatched event; read it with Parser.Event.
	KindEvent Kind = iota + 1
	// KindRetry is a valid retry field; read it with Parser.Retry.
	KindRetry
)

// Parser reads an event stream and interprets it as WHATWG HTML §9.2.6
// "Interpreting an event stream" specifies. Create one with NewParser, call
// Next until it returns false, then check Err.
//
// Whatever the stream, a Parser holds at most max(16 KiB, MaxLineSize+4)
// bytes of input, MaxEventSize+3×MaxLineSize+1 bytes of data buffer, and an
// event type and two ids of about 3×MaxLineSize bytes each at most (U+FFFD
// replacement can triple a line). Next does not allocate once the buffers
// have grown; Event makes one allocation per event, and one more when the
// event type differs from the previous event's. A Parser is not safe for
// concurrent use.
type Parser struct {
	lines    lineReader
	maxEvent int
	err      error

	// The buffers of §9.2.6, and the last event ID string (lastEventID)
	// set from the last event ID buffer at each dispatch. The data buffer
	// is dataBuffer[:dataLen].
	dataBuffer        []byte
	dataLen           int
	eventTypeBuffer   []byte
	lastEventIDBuffer []byte
	lastEventID       []byte

	kind       Kind
	retry      int
	dispatched bool // Next returned an event: reset the buffers first

	// Strings made from the buffers, kept while the bytes do not change.
	idString   string
	idStale    bool
	typeString string
}

// NewParser returns a Parser that reads the event stream from r with the
// limits and starting last event ID of cfg.
func NewParser(r io.Reader, cfg Config) *Parser {
	maxLine, maxEvent := cfg.MaxLineSize, cfg.MaxEventSize
	if maxLine <= 0 {
		maxLine = DefaultMaxLineSize
	}
	if maxEvent <= 0 {
		maxEvent = DefaultMaxEventSize
	}
	p := &Parser{maxEvent: maxEvent, idString: cfg.LastEventID}
	p.lines.init(r, maxLine)
	p.lastEventIDBuffer = []byte(cfg.LastEventID)
	p.lastEventID = []byte(cfg.LastEventID)
	return p
}

// Next advances to the next dispatched event (Kind KindEvent) or the next
// valid retry field (Kind KindRetry), in stream order, and reports whether
// there is one. It returns as soon as it has read the line that completes
// either, without waiting for more input, as a live stream needs. It returns
// false at the end of the stream, where a last block that no blank line
// ended is discarded (§9.2.6), and on error; Err tells which.
func (p *Parser) Next() bool {
	p.kind = 0
	if p.dispatched {
		p.dataLen = 0
		p.eventTypeBuffer = p.eventTypeBuffer[:0]
		p.dispatched = false
	}
	for p.err == nil {
		line, ascii, ok, err := p.lines.next()
		if !ok {
			if err != nil {
				p.err = limitError(err, p.lines.maxLine)
			} else if rerr := p.lines.rerr; rerr != nil && rerr != io.EOF {
				p.err = readError(rerr)
			}
			return false
		}
		// "If the line is empty (a blank line): Dispatch the event."
		if len(line) == 0 {
			if p.dispatch() {
				p.kind = KindEvent
				return true
			}
			continue
		}
		// "If the line starts with a U+003A COLON character (:): Ignore the line."
		if line[0] == ':' {
			continue
		}
		name, value, ok := cutField(line)
		if !ok {
			continue
		}
		if p.processField(name, value, ascii) {
			p.kind = KindRetry
			return true
		}
	}
	return false
}

// cutField splits a line that is not blank and not a comment into its field
// name and value (§9.2.6): "If the line contains a U+003A COLON character",
// the name is what precedes the first colon and the value what follows it,
// less one leading U+0020 SPACE; "otherwise" the whole line is the name and
// the value is empty. A name longer than "retry" is none of the four fields
// the spec processes, so the colon is looked for in the first
// len("retry:") bytes only, and ok is false for a longer name.
func cutField(line []byte) (name, value []byte, ok bool) {
	for i, c := range line[:min(len(line), maxFieldName+1)] {
		if c == ':' {
			value = line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
			return line[:i], value, true
		}
	}
	return line, nil, len(line) <= maxFieldName
}

// processField applies one field (§9.2.6 "process the field") and reports
// whether it was a valid retry field. ascii says that value needs no UTF-8
// decoding.
func (p *Parser) processField(name, value []byte, ascii bool) (retry bool) {
	switch string(name) {
	case "event":
		if ascii {
			p.eventTypeBuffer = append(p.eventTypeBuffer[:0], value...)
		} else {
			p.eventTypeBuffer = appendUTF8(p.eventTypeBuffer[:0], value)
		}
	case "data":
		// "Append the field value to the data buffer, then append a single
		// U+000A LINE FEED (LF) character to the data buffer."
		// The buffer's length is kept in dataLen, so that the hot path
		// writes no pointer (and pays no GC write barrier).
		n := p.dataLen
		if ascii || utf8.Valid(value) {
			if n+len(value)+1 > p.maxEvent {
				p.err = limitError(ErrEventTooLarge, p.maxEvent)
				return false
			}
			p.growData(len(value) + 1)
			n += copy(p.dataBuffer[n:], value)
		} else {
			// Each invalid byte may become the 3 bytes of U+FFFD.
			p.growData(3*len(value) + 1)
			n = len(appendUTF8(p.dataBuffer[:n], value))
			if n+1 > p.maxEvent {
				p.err = limitError(ErrEventTooLarge, p.maxEvent)
				return false
			}
		}
		p.dataBuffer[n] = '\n'
		p.dataLen = n + 1
	case "id":
		// "If the field value does not contain U+0000 NULL, then set the
		// last event ID buffer to the field value. Otherwise, ignore the field."
		if bytes.IndexByte(value, 0) >= 0 {
			break
		}
		if ascii {
			p.lastEventIDBuffer = append(p.lastEventIDBuffer[:0], value...)
		} else {
			p.lastEventIDBuffer = appendUTF8(p.lastEventIDBuffer[:0], value)
		}
	case "retry":
		// "If the field value consists of only ASCII digits, then interpret
		// the field value as an integer in base ten, and set the event
		// stream's reconnection time to that integer."
		if ms, ok := parseRetry(value); ok {
			p.retry = ms
			return true
		}
	}
	// "Otherwise: The field is ignored."
	return false
}

// growData makes room for n more bytes after dataLen. Unlike append, it
// never grows the buffer past maxEvent+3*maxLine+1 bytes, the most a line
// can need while the data buffer is within maxEvent.
func (p *Parser) growData(n int) {
	if len(p.dataBuffer)-p.dataLen >= n {
		return
	}
	size := min(max(2*len(p.dataBuffer), 512), p.maxEvent+3*p.lines.maxLine+1)
	b := make([]byte, max(size, p.dataLen+n))
	copy(b, p.dataBuffer[:p.dataLen])
	p.dataBuffer = b
}

// parseRetry parses a retry value made only of ASCII digits. It rejects an
// empty value, for which there is no integer to interpret, and a value too
// large for an int.
func parseRetry(value []byte) (int, bool) {
	if len(value) == 0 {
		return 0, false
	}
	const maxInt = int(^uint(0) >> 1)
	n := 0
	for _, c := range value {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int(c - '0')
		if n > (maxInt-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// dispatch performs §9.2.6 "dispatch the event" and reports whether an
// event is to be delivered. The buffers are reset by the next call to Next,
// so that Event can still read them.
func (p *Parser) dispatch() bool {
	// 1. "Set the last event ID string of the event source to the value of
	// the last event ID buffer."
	if !bytes.Equal(p.lastEventID, p.lastEventIDBuffer) {
		p.lastEventID = append(p.lastEventID[:0], p.lastEventIDBuffer...)
		p.idStale = true
	}
	// 2. "If the data buffer is an empty string, set the data buffer and the
	// event type buffer to the empty string and return."
	if p.dataLen == 0 {
		p.eventTypeBuffer = p.eventTypeBuffer[:0]
		return false
	}
	p.dispatched = true
	return true
}

// Kind returns what the last call to Next stopped at, or 0 if it returned
// false.
func (p *Parser) Kind() Kind { return p.kind }

// Event returns the event Next stopped at (Kind KindEvent), built as §9.2.6
// "dispatch the event" builds a MessageEvent: Data is the data buffer less
// its final LF, Type is the event type buffer or "message" when that is
// empty, and ID is the last event ID string. Retry is 0. Event returns the
// zero Event when Kind is not KindEvent. The strings stay valid after Next;
// each call copies Data anew.
func (p *Parser) Event() Event {
	if p.kind != KindEvent {
		return Event{}
	}
	typ := "message"
	if len(p.eventTypeBuffer) > 0 {
		if string(p.eventTypeBuffer) != p.typeString {
			p.typeString = string(p.eventTypeBuffer)
		}
		typ = p.typeString
	}
	data := p.dataBuffer[:p.dataLen-1]
	if !p.idStale {
		return Event{ID: p.idString, Type: typ, Data: string(data)}
	}
	// A new id: copy it and the data into one allocation. The id string
	// then keeps this event's data alive until the id changes again.
	var b strings.Builder
	b.Grow(len(p.lastEventID) + len(data))
	b.Write(p.lastEventID)
	b.Write(data)
	s := b.String()
	p.idString, p.idStale = s[:len(p.lastEventID)], false
	return Event{ID: p.idString, Type: typ, Data: s[len(p.idString):]}
}

// Retry returns the reconnection time in milliseconds set by the retry
// field Next stopped at (Kind KindRetry), and 0 otherwise. A retry value
// made of digits but too large for an int is ignored, like one that is not
// all digits.
func (p *Parser) Retry() int {
	if p.kind != KindRetry {
		return 0
	}
	return p.retry
}

// LastEventID returns the event source's last event ID string (§9.2.6): the
// last event ID buffer as of the last blank line. A block that dispatches no
// event still sets it; an id in a block that is never ended does not. A
// client sends it as Last-Event-ID when it reconnects.
func (p *Parser) LastEventID() string {
	if p.idStale {
		p.idString = string(p.lastEventID)
		p.idStale = false
	}
	return p.idString
}

// Err returns the error that stopped the Parser, or nil if it reached the end
// of the stream. Limit errors match ErrLineTooLong or ErrEventTooLarge with
// errors.Is; a read error is wrapped.
func (p *Parser) Err() error { return p.err }
