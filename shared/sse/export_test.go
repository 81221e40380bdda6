package sse

// Hooks for the external tests (package sse_test).

// AppendUTF8 exposes the WHATWG UTF-8 decoder to the tests.
var AppendUTF8 = appendUTF8

// MemoryInUse returns the capacities of p's buffers, in bytes, so that tests
// can check that a hostile stream cannot grow them past the Config limits.
func MemoryInUse(p *Parser) (input, data, other int) {
	other = cap(p.eventTypeBuffer) + cap(p.lastEventIDBuffer) + cap(p.lastEventID)
	return cap(p.lines.buf), cap(p.dataBuffer), other
}
