// Package admit decides, in pure Go, what an edge hub object answers to a
// subscribe request: the refusal to send, or the subscription to register
// and the headers of its stream. It applies the subscribe contract of
// shared/mercure (the origin applies the same one) and adds what only the
// edge counts: its stream limit and its catch-up limit. The js/wasm bridge
// in package main only carries the request in and the answer out.
package admit

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/mercure"
	"github.com/edge-sse/edge-sse/shared/topic"
)

// standInURL is the base the compilers get when no public URL is
// configured; with topic.Config.NoBase it only names the hub's path (for
// the reserved namespace) and never resolves a relative pattern or topic.
const standInURL = "http://localhost" + mercure.Path

// Config is an edge hub's admission settings.
type Config struct {
	// PublicURL is the hub's public URL (PUBLIC_URL): the base of relative
	// URL patterns and the resource identifier. Empty: relative patterns
	// are refused, and the resource identifier of a request's challenge is
	// derived from that request alone.
	PublicURL string
	// Verifier checks subscriber tokens; nil when no key is configured.
	Verifier *auth.Verifier
	// AllowAnonymous admits subscribers without a token (ALLOW_ANONYMOUS).
	AllowAnonymous bool
	// Limits are the selector compiler's limits (MaxSelectors is
	// MAX_SELECTORS); New sets HubURL and NoBase from PublicURL, and
	// compiles grants with the same limits but mercure.GrantLimit
	// selectors.
	Limits topic.Config
	// MaxHubCost bounds the match cost of the distinct costly selectors
	// the object's clients hold together (MAX_HUB_COST; zero:
	// topic.DefaultMaxHubCost); a subscription that would pass it gets 503
	// with Retry-After. Limits' MaxTopicLen, MaxSelectorCost and MaxSetCost
	// are MAX_TOPIC_BYTES, MAX_SELECTOR_COST and MAX_SUBSCRIPTION_COST.
	MaxHubCost int64
	// MaxLastEventID bounds the resume id in bytes (MAX_LAST_EVENT_ID_BYTES;
	// zero: mercure.DefaultMaxLastEventID).
	MaxLastEventID int
	// MaxClients is the most streams the object holds (MAX_CLIENTS).
	MaxClients int
	// MaxCatchup is the most streams it catches up from the origin at once
	// (MAX_CATCHUP).
	MaxCatchup int
	// CORSOrigins are the origins allowed to read the answers (CORS_ORIGINS).
	CORSOrigins mercure.CORS
	// Retry is the base reconnection delay (RETRY_MS), at least a second
	// in Retry-After.
	Retry time.Duration
}

// Gate admits the subscribe requests of one edge hub object. It holds no
// state that a request can change.
type Gate struct {
	cfg    Config
	policy mercure.SubscribePolicy
	reg    *topic.Registry
}

// New returns the gate for cfg. It fails when PublicURL is set but is not
// an absolute http(s) URL.
func New(cfg Config) (*Gate, error) {
	limits := cfg.Limits
	limits.HubURL, limits.NoBase = cfg.PublicURL, cfg.PublicURL == ""
	if limits.NoBase {
		limits.HubURL = standInURL
	} else if _, err := mercure.MetadataURL(cfg.PublicURL); err != nil {
		return nil, fmt.Errorf("PUBLIC_URL: %w", err)
	}
	sel, err := topic.NewCompiler(limits)
	if err != nil {
		return nil, fmt.Errorf("PUBLIC_URL: %w", err)
	}
	// One Registry per object: a costly selector is compiled and matched
	// once per event however many clients hold it, and all of them
	// together are bounded by MaxHubCost.
	reg := topic.NewRegistry(cfg.MaxHubCost)
	sel = sel.Shared(reg)
	// Grants come from tokens the application signed, not from the
	// subscriber: their match cost is the application's choice.
	limits.MaxSelectors = mercure.GrantLimit
	limits.MaxSelectorCost, limits.MaxSetCost = math.MaxInt64, math.MaxInt64
	grants, err := topic.NewCompiler(limits)
	if err != nil {
		return nil, fmt.Errorf("PUBLIC_URL: %w", err)
	}
	return &Gate{cfg: cfg, reg: reg, policy: mercure.SubscribePolicy{
		Selectors:      sel,
		Grants:         grants,
		Verifier:       cfg.Verifier,
		AllowAnonymous: cfg.AllowAnonymous,
		MaxLastEventID: cfg.MaxLastEventID,
		Names:          mercure.CostNames{Selector: "the hub's MAX_SELECTOR_COST", Subscription: "the hub's MAX_SUBSCRIPTION_COST", Hub: "the hub's MAX_HUB_COST"},
	}}, nil
}

// Registry is the object's registry of costly selectors; the hub shares
// each event's topics through it for the fan-out.
func (g *Gate) Registry() *topic.Registry { return g.reg }

// Compiler is the compiler of subscription selectors; the hub prepares
// its events' topics with it.
func (g *Gate) Compiler() *topic.Compiler { return g.policy.Selectors }

