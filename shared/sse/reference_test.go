package sse_test

import (
	"strconv"
	"strings"

	"github.com/edge-sse/edge-sse/shared/sse"
)

// This file is a slow, literal transcription of the specifications, used to
// check the Parser on arbitrary input: it decodes the whole stream first,
// then splits lines and interprets them, as the text of WHATWG HTML §9.2.6
// reads. It has no limits.

// refDecode is the WHATWG Encoding Standard's "UTF-8 decode" (§6): strip one
// BOM, then run the "UTF-8 decoder" (§4.1) step by step, with its bytes
// needed, bytes seen and boundaries.
func refDecode(in []byte) string {
	if len(in) >= 3 && in[0] == 0xEF && in[1] == 0xBB && in[2] == 0xBF {
		in = in[3:]
	}
	return refDecoder(in)
}

// refDecoder is the "UTF-8 decoder" of the WHATWG Encoding Standard, §4.1.
func refDecoder(in []byte) string {
	var out strings.Builder
	codePoint, bytesSeen, bytesNeeded := 0, 0, 0
	lower, upper := byte(0x80), byte(0xBF)
	for i := 0; ; i++ {
		if i == len(in) {
			if bytesNeeded != 0 {
				out.WriteRune('\uFFFD')
			}
			return out.String()
		}
		b := in[i]
		if bytesNeeded == 0 {
			switch {
			case b <= 0x7F:
				out.WriteByte(b)
			case 0xC2 <= b && b <= 0xDF:
				bytesNeeded, codePoint = 1, int(b&0x1F)
			case 0xE0 <= b && b <= 0xEF:
				if b == 0xE0 {
					lower = 0xA0
				}
				if b == 0xED {
					upper = 0x9F
				}
				bytesNeeded, codePoint = 2, int(b&0xF)
			case 0xF0 <= b && b <= 0xF4:
				if b == 0xF0 {
					lower = 0x90
				}
				if b == 0xF4 {
					upper = 0x8F
				}
				bytesNeeded, codePoint = 3, int(b&0x7)
			default:
				out.WriteRune('\uFFFD')
			}
			continue
		}
		if b < lower || b > upper {
			codePoint, bytesNeeded, bytesSeen = 0, 0, 0
			lower, upper = 0x80, 0xBF
			out.WriteRune('\uFFFD')
			i-- // "Restore byte to ioQueue."
			continue
		}
		lower, upper = 0x80, 0xBF
		codePoint = codePoint<<6 | int(b&0x3F)
		bytesSeen++
		if bytesSeen != bytesNeeded {
			continue
		}
		out.WriteRune(rune(codePoint))
		codePoint, bytesNeeded, bytesSeen = 0, 0, 0
	}
}

// refParse interprets a whole stream as WHATWG HTML §9.2.6 says.
func refParse(in []byte, lastEventID string) result {
	text := refDecode(in)
	var res result
	var data strings.Builder
	eventType, idBuffer := "", lastEventID
	for {
		// Lines end in CRLF, LF or CR; text after the last one is discarded.
		i := strings.IndexAny(text, "\r\n")
		if i < 0 {
			break
		}
		line := text[:i]
		if strings.HasPrefix(text[i:], "\r\n") {
			text = text[i+2:]
		} else {
			text = text[i+1:]
		}
		switch {
		case line == "":
			lastEventID = idBuffer
			if data.Len() == 0 {
				data.Reset()
				eventType = ""
				continue
			}
			e := sse.Event{Type: "message", Data: strings.TrimSuffix(data.String(), "\n"), ID: lastEventID}
			if eventType != "" {
				e.Type = eventType
			}
			res.Items = append(res.Items, item{Kind: sse.KindEvent, Event: e})
			data.Reset()
			eventType = ""
		case line[0] == ':':
		default:
			field, value, found := strings.Cut(line, ":")
			if found {
				value = strings.TrimPrefix(value, " ")
			}
			switch field {
			case "event":
				eventType = value
			case "data":
				data.WriteString(value)
				data.WriteByte('\n')
			case "id":
				if !strings.Contains(value, "\x00") {
					idBuffer = value
				}
			case "retry":
				if value != "" && strings.Trim(value, "0123456789") == "" {
					if n, err := strconv.ParseInt(value, 10, 0); err == nil {
						res.Items = append(res.Items, item{Kind: sse.KindRetry, Retry: int(n)})
					}
				}
			}
		}
	}
	res.LastEventID = lastEventID
	return res
}
