package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/edge-sse/edge-sse/origin/hub"
	opresence "github.com/edge-sse/edge-sse/origin/presence"
	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/frame"
	"github.com/edge-sse/edge-sse/shared/mercure"
	"github.com/edge-sse/edge-sse/shared/presence"
	"github.com/edge-sse/edge-sse/shared/sse"
)

// PresencePath is the edge hubs' report endpoint (shared/presence.Path).
const PresencePath = presence.Path

// SubscriptionsPath is the subscription API's collection of every
// subscription (Mercure §"Subscription API"); the other two shapes are
// below it.
const SubscriptionsPath = MercurePath + presence.SubscriptionsSegment

// reportTimeout bounds the index operation of one report.
const reportTimeout = 10 * time.Second

// Errors of the report endpoint and the subscription API.
var (
	ErrPresenceOff          = errors.New("server: active subscriptions are off at this origin: start it with --subscriptions")
	ErrPresenceUnauthorized = errors.New("server: presence reports need Authorization: Bearer <feed secret>")
	ErrNoSubscription       = errors.New("server: no active subscription at this URL")
	ErrNotSubscriptionsURL  = errors.New("server: not a subscription API URL: use " + SubscriptionsPath + ", …/{match_type}/{match} or …/{match_type}/{match}/{subscriber}, each variable percent-encoded")
)

// HubPath returns the path of the hub whose URL is hubURL (Config.HubURL),
// without a trailing slash; MercurePath when hubURL is empty.
// Subscription topics start with it.
func HubPath(hubURL string) string {
	if hubURL == "" {
		return MercurePath
	}
	u, err := url.Parse(hubURL)
	if err != nil { // Validate refuses such a HubURL
		return MercurePath
	}
	return strings.TrimSuffix(u.EscapedPath(), "/")
}

func (c *Config) hubPath() string { return HubPath(c.HubURL) }

// newTracker returns the Tracker of Active Subscriptions, nil when off.
func (s *Server) newTracker() *opresence.Tracker {
	if !s.cfg.Subscriptions {
		return nil
	}
	store := s.cfg.SubscriptionStore
	if store == nil {
		store = opresence.NewMemory(s.cfg.hubPath())
	}
	return opresence.NewTracker(store, s.publishSubscription, opresence.Options{
		HubPath: s.cfg.hubPath(),
		Lease:   s.cfg.SubscriptionLease,
		Now:     s.cfg.Now,
		Logger:  s.cfg.Logger,
	})
}

// Tracker returns the Active Subscriptions tracker, nil when they are off.
func (s *Server) Tracker() *opresence.Tracker { return s.tracker }

// RunSubscriptions runs the Active Subscriptions tracker (reports of this
// origin's own subscribers, lease renewal, lapse checks) until ctx is
// done, then reports the last disconnections and returns. Call it when
// Config.Subscriptions is on; cancel ctx after the HTTP server's Shutdown
// returned (every stream has ended), and before closing the hub.
func (s *Server) RunSubscriptions(ctx context.Context) {
	if s.tracker != nil {
		s.tracker.Run(ctx)
	}
}

// publishSubscription publishes a subscription event through the hub
// (Mercure §"Subscription Events"): a private update on the
// subscription's topic, SSE type "mercure", the document as data, with
// the id the presence store gave it. History, resume and a shared Redis
// apply to it as to any update. An id the history holds already is an
// earlier try of the same event that reached it: nothing to do.
func (s *Server) publishSubscription(ev opresence.Event) error {
	doc := ev.Doc
	e := &hub.Event{ID: ev.ID, Topics: []string{doc.ID}, Private: true, Type: presence.EventType, Data: string(doc.JSON())}
	b, err := sse.AppendEvent(nil, sse.Event{ID: e.ID, Type: e.Type, Data: e.Data})
	if err != nil {
		return err
	}
	e.SSE = b
	e.Frame = frame.AppendEvent(nil, &frame.Event{ID: e.ID, Type: e.Type, Topics: e.Topics, Private: true, SSE: b})
	if err := s.hub.Publish(e); err != nil && !errors.Is(err, hub.ErrDuplicateID) {
		return err
	}
	return nil
}