// Grants is the compiler of token grants: presence reads, with it, which
// grant's payload goes with each selector (presence.PayloadFor).
func (g *Gate) Grants() *topic.Compiler { return g.policy.Grants }

// Request is what the front door passes on of a subscribe request: its
// URL, and the combined values (mercure.HeaderValue) of four headers.
type Request struct {
	URL                                        string
	LastEventID, Authorization, Cookie, Origin string
}

// Hub is what the gate needs to know of the hub object at this moment.
type Hub interface {
	// Streams counts the streams held or opened and not yet attached.
	Streams() int
	// InRing reports whether a client resuming after id is served without
	// a fetch from the origin.
	InRing(id string) bool
	// CatchingUp counts the streams waiting for their replay.
	CatchingUp() int
	// LastEventID is the newest id the hub has seen.
	LastEventID() string
}

// Answer is the response to a subscribe request: a refusal (Status not
// 200, with Body), or an admitted subscription whose stream opens with
// Header.
type Answer struct {
	Status int
	Header http.Header
	Body   string
	// Sub is the admitted subscription, nil on a refusal.
	Sub *mercure.Subscription
}

// Open answers a subscribe request. Admission is the shared contract
// (mercure.Admit); then the object's stream limit (503, MAX_CLIENTS) and,
// for a resume the ring cannot serve, its catch-up limit (503,
// MAX_CATCHUP), both with Retry-After. An admitted subscription holds its
// selectors in the Registry until its Release.
//
// The stream's headers follow mercure.StreamHeaders. The resume id is
// reported as found when the ring serves it or the origin is asked for
// what follows it: the answer leaves before the origin replies, and when
// the origin no longer holds the id the stream says so in band with a
// mercure.MissedEventType event.
func (g *Gate) Open(req Request, hub Hub) Answer {
	h := http.Header{}
	g.cfg.CORSOrigins.Set(h, req.Origin)
	h.Set("Access-Control-Expose-Headers", mercure.ExposeHeaders)
	u, err := url.Parse(req.URL)
	if err != nil {
		return refuse(h, &mercure.Refusal{Status: http.StatusBadRequest, Err: fmt.Errorf("invalid request URL: %w", err)})
	}
	sub, no := mercure.Admit(&g.policy, mercure.SubscribeRequest{
		Query:            u.Query(),
		LastEventID:      req.LastEventID,
		Authorization:    req.Authorization,
		Cookie:           req.Cookie,
		ResourceMetadata: g.metadataURL(u),
	})
	if no != nil {
		if no.Retry {
			h.Set("Retry-After", g.retryAfter())
		}
		return refuse(h, no)
	}
	if n := hub.Streams(); n >= g.cfg.MaxClients {
		sub.Release()
		h.Set("Retry-After", g.retryAfter())
		return refuse(h, &mercure.Refusal{Status: http.StatusServiceUnavailable,
			Err: fmt.Errorf("this edge hub holds its limit of %d streams (MAX_CLIENTS); retry later", g.cfg.MaxClients)})
	}
	// A client resuming from before the ring waits, its live events held,
	// for the origin's history: bound how many do at once.
	if sub.Resume != "" && !hub.InRing(sub.Resume) && hub.CatchingUp() >= g.cfg.MaxCatchup {
		sub.Release()
		h.Set("Retry-After", g.retryAfter())
		return refuse(h, &mercure.Refusal{Status: http.StatusServiceUnavailable,
			Err: fmt.Errorf("this edge hub is catching up its limit of %d streams from the origin (MAX_CATCHUP); retry later", g.cfg.MaxCatchup)})
	}
	mercure.StreamHeaders(h, sub.Resume, true, hub.LastEventID())
	return Answer{Status: http.StatusOK, Header: h, Sub: sub}
}

// Resource returns the hub's resource identifier for a request to u: the
// configured public URL, else the URL of the hub endpoint on u's origin,
// for this request only (the Host is the client's, so it is never kept).
func Resource(publicURL string, u *url.URL) string {
	if publicURL != "" {
		return publicURL
	}
	return mercure.RequestResource(u.Scheme, u.Host)
}

// Metadata returns the protected resource metadata document (RFC 9728)
// the edge serves at mercure.MetadataPath for a request to u.
func Metadata(publicURL string, u *url.URL) mercure.Metadata {
	return mercure.NewMetadata(Resource(publicURL, u))
}

func (g *Gate) metadataURL(u *url.URL) string {
	m, err := mercure.MetadataURL(Resource(g.cfg.PublicURL, u))
	if err != nil {
		return ""
	}
	return m
}

func (g *Gate) retryAfter() string {
	return strconv.Itoa(int(max(g.cfg.Retry, time.Second) / time.Second))
}

func refuse(h http.Header, r *mercure.Refusal) Answer {
	r.Header(h)
	return Answer{Status: r.Status, Header: h, Body: r.Body()}
}
