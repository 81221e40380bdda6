package whatwgurl

import (
	"math"
	"strings"
	"unicode/utf8"
)

// Bootstring parameters for Punycode (RFC 3492 §5).
const (
	pcBase        = 36
	pcTMin        = 1
	pcTMax        = 26
	pcSkew        = 38
	pcDamp        = 700
	pcInitialBias = 72
	pcInitialN    = 128
)

// punycodeDecode decodes a Punycode label (RFC 3492 §6.2).
func punycodeDecode(s string) ([]rune, bool) {
	var output []rune
	if b := strings.LastIndexByte(s, '-'); b >= 0 {
		for i := range b {
			if s[i] >= utf8.RuneSelf {
				return nil, false
			}
			output = append(output, rune(s[i]))
		}
		s = s[b+1:]
	}
	n, i, bias := int64(pcInitialN), int64(0), int64(pcInitialBias)
	for in := 0; in < len(s); {
		oldi, w := i, int64(1)
		for k := int64(pcBase); ; k += pcBase {
			if in >= len(s) {
				return nil, false
			}
			digit, ok := punycodeDigit(s[in])
			in++
			if !ok || digit > (math.MaxInt32-i)/w {
				return nil, false
			}
			i += digit * w
			t := k - bias
			if t < pcTMin {
				t = pcTMin
			} else if t > pcTMax {
				t = pcTMax
			}
			if digit < t {
				break
			}
			if w > math.MaxInt32/(pcBase-t) {
				return nil, false
			}
			w *= pcBase - t
		}
		length := int64(len(output) + 1)
		bias = punycodeAdapt(i-oldi, length, oldi == 0)
		if i/length > math.MaxInt32-n {
			return nil, false
		}
		n += i / length
		i %= length
		if n > utf8.MaxRune || (n >= 0xD800 && n <= 0xDFFF) {
			return nil, false
		}
		output = append(output, 0)
		copy(output[i+1:], output[i:])
		output[i] = rune(n)
		i++
	}
	return output, true
}

// punycodeEncode encodes a label as Punycode (RFC 3492 §6.3).
func punycodeEncode(input []rune) (string, bool) {
	var out strings.Builder
	basic := 0
	for _, r := range input {
		if r < utf8.RuneSelf {
			out.WriteByte(byte(r))
			basic++
		}
	}
	if basic > 0 {
		out.WriteByte('-')
	}
	n, delta, bias := int64(pcInitialN), int64(0), int64(pcInitialBias)
	for h := int64(basic); h < int64(len(input)); {
		m := int64(math.MaxInt32)
		for _, r := range input {
			if int64(r) >= n && int64(r) < m {
				m = int64(r)
			}
		}
		if m-n > (math.MaxInt32-delta)/(h+1) {
			return "", false
		}
		delta += (m - n) * (h + 1)
		n = m
		for _, r := range input {
			if int64(r) < n {
				delta++
				if delta > math.MaxInt32 {
					return "", false
				}
			}
			if int64(r) != n {
				continue
			}
			q := delta
			for k := int64(pcBase); ; k += pcBase {
				t := k - bias
				if t < pcTMin {
					t = pcTMin
				} else if t > pcTMax {
					t = pcTMax
				}
				if q < t {
					break
				}
				out.WriteByte(punycodeDigitChar(t + (q-t)%(pcBase-t)))
				q = (q - t) / (pcBase - t)
			}
			out.WriteByte(punycodeDigitChar(q))
			bias = punycodeAdapt(delta, h+1, h == int64(basic))
			delta = 0
			h++
		}
		delta++
		n++
	}
	return out.String(), true
}

// punycodeAdapt is the bias adaptation function (RFC 3492 §6.1).
func punycodeAdapt(delta, numPoints int64, first bool) int64 {
	if first {
		delta /= pcDamp
	} else {
		delta /= 2
	}
	delta += delta / numPoints
	k := int64(0)
	for delta > ((pcBase-pcTMin)*pcTMax)/2 {
		delta /= pcBase - pcTMin
		k += pcBase
	}
	return k + (pcBase-pcTMin+1)*delta/(delta+pcSkew)
}

func punycodeDigit(c byte) (int64, bool) {
	switch {
	case c >= '0' && c <= '9':
		return int64(c-'0') + 26, true
	case c >= 'a' && c <= 'z':
		return int64(c - 'a'), true
	case c >= 'A' && c <= 'Z':
		return int64(c - 'A'), true
	}
	return 0, false
}

func punycodeDigitChar(d int64) byte {
	if d < 26 {
		return byte('a' + d)
	}
	return byte('0' + d - 26)
}
