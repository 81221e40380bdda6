package server

import (
	"errors"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/shared/mercure"
)

// deliverable returns the subscriber's match function: an update is
// delivered when a subscription selector matches one of its topics and,
// for a private update, when a subscribe grant of the token matches one of
// its topics too (Mercure §"Subscribers"; anonymous subscribers have no
// grants and never receive private updates). The hub applies it to live
// events and to replayed ones alike (§"Authorization on Event Replay").
// During the hub's fan-out it matches the event's shared prepared topics,
// so that a costly selector held by many subscribers runs once per event.
func deliverable(sub *mercure.Subscription) func(*hub.Event) bool {
	return func(e *hub.Event) bool {
		if t := e.Prepared(); t != nil {
			return sub.CanReceive(t, e.Private)
		}
		return sub.CanReceiveTopics(e.Topics, e.Private)
	}
}

// errUnknown reports whether err from Hub.Subscribe means the resume id is
// unknown or expired; the subscriber is then registered without replay.
func errUnknown(err error) bool { return errors.Is(err, hub.ErrUnknownID) }
