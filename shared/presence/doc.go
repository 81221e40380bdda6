// Package presence holds what the origin and the edge must agree on for
// Mercure's Active Subscriptions (§"Active Subscriptions"): subscriber
// ids, the topic of a subscription and its JSON document, and the report
// channel by which an edge hub tells the origin which subscriptions it
// holds (Path, Report, Response, Resync).
//
// The edge hub that holds a connection gives it a subscriber id
// (NewSubscriberID) and reports one add op per connection, with one
// Topic per selector, and one remove op when it ends. The origin keeps
// the index of every instance's subscriptions under a lease the reports
// renew, publishes the subscription events and answers the subscription
// API. The whole exchange is specified in the origin's README
// ("Presence").
//
// The package uses nothing specific to an operating system: it runs in the
// worker (js/wasm), at the origin, and in the wasip1 test run.
package presence
