// Package whatwgurl implements the parts of the WHATWG URL Standard (Review
// Draft 2026-02, the snapshot the Mercure specification cites) that URL
// Pattern matching needs: the basic URL parser with its state overrides, the
// host parser and the component serializers.
//
// It exists so that package topic can match URL patterns without the
// general-purpose URL libraries, which cost several hundred kilobytes in the
// js/wasm bundle, and so that a topic is parsed once per update instead of once
// per pattern. Only UTF-8 is supported as the query encoding, which is the only
// encoding URL Pattern and Mercure use.
package whatwgurl

import (
	"errors"
	"strconv"
	"strings"
)

// ErrInvalid reports that the basic URL parser returned failure (URL Standard
// §4.4 "URL parsing").
var ErrInvalid = errors.New("whatwgurl: invalid URL")

// HostKind says which kind of host a URL has (URL Standard §3.1 "Host
// representation").
type HostKind uint8

// The kinds of host. HostNull is a URL without a host.
const (
	HostNull HostKind = iota
	HostEmpty
	HostDomain
	HostIPv4
	HostIPv6
	HostOpaque
)

// URL is a URL record (URL Standard §4.1 "URL representation"). Nullable
// components carry a Has flag; Port is -1 when null.
type URL struct {
	Scheme   string
	Username string
	Password string

	HostKind HostKind
	// Host is the serialized host (URL Standard §3.6 "Host serializing"),
	// meaningful unless HostKind is HostNull.
	Host string
	Port int

	// Path is the list of path segments, used unless HasOpaquePath is set.
	Path []string
	// OpaquePath is the path of a URL that has an opaque path.
	OpaquePath    string
	HasOpaquePath bool

	Query       string
	HasQuery    bool
	Fragment    string
	HasFragment bool
}

// specialPorts lists the special schemes and their default ports (URL
// Standard §4.2 "URL miscellaneous"); -1 stands for a null default port.
var specialPorts = map[string]int{
	"ftp":   21,
	"file":  -1,
	"http":  80,
	"https": 443,
	"ws":    80,
	"wss":   443,
}

// SpecialSchemes lists the special schemes (URL Standard §4.2).
var SpecialSchemes = [...]string{"ftp", "file", "http", "https", "ws", "wss"}

// IsSpecialScheme reports whether scheme is a special scheme.
func IsSpecialScheme(scheme string) bool {
	_, ok := specialPorts[scheme]
	return ok
}

// DefaultPort returns the default port of scheme, or -1 if it has none.
func DefaultPort(scheme string) int {
	if p, ok := specialPorts[scheme]; ok {
		return p
	}
	return -1
}

// Special reports whether u's scheme is a special scheme.
func (u *URL) Special() bool { return IsSpecialScheme(u.Scheme) }

// includesCredentials reports whether u includes credentials (URL Standard
// §4.2).
func (u *URL) includesCredentials() bool { return u.Username != "" || u.Password != "" }

// HostString returns the serialized host, or the empty string if the host is
// null, as URL Pattern's match algorithm reads it.
func (u *URL) HostString() string {
	if u.HostKind == HostNull {
		return ""
	}
	return u.Host
}

// PortString returns the serialized port, or the empty string if it is null.
func (u *URL) PortString() string {
	if u.Port < 0 {
		return ""
	}
	return strconv.Itoa(u.Port)
}

// PathString returns the result of URL path serializing u (URL Standard §4.5).
func (u *URL) PathString() string {
	if u.HasOpaquePath {
		return u.OpaquePath
	}
	switch len(u.Path) {
	case 0:
		return ""
	case 1:
		return "/" + u.Path[0]
	}
	var b strings.Builder
	for _, s := range u.Path {
		b.WriteByte('/')
		b.WriteString(s)
	}
	return b.String()
}

// String returns the URL serializer's output for u (URL Standard §4.5).
func (u *URL) String() string {
	var b strings.Builder
	b.WriteString(u.Scheme)
	b.WriteByte(':')
	if u.HostKind != HostNull {
		b.WriteString("//")
		if u.includesCredentials() {
			b.WriteString(u.Username)
			if u.Password != "" {
				b.WriteByte(':')
				b.WriteString(u.Password)
			}
			b.WriteByte('@')
		}
		b.WriteString(u.Host)
		if u.Port >= 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(u.Port))
		}
	}
	if u.HostKind == HostNull && !u.HasOpaquePath && len(u.Path) > 1 && u.Path[0] == "" {
		b.WriteString("/.")
	}
	b.WriteString(u.PathString())
	if u.HasQuery {
		b.WriteByte('?')
		b.WriteString(u.Query)
	}
	if u.HasFragment {
		b.WriteByte('#')
		b.WriteString(u.Fragment)
	}
	return b.String()
}

// shortenPath implements "shorten a url's path" (URL Standard §4.2).
func (u *URL) shortenPath() {
	if u.Scheme == "file" && len(u.Path) == 1 && isNormalizedWindowsDriveLetter(u.Path[0]) {
		return
	}
	if len(u.Path) > 0 {
		u.Path = u.Path[:len(u.Path)-1]
	}
}

// SetUsername implements "set the username" (URL Standard §4.4).
func (u *URL) SetUsername(v string) { u.Username = percentEncodeString(v, &userinfoSet) }

// SetPassword implements "set the password" (URL Standard §4.4).
func (u *URL) SetPassword(v string) { u.Password = percentEncodeString(v, &userinfoSet) }

// Dummy returns the result of "create a dummy URL" (URL Pattern Standard
// §1.5): the URL https://dummy.invalid/.
func Dummy() *URL {
	return &URL{Scheme: "https", HostKind: HostDomain, Host: "dummy.invalid", Port: -1, Path: []string{""}}
}

// isWindowsDriveLetter reports whether s is a Windows drive letter (URL
// Standard §4.2).
func isWindowsDriveLetter(s []rune) bool {
	return len(s) == 2 && isASCIIAlpha(s[0]) && (s[1] == ':' || s[1] == '|')
}

// isNormalizedWindowsDriveLetter reports whether s is a normalized Windows
// drive letter.
func isNormalizedWindowsDriveLetter(s string) bool {
	return len(s) == 2 && isASCIIAlpha(rune(s[0])) && s[1] == ':'
}

// startsWithWindowsDriveLetter implements "starts with a Windows drive
// letter".
func startsWithWindowsDriveLetter(s []rune) bool {
	if len(s) < 2 || !isWindowsDriveLetter(s[:2]) {
		return false
	}
	if len(s) == 2 {
		return true
	}
	switch s[2] {
	case '/', '\\', '?', '#':
		return true
	}
	return false
}

// isSingleDot reports whether seg is a single-dot URL path segment.
func isSingleDot(seg string) bool {
	return seg == "." || strings.EqualFold(seg, "%2e")
}

// isDoubleDot reports whether seg is a double-dot URL path segment.
func isDoubleDot(seg string) bool {
	switch len(seg) {
	case 2:
		return seg == ".."
	case 4:
		return strings.EqualFold(seg, ".%2e") || strings.EqualFold(seg, "%2e.")
	case 6:
		return strings.EqualFold(seg, "%2e%2e")
	}
	return false
}

func isASCIIAlpha(c rune) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func isASCIIDigit(c rune) bool { return c >= '0' && c <= '9' }

func isASCIIHexDigit(c rune) bool {
	return isASCIIDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f')
}

func isASCIIAlphanumeric(c rune) bool { return isASCIIAlpha(c) || isASCIIDigit(c) }

func asciiLower(c rune) rune {
	if c >= 'A' && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}
