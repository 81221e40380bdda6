package sse

import (
	"bytes"
	"errors"
	"io"
)

// This file is the lowest level of the Parser: it reads the stream into a
// buffer and cuts it into lines (WHATWG HTML §9.2.5 "end-of-line": CRLF, LF
// or CR), stripping one leading byte order mark (§9.2.6).

const (
	// bom is U+FEFF BYTE ORDER MARK in UTF-8.
	bom = "\xEF\xBB\xBF"
	// minBufferSize is the read buffer's initial size.
	minBufferSize = 16 << 10
	// maxEmptyReads is how many (0, nil) reads in a row fill tolerates.
	maxEmptyReads = 100
)

// errBadRead reports an io.Reader returning an impossible count.
var errBadRead = errors.New("sse: reader returned an invalid count")

// lineReader cuts a stream into lines. Its indexes are offsets into buf;
// buf[start:end] holds the bytes not yet consumed.
type lineReader struct {
	r          io.Reader
	buf        []byte
	start, end int
	maxLine    int   // longest line allowed, without its end-of-line
	maxBuf     int   // largest buf allowed
	rerr       error // the reader's first error, io.EOF at the end
	bomDone    bool  // the leading BOM was stripped or ruled out
	skipLF     bool  // the last line ended in CR: a next LF belongs to it
	// The scan state: buf[start:lfFrom] holds no LF; if lfAt >= start,
	// buf[lfAt] is the first LF at or after start. buf[start:crFrom] holds
	// no CR. They keep a stream of CR-ended lines, or a long line read in
	// small pieces, from being scanned more than once.
	lfAt, lfFrom, crFrom int
}

func (l *lineReader) init(r io.Reader, maxLine int) {
	l.r = r
	l.maxLine = maxLine
	// A partial line, plus up to 3 BOM bytes and the byte that ends it.
	l.maxBuf = max(minBufferSize, maxLine+4)
	l.lfAt = -1
}

// next returns the next line without its end-of-line. The line is valid until
// the following call. ok is false at the end of the stream, where an
// unterminated last line is discarded, on a read error, and with err set to
// ErrLineTooLong when a line is longer than maxLine.
func (l *lineReader) next() (line []byte, ok bool, err error) {
	if !l.bomDone {
		l.stripBOM()
	}
	for {
		if l.skipLF {
			if l.start == l.end && !l.fill() {
				return nil, false, nil
			}
			if l.buf[l.start] == '\n' {
				l.start++
			}
			l.skipLF = false
		}
		if i := l.indexEOL(); i >= 0 {
			if i > l.maxLine {
				return nil, false, ErrLineTooLong
			}
			line = l.buf[l.start : l.start+i]
			l.skipLF = l.buf[l.start+i] == '\r'
			l.start += i + 1
			return line, true, nil
		}
		if l.end-l.start > l.maxLine {
			return nil, false, ErrLineTooLong
		}
		if !l.fill() {
			return nil, false, nil
		}
	}
}

// stripBOM skips one leading U+FEFF, as the UTF-8 decode algorithm does
// (WHATWG Encoding §6 "UTF-8 decode"); a second one is text.
func (l *lineReader) stripBOM() {
	for l.end-l.start < len(bom) {
		if string(l.buf[l.start:l.end]) != bom[:l.end-l.start] || !l.fill() {
			break
		}
	}
	if l.end-l.start >= len(bom) && string(l.buf[l.start:l.start+len(bom)]) == bom {
		l.start += len(bom)
	}
	l.bomDone = true
}

// indexEOL returns the offset from start of the first CR or LF in
// buf[start:end], or -1.
func (l *lineReader) indexEOL() int {
	if l.lfAt < l.start {
		from := max(l.lfFrom, l.start)
		if i := bytes.IndexByte(l.buf[from:l.end], '\n'); i >= 0 {
			l.lfAt, l.lfFrom = from+i, from+i
		} else {
			l.lfAt, l.lfFrom = -1, l.end
		}
	}
	limit := l.end
	if l.lfAt >= 0 {
		limit = l.lfAt
	}
	from := max(l.crFrom, l.start)
	if i := bytes.IndexByte(l.buf[from:limit], '\r'); i >= 0 {
		l.crFrom = from + i
		return from + i - l.start
	}
	l.crFrom = limit
	if l.lfAt >= 0 {
		return l.lfAt - l.start
	}
	return -1
}

// fill reads more of the stream into buf, moving the unconsumed bytes to
// the front and growing buf up to maxBuf as needed. It reports whether it
// read anything; once the reader fails, it never does again.
func (l *lineReader) fill() bool {
	if l.rerr != nil {
		return false
	}
	if l.start > 0 {
		n := copy(l.buf, l.buf[l.start:l.end])
		shift := l.start
		l.start, l.end = 0, n
		if l.lfAt >= shift {
			l.lfAt -= shift
		} else {
			l.lfAt = -1
		}
		l.lfFrom = max(l.lfFrom-shift, 0)
		l.crFrom = max(l.crFrom-shift, 0)
	}
	if l.end == len(l.buf) {
		if len(l.buf) >= l.maxBuf {
			// Unreachable: next reports ErrLineTooLong first.
			l.rerr = ErrLineTooLong
			return false
		}
		buf := make([]byte, min(max(2*len(l.buf), minBufferSize), l.maxBuf))
		copy(buf, l.buf[:l.end])
		l.buf = buf
	}
	for range maxEmptyReads {
		n, err := l.r.Read(l.buf[l.end:])
		if n < 0 || n > len(l.buf)-l.end {
			l.rerr = errBadRead
			return false
		}
		l.end += n
		if err != nil {
			l.rerr = err
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	l.rerr = io.ErrNoProgress
	return false
}
