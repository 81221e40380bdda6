package mercure

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/edge-sse/edge-sse/shared/auth"
)

// wellKnownMetadata is the RFC 9728 well-known path prefix.
const wellKnownMetadata = "/.well-known/oauth-protected-resource"

// MetadataPath is where a hub at Path serves its OAuth 2.0 protected
// resource metadata (RFC 9728 section 3.1; Mercure §"Protected Resource
// Metadata").
const MetadataPath = wellKnownMetadata + Path

// MetadataURL returns the URL of the protected resource metadata of the
// hub whose resource identifier (its URL) is resource: the well-known
// prefix goes between the host and the path (RFC 9728 section 3.1).
func MetadataURL(resource string) (string, error) {
	u, err := url.Parse(resource)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("mercure: resource identifier %q is not an absolute http(s) URL without query or fragment", resource)
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	return u.Scheme + "://" + u.Host + wellKnownMetadata + path, nil
}

// RequestResource returns the resource identifier of a hub that was given
// no public URL, for one request: the request's scheme and host with Path.
// Use it for that request's metadata and challenge only, never keep it: the
// Host is the client's to choose.
func RequestResource(scheme, host string) string {
	return (&url.URL{Scheme: scheme, Host: host, Path: Path}).String()
}

// Metadata is the protected resource metadata document of a hub.
type Metadata struct {
	// Resource is the hub's resource identifier: its URL, which tokens
	// carry as aud.
	Resource string `json:"resource"`
	// AuthorizationDetailsTypes lists the Mercure authorization detail type.
	AuthorizationDetailsTypes []string `json:"authorization_details_types_supported"`
	// BearerMethods lists the RFC 6750 methods the hub accepts: the header.
	BearerMethods []string `json:"bearer_methods_supported"`
	// Cookie is the name of the cookie the hub also reads the token from.
	Cookie string `json:"mercure_cookie"`
	// Subscriptions advertises the Active Subscriptions feature
	// (§"Active Subscriptions"): subscription events and the API. Absent
	// when false, as for a hub without the feature.
	Subscriptions bool `json:"mercure_subscriptions,omitempty"`
}

// NewMetadata returns the metadata of the hub whose resource identifier
// is resource. Tokens are self-issued here, so it names no authorization
// server; the hub supports the two matcher types of the spec, so it lists
// none (§"Protected Resource Metadata").
func NewMetadata(resource string) Metadata {
	return Metadata{
		Resource:                  resource,
		AuthorizationDetailsTypes: []string{auth.DetailType},
		BearerMethods:             []string{"header"},
		Cookie:                    auth.CookieName,
	}
}

// JSON returns the document, for a response of type application/json.
func (m Metadata) JSON() []byte {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // strings only
	}
	return append(b, '\n')
}
