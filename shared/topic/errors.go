package topic

import "errors"

// Errors returned by this package. Mercure answers subscribe requests that
// fail with them with 400 "Bad Request" (§"Subscription") and tokens whose
// grants fail with them with 401 and error="invalid_token" (§"Authorization
// Details"); ErrInvalidHubURL is a configuration error.
var (
	ErrUnknownKind       = errors.New(`topic: unknown matcher type; use "exact" or "urlpattern"`)
	ErrUnknownParam      = errors.New(`topic: unknown topic matcher query parameter; use "match", "match_exact", "match_urlpattern" or "topic"`)
	ErrTooManySelectors  = errors.New("topic: too many topic selectors; subscribe to fewer topics or use a URL pattern")
	ErrExprTooLong       = errors.New("topic: topic selector too long")
	ErrInvalidChar       = errors.New("topic: value must be valid UTF-8 without control characters (U+0000-U+001F, U+007F-U+009F) or format characters (Unicode category Cf)")
	ErrInvalidURLPattern = errors.New("topic: invalid URL pattern")
	ErrTooComplex        = errors.New("topic: topic selectors too complex; use fewer or simpler patterns and templates")
	ErrSelectorCost      = errors.New("topic: topic selector too costly to match; use a simpler URI template or URL pattern, or exact topics")
	ErrSetCost           = errors.New("topic: topic selectors too costly to match together; use fewer or simpler URI templates and URL patterns")
	ErrHubCost           = errors.New("topic: this hub already matches its limit of costly topic selectors; retry later, or use exact topics or a selector another subscriber uses")
	ErrWildcardTopic     = errors.New(`topic: "*" is reserved for the wildcard selector and cannot be published`)
	ErrReservedTopic     = errors.New("topic: topics under the hub URL's path are reserved for the hub")
	ErrRelativePattern   = errors.New("topic: relative URL pattern, but this hub has no configured public URL to resolve it against: use an absolute pattern (https://example.com/books/:id), or configure the hub URL (origin --hub-url, edge PUBLIC_URL)")
	ErrInvalidHubURL     = errors.New("topic: hub URL must be an absolute http or https URL")
)
