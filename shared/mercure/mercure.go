// Package mercure holds what the origin and the edge must agree on: the
// endpoint paths, the in-band events this project adds to the Mercure
// protocol, the subscribe contract (Admit: selectors, resume id, token,
// and the refusals with their status, message and challenge;
// StreamHeaders: the headers of a stream) and the protected resource
// metadata (RFC 9728). Both sides call these functions, so a request gets
// the same answer from either; package mercuretest holds the cases a test
// runs against both.
package mercure

// Path is the hub endpoint (Mercure §"Discovery").
const Path = "/.well-known/mercure"

// FeedPath is the origin's edge feed: one authenticated stream of
// shared/frame frames per edge hub.
const FeedPath = "/edge/feed"

// FeedContentType is the media type of the edge feed.
const FeedContentType = "application/vnd.edge-sse.frames"

// MissedEventType is the SSE event type of the in-band notice a hub sends
// when it cannot resume a subscriber from its Last-Event-ID (the id is
// unknown or has left the history), or when events may have been lost on
// the way to the edge. The subscriber missed events and should refetch its
// state. A native EventSource cannot read response headers, so the notice
// is an event: listen with es.addEventListener("mercure-missed", …).
const MissedEventType = "mercure-missed"

// Reasons carried in the data of a MissedEventType event, a JSON object
// {"reason": …}.
const (
	// ReasonUnknownID: the Last-Event-ID the client sent is not in the history.
	ReasonUnknownID = "unknown-last-event-id"
	// ReasonEdgeGap: the edge lost its place in the origin's stream.
	ReasonEdgeGap = "edge-gap"
)

// AppendMissed appends the SSE bytes of a MissedEventType event with the
// given reason. The event has no id, so it does not move the client's last
// event id.
func AppendMissed(dst []byte, reason string) []byte {
	dst = append(dst, "event: "+MissedEventType+"\ndata: {\"reason\":\""...)
	dst = append(dst, reason...)
	return append(dst, "\"}\n\n"...)
}
