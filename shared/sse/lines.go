package sse

import (
	"bytes"
	"io"
	"math/bits"
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
	// shortLine is how many bytes of a line are scanned eight at a time,
	// which is fastest for short lines; the rest of a longer line is
	// searched with bytes.IndexByte, which is fastest for long ones.
	shortLine = 256
)

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
	// The scan state, which makes the work linear in the stream's length
	// however it is cut into reads and lines: buf[start:from] holds no CR
	// or LF; checkUTF8 is false if it is known to be all ASCII; and if
	// lfAt >= from, buf[lfAt] is the first LF at or after from, while if
	// lfAt is -1, buf[from:lfFrom] holds no LF.
	from         int
	checkUTF8    bool
	lfAt, lfFrom int
}

func (l *lineReader) init(r io.Reader, maxLine int) {
	l.r = r
	l.maxLine = maxLine
	// A partial line, plus up to 3 BOM bytes and the byte that ends it.
	l.maxBuf = max(minBufferSize, maxLine+4)
	l.lfAt = -1
}

// next returns the next line without its end-of-line, and whether the line
// is known to be all ASCII (if not, it may still be). The line is valid
// until the following call. ok is false at the end of the stream, where an
// unterminated last line is discarded, on a read error, and with err set to
// ErrLineTooLong when a line is longer than maxLine.
func (l *lineReader) next() (line []byte, ascii, ok bool, err error) {
	if !l.bomDone {
		l.stripBOM()
	}
	for {
		if l.skipLF {
			if l.start == l.end && !l.fill() {
				return nil, false, false, nil
			}
			if l.buf[l.start] == '\n' {
				l.start++
			}
			l.skipLF = false
		}
		if i := l.indexEOL(); i >= 0 {
			if i > l.maxLine {
				return nil, false, false, ErrLineTooLong
			}
			line, ascii = l.buf[l.start:l.start+i], !l.checkUTF8
			l.skipLF = l.buf[l.start+i] == '\r'
			l.start += i + 1
			l.checkUTF8 = false
			return line, ascii, true, nil
		}
		if l.end-l.start > l.maxLine {
			return nil, false, false, ErrLineTooLong
		}
		if !l.fill() {
			return nil, false, false, nil
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

// Masks for scanning eight bytes at a time.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
	lfs   = '\n' * ones
	crs   = '\r' * ones
)

// zeroBytes flags the zero bytes of x: its lowest set bit is the high bit of
// the first zero byte (bits above it may be false positives).
func zeroBytes(x uint64) uint64 { return (x - ones) &^ x & highs }

// le64 reads 8 bytes little-endian, which the compiler turns into one load
// (this is binary.LittleEndian.Uint64, whose package would import reflect).
func le64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// hasControl reports whether x has a byte below 0x0E, as CR and LF are: one
// cheap test per word, before zeroBytes locates them.
func hasControl(x uint64) bool { return (x-0x0E*ones)&^x&highs != 0 }

// indexEOL returns the offset from start of the first CR or LF in
// buf[start:end], or -1, continuing the search where the last call stopped.
// It reads the first shortLine bytes of a line eight at a time, noting
// whether they are all ASCII; past them it searches with bytes.IndexByte
// and leaves the UTF-8 check to the caller.
func (l *lineReader) indexEOL() int {
	b := l.buf[:l.end]
	i := max(l.from, l.start)
	short := min(len(b), l.start+shortLine)
	var high uint64
	for ; i+8 <= short; i += 8 {
		x := le64(b[i:])
		if !hasControl(x) {
			high |= x
			continue
		}
		if m := zeroBytes(x^lfs) | zeroBytes(x^crs); m != 0 {
			k := bits.TrailingZeros64(m) / 8
			high |= x & (1<<(8*k) - 1)
			i += k
			l.from, l.checkUTF8 = i, l.checkUTF8 || high&highs != 0
			return i - l.start
		}
		high |= x
	}
	l.checkUTF8 = l.checkUTF8 || high&highs != 0
	for ; i < short; i++ {
		switch c := b[i]; {
		case c == '\n' || c == '\r':
			l.from = i
			return i - l.start
		case c >= 0x80:
			l.checkUTF8 = true
		}
	}
	if i == len(b) {
		l.from = i
		return -1
	}
	// A long line.
	l.checkUTF8 = true
	limit := len(b)
	if lf := l.indexLF(i); lf >= 0 {
		limit = lf
	}
	if cr := bytes.IndexByte(b[i:limit], '\r'); cr >= 0 {
		limit = i + cr
	}
	l.from = limit
	if limit == len(b) {
		return -1
	}
	return limit - l.start
}

// indexLF returns the index in buf of the first LF in buf[i:end], or -1,
// reusing what earlier searches found, so that a stream of CR-ended lines
// is not searched for LF again and again.
func (l *lineReader) indexLF(i int) int {
	if l.lfAt >= i {
		return l.lfAt
	}
	from := max(l.lfFrom, i)
	if j := bytes.IndexByte(l.buf[from:l.end], '\n'); j >= 0 {
		l.lfAt, l.lfFrom = from+j, from+j
		return l.lfAt
	}
	l.lfAt, l.lfFrom = -1, l.end
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
		l.from = max(l.from-shift, 0)
		l.lfFrom = max(l.lfFrom-shift, 0)
		if l.lfAt >= shift {
			l.lfAt -= shift
		} else {
			l.lfAt = -1
		}
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
