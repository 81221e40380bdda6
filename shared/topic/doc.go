// Package topic decides which topics a Mercure subscription's selectors
// match, for the origin hub and the edge hub alike.
//
// The Mercure specification (draft-dunglas-mercure-08, §"Subscription" and
// §"Matcher Types") defines two topic matcher types, selected on the
// subscribe URL by the query parameter name and in tokens by the
// "match_type" member of a topic matcher object:
//
//   - exact (parameter "match" or "match_exact"): a byte-for-byte comparison
//     with the topic, KindExact here;
//   - urlpattern (parameter "match_urlpattern"): a URL pattern per the WHATWG
//     URL Pattern Standard, evaluated against the hub's URL as base URL,
//     KindURLPattern here.
//
// Pre-standardization hubs and the clients deployed against them send
// "topic" parameters and carry bare strings in the "mercure.subscribe" JWT
// claim; such a selector matches a topic equal to it or, if it is a URI
// Template (RFC 6570), a topic the template could expand to. That is
// KindTopic. In every kind the value "*" matches all topics (§"Matcher
// Types").
//
// A Compiler holds the hub's URL and the limits. It compiles selectors once
// per subscription or token into a Set; matching a Set is cheap and, for
// exact selectors, "*" and templates, does not allocate. Topics prepares an
// update's topics once for matching against every subscriber's sets, which
// keeps URL pattern matching allocation-free as well.
//
// Matching cost is bounded whatever subscribers send. Templates and URL
// patterns compile to regular expressions, which are compiled further into
// a deterministic automaton reading each topic byte once when one exists
// within bounds; Selector.Cost is the work of matching one topic of the
// configured maximum length, and Config bounds it per selector and per Set.
// A Registry (Compiler.Shared) interns the costly selectors of one hub,
// bounds their total cost, and lets each be matched once per event through
// Topics shared with Registry.Share.
//
// Authorization uses the same matching (§"Subscribers"): a private update is
// delivered only if one of the selectors granted by the subscriber's token
// matches one of the update's topics, and any update only if one of the
// subscription's selectors does:
//
//	deliver := sub.MatchTopics(ts) && (!private || grant.MatchTopics(ts))
//
// The package is pure Go with no dependencies beyond the standard library,
// so that it builds for js/wasm and wasip1/wasm and stays small there. URL
// Pattern matching and the URL parsing under it are implemented in internal
// packages; see internal/urlpattern and internal/whatwgurl for the one
// deliberate gap, Unicode (non-"xn--") hostnames, which fail closed.
package topic
