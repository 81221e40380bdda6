package whatwgurl

import (
	"strconv"
	"strings"
)

// ipv4NumberCap bounds parsed IPv4 numbers; anything at or above it fails the
// range checks anyway, and capping keeps arithmetic from overflowing.
const ipv4NumberCap = 1 << 40

// parseIPv4 implements the IPv4 parser (URL Standard §3.5 "Host parsing").
func parseIPv4(s string) (uint32, bool) {
	parts := strings.Split(s, ".")
	if parts[len(parts)-1] == "" && len(parts) > 1 {
		parts = parts[:len(parts)-1]
	}
	if len(parts) > 4 {
		return 0, false
	}
	var numbers [4]uint64
	for i, p := range parts {
		n, ok := parseIPv4Number(p)
		if !ok {
			return 0, false
		}
		numbers[i] = n
	}
	last := len(parts) - 1
	for _, n := range numbers[:last] {
		if n > 255 {
			return 0, false
		}
	}
	if numbers[last] >= 1<<(8*(5-len(parts))) {
		return 0, false
	}
	ipv4 := numbers[last]
	for i, n := range numbers[:last] {
		ipv4 += n << (8 * (3 - i))
	}
	return uint32(ipv4), true
}

// parseIPv4Number implements the IPv4 number parser; the validation error
// flag is not needed here.
func parseIPv4Number(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	radix := uint64(10)
	switch {
	case len(s) >= 2 && (s[:2] == "0x" || s[:2] == "0X"):
		s, radix = s[2:], 16
	case len(s) >= 2 && s[0] == '0':
		s, radix = s[1:], 8
	}
	var n uint64
	for i := range len(s) {
		d, ok := digitValue(s[i])
		if !ok || d >= radix {
			return 0, false
		}
		n = min(n*radix+d, ipv4NumberCap)
	}
	return n, true
}

func digitValue(c byte) (uint64, bool) {
	switch {
	case c >= '0' && c <= '9':
		return uint64(c - '0'), true
	case c >= 'a' && c <= 'f':
		return uint64(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return uint64(c-'A') + 10, true
	}
	return 0, false
}

// serializeIPv4 implements the IPv4 serializer (URL Standard §3.6).
func serializeIPv4(v uint32) string {
	return strconv.Itoa(int(v>>24)) + "." + strconv.Itoa(int(v>>16&0xFF)) + "." +
		strconv.Itoa(int(v>>8&0xFF)) + "." + strconv.Itoa(int(v&0xFF))
}

// parseIPv6 implements the IPv6 parser (URL Standard §3.5).
func parseIPv6(input string) ([8]uint16, bool) {
	var address [8]uint16
	pieceIndex, compress := 0, -1
	p := 0
	at := func(i int) int {
		if i < len(input) {
			return int(input[i])
		}
		return -1
	}
	if at(p) == ':' {
		if at(p+1) != ':' {
			return address, false
		}
		p += 2
		pieceIndex++
		compress = pieceIndex
	}
	for at(p) != -1 {
		if pieceIndex == 8 {
			return address, false
		}
		if at(p) == ':' {
			if compress != -1 {
				return address, false
			}
			p++
			pieceIndex++
			compress = pieceIndex
			continue
		}
		value, length := 0, 0
		for length < 4 && at(p) != -1 && isASCIIHexDigit(rune(at(p))) {
			d, _ := digitValue(byte(at(p)))
			value = value*0x10 + int(d)
			p++
			length++
		}
		if at(p) == '.' {
			if length == 0 {
				return address, false
			}
			p -= length
			if pieceIndex > 6 {
				return address, false
			}
			numbersSeen := 0
			for at(p) != -1 {
				ipv4Piece := -1
				if numbersSeen > 0 {
					if at(p) == '.' && numbersSeen < 4 {
						p++
					} else {
						return address, false
					}
				}
				if at(p) == -1 || !isASCIIDigit(rune(at(p))) {
					return address, false
				}
				for at(p) != -1 && isASCIIDigit(rune(at(p))) {
					number := at(p) - '0'
					switch ipv4Piece {
					case -1:
						ipv4Piece = number
					case 0:
						return address, false
					default:
						ipv4Piece = ipv4Piece*10 + number
					}
					if ipv4Piece > 255 {
						return address, false
					}
					p++
				}
				address[pieceIndex] = address[pieceIndex]*0x100 + uint16(ipv4Piece)
				numbersSeen++
				if numbersSeen == 2 || numbersSeen == 4 {
					pieceIndex++
				}
			}
			if numbersSeen != 4 {
				return address, false
			}
			break
		} else if at(p) == ':' {
			p++
			if at(p) == -1 {
				return address, false
			}
		} else if at(p) != -1 {
			return address, false
		}
		address[pieceIndex] = uint16(value)
		pieceIndex++
	}
	if compress != -1 {
		swaps := pieceIndex - compress
		pieceIndex = 7
		for pieceIndex != 0 && swaps > 0 {
			address[pieceIndex], address[compress+swaps-1] = address[compress+swaps-1], address[pieceIndex]
			pieceIndex--
			swaps--
		}
	} else if pieceIndex != 8 {
		return address, false
	}
	return address, true
}

// serializeIPv6 implements the IPv6 serializer (URL Standard §3.6).
func serializeIPv6(address [8]uint16) string {
	var b strings.Builder
	compress := compressedPieceIndex(address)
	ignore0 := false
	for i, piece := range address {
		if ignore0 && piece == 0 {
			continue
		}
		ignore0 = false
		if compress == i {
			if i == 0 {
				b.WriteString("::")
			} else {
				b.WriteByte(':')
			}
			ignore0 = true
			continue
		}
		b.WriteString(strconv.FormatUint(uint64(piece), 16))
		if i != 7 {
			b.WriteByte(':')
		}
	}
	return b.String()
}

// compressedPieceIndex implements "find the IPv6 address compressed piece
// index"; -1 stands for null.
func compressedPieceIndex(address [8]uint16) int {
	longestIndex, longestSize := -1, 1
	foundIndex, foundSize := -1, 0
	for i, piece := range address {
		if piece != 0 {
			if foundSize > longestSize {
				longestIndex, longestSize = foundIndex, foundSize
			}
			foundIndex, foundSize = -1, 0
			continue
		}
		if foundIndex == -1 {
			foundIndex = i
		}
		foundSize++
	}
	if foundSize > longestSize {
		return foundIndex
	}
	return longestIndex
}
