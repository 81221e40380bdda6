package wasmcheck

import (
	"math"
	"math/rand/v2"
	"strings"
)

// gen draws the random inputs of one case.
type gen struct {
	r *rand.Rand
}

// tokens are the pieces random text is made of: the bytes and sequences the
// SSE spec and the codecs treat specially (line endings, NUL, colons and
// spaces, field names, BOMs, digits), valid multi-byte UTF-8, and invalid
// UTF-8 (a lone continuation byte, truncated sequences, an encoded
// surrogate, an overlong encoding, bytes never valid).
var tokens = []string{
	"a", "b", "z", "Q", "0", "1", "9", "42", " ", "  ", ":", ": ", "\t", "-", "/", "\\",
	"data", "id", "event", "retry", "message",
	"\r", "\n", "\r\n", "\n\r", "\r\r", "\n\n", "\x00",
	"\ufeff", "\ufeff\ufeff", "\xef\xbb", "\xfe\xff",
	"é", "€", "😀", "\u2028", "\u0085", "\u200b",
	"\x80", "\xc3", "\xe2\x82", "\xf0\x9f\x98", "\xed\xa0\x80", "\xc0\xaf", "\xff", "\xf8\x88\x80\x80\x80",
}

// cleanTokens are tokens without CR, LF or NUL, for fields the encoder
// accepts.
var cleanTokens = func() []string {
	var out []string
	for _, t := range tokens {
		if !strings.ContainsAny(t, "\r\n\x00") {
			out = append(out, t)
		}
	}
	return out
}()

func (g *gen) intn(n int) int { return g.r.IntN(n) }

func (g *gen) chance(percent int) bool { return g.r.IntN(100) < percent }

func (g *gen) pick(list []string) string { return list[g.r.IntN(len(list))] }

// text returns up to maxTokens tokens, with a random byte now and then.
func (g *gen) text(maxTokens int, from []string) string {
	var b strings.Builder
	for range g.intn(maxTokens + 1) {
		if g.chance(5) {
			b.WriteByte(byte(g.r.UintN(256)))
			continue
		}
		b.WriteString(g.pick(from))
	}
	return b.String()
}

// field returns text for an id or event type: mostly one the encoder
// accepts, sometimes one it must refuse.
func (g *gen) field() string {
	if g.chance(75) {
		return g.text(4, cleanTokens)
	}
	return g.text(6, tokens)
}

// bytes returns n random bytes, every value possible.
func (g *gen) bytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.r.UintN(256))
	}
	return b
}

// retry returns an SSE reconnection time: none, negative, small, or large.
func (g *gen) retry() int {
	switch g.intn(6) {
	case 0, 1:
		return 0
	case 2:
		return -1 - g.intn(1000)
	case 3:
		return math.MaxInt
	}
	return g.intn(100000)
}

// uint64 returns 0, small numbers, numbers at varint byte boundaries, or any
// uint64.
func (g *gen) uint64() uint64 {
	switch g.intn(5) {
	case 0:
		return 0
	case 1:
		return g.r.Uint64N(1000)
	case 2:
		return 1<<(7*g.r.UintN(10)) - g.r.Uint64N(2)
	case 3:
		return math.MaxUint64
	}
	return g.r.Uint64()
}