// presenceReport serves POST PresencePath: an edge hub's report of its
// subscriptions (shared/presence). 401 without the feed secret, 404 when
// subscriptions are off, 413 past the report limits, 400 for a malformed
// report, 409 {"error","resync":true} when the instance must send a full
// report, 503 when the index is unreachable, else 200 {"lease_ms"}.
func (s *Server) presenceReport(w http.ResponseWriter, r *http.Request) {
	if !s.feedAuthorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="edge-feed"`)
		writeError(w, fail(http.StatusUnauthorized, ErrPresenceUnauthorized))
		return
	}
	if s.tracker == nil {
		writeError(w, fail(http.StatusNotFound, ErrPresenceOff))
		return
	}
	rep, err := presence.Decode(r.Body, s.cfg.ReportLimits)
	switch {
	case errors.Is(err, presence.ErrTooLarge):
		writeError(w, fail(http.StatusRequestEntityTooLarge, fmt.Errorf("%w (the origin's --subscription-report-bytes and --subscription-report-ops)", err)))
		return
	case err != nil:
		writeError(w, fail(http.StatusBadRequest, err))
		return
	}
	// Not the request's context: an edge hub that gives up waiting must
	// not cut a report the index has applied off from its events (its
	// retry, with the same seq, would publish none).
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), reportTimeout)
	defer cancel()
	err = s.tracker.Report(ctx, rep)
	h := w.Header()
	h.Set("Content-Type", presence.ContentType)
	h.Set("Cache-Control", "no-store")
	switch {
	case errors.Is(err, opresence.ErrResync):
		w.WriteHeader(http.StatusConflict)
		writeJSON(w, presence.Resync{Error: err.Error(), Resync: true})
	case err != nil:
		s.cfg.Logger.Warn("presence report failed", "hub", rep.Hub, "name", rep.Name, "seq", rep.Seq, "err", err)
		h.Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		writeJSON(w, map[string]string{"error": "the origin could not apply the report: " + err.Error()})
	default:
		writeJSON(w, presence.Response{LeaseMS: s.tracker.Lease().Milliseconds()})
	}
}

// isSubscriptionsPath reports whether path (decoded) is in the
// subscription API's namespace.
func isSubscriptionsPath(path string) bool {
	return path == SubscriptionsPath || strings.HasPrefix(path, SubscriptionsPath+"/")
}

// serveSubscriptions serves the subscription API's namespace: GET (and
// HEAD) with subscriptionsAPI, OPTIONS with the CORS preflight, 405
// otherwise. ServeHTTP has set the CORS headers.
func (s *Server) serveSubscriptions(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		s.subscriptionsAPI(w, r)
	case http.MethodOptions:
		s.preflight(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		httpError(w, http.StatusMethodNotAllowed, "server: the subscription API answers GET only")
	}
}

// subscriptionsAPI implements Mercure §"Subscription API" for the three
// URL shapes. The token (header or cookie) must grant subscribe on the
// requested path in relative form (hub path and the rest as sent, without
// the query): 401 without a token or with an invalid one, 403 when no
// grant matches. An unknown shape is 404, as is an unknown single
// subscription. The answer is JSON with the Link header carrying
// last-event-id: the hub's newest event id read before the index (the
// index is changed before an event is published), so the list and the
// events after that id give the true set.
func (s *Server) subscriptionsAPI(w http.ResponseWriter, r *http.Request) {
	escaped := r.URL.EscapedPath()
	rel := s.cfg.hubPath() + strings.TrimPrefix(escaped, MercurePath)
	cred, err := authenticate(r, s.cfg.Subscribers)
	if err == nil {
		err = s.checkSubscribeGrant(cred.claims, rel)
	}
	if err != nil {
		s.writeAuthError(w, r, err)
		return
	}
	ref, err := presence.ParsePath(MercurePath, escaped)
	if err != nil {
		writeError(w, fail(http.StatusNotFound, fmt.Errorf("%w (%v)", ErrNotSubscriptionsURL, err)))
		return
	}
	last := s.hub.LastEventID() // before the index: see the doc comment
	if last == "" {
		last = mercure.Earliest
	}
	docs, err := s.tracker.List(r.Context(), ref)
	if err != nil {
		s.cfg.Logger.Warn("subscription API: the index is unreachable", "err", err)
		w.Header().Set("Retry-After", s.retryAfter())
		httpError(w, http.StatusServiceUnavailable, "server: the subscription index is unreachable: retry later")
		return
	}
	h := w.Header()
	h.Set("Link", s.subscriptionsLink(last))
	h.Set("Cache-Control", "private, no-cache")
	h.Add("Vary", "Authorization, Cookie")
	if ref.Scope == presence.ScopeOne {
		if len(docs) == 0 {
			writeError(w, fail(http.StatusNotFound, ErrNoSubscription))
			return
		}
		h.Set("Content-Type", "application/json")
		w.Write(append(docs[0].JSON(), '\n'))
		return
	}
	if docs == nil {
		docs = []presence.Subscription{}
	}
	h.Set("Content-Type", "application/json")
	writeJSON(w, presence.Collection{ID: rel, Type: presence.DocSubscriptions, Subscriptions: docs})
}

// checkSubscribeGrant returns nil when the token's subscribe grants match
// topic, else an error for a 403 insufficient_scope answer.
func (s *Server) checkSubscribeGrant(c *auth.Claims, topic string) error {
	grants, err := s.grantSet(c.Subscribe)
	if err != nil {
		return err
	}
	defer grants.Release()
	if !grants.Match(topic) {
		return fmt.Errorf("%w: %.200q", auth.ErrSubscribeForbidden, topic)
	}
	return nil
}

// subscriptionsLink is the API's Link header: the hub, with the
// reconciliation cursor and the type of the events that follow.
func (s *Server) subscriptionsLink(lastEventID string) string {
	target := MercurePath
	if s.cfg.HubURL != "" {
		target = s.cfg.HubURL
	}
	return "<" + target + `>; rel="mercure"; last-event-id=` + quoteString(lastEventID) + `; type="mercure"; content-type="application/json"`
}

// quoteString returns s as an RFC 9110 quoted-string.
func quoteString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// directTopics returns the selectors of an admitted subscription as
// report topics, each with the payload of the grant that matches it.
func (s *Server) directTopics(adm *mercure.Subscription) []presence.Topic {
	sels := adm.Selectors.Selectors()
	out := make([]presence.Topic, 0, len(sels))
	for _, sel := range sels {
		out = append(out, presence.Topic{
			MatchType: sel.Kind().String(),
			Match:     sel.Expr(),
			Payload:   presence.PayloadFor(s.grants, adm.Claims, sel.Expr()),
		})
	}
	return out
}
