package urlpattern

import (
	"errors"
	"strconv"
	"strings"

	"github.com/edge-sse/edge-sse/shared/topic/internal/whatwgurl"
)

// errBaseURL is the TypeError for a base URL that does not parse.
var errBaseURL = errors.New("base URL is not a valid URL")

// Init is a URLPatternInit dictionary (URL Pattern Standard §1.2): keys are
// "protocol", "username", "password", "hostname", "port", "pathname",
// "search", "hash" and "baseURL"; a missing key does not exist.
type Init map[string]string

// componentNames lists the URL components in the standard's order.
var componentNames = [...]string{"protocol", "username", "password", "hostname", "port", "pathname", "search", "hash"}

// initType is the type argument of "process a URLPatternInit".
type initType bool

const (
	typePattern initType = false
	typeURL     initType = true
)

func (in Init) has(keys ...string) bool {
	for _, k := range keys {
		if _, ok := in[k]; ok {
			return true
		}
	}
	return false
}

// processInit implements "process a URLPatternInit" (URL Pattern Standard
// §3.2). defaults holds the non-null component arguments.
func processInit(init Init, typ initType, defaults Init) (Init, error) {
	result := Init{}
	for k, v := range defaults {
		result[k] = v
	}
	var baseURL *whatwgurl.URL
	if base, ok := init["baseURL"]; ok {
		var err error
		if baseURL, err = whatwgurl.Parse(base, nil); err != nil {
			return nil, errBaseURL
		}
		if !init.has("protocol") {
			result["protocol"] = processBaseURLString(baseURL.Scheme, typ)
		}
		if typ != typePattern && !init.has("protocol", "hostname", "port", "username") {
			result["username"] = processBaseURLString(baseURL.Username, typ)
		}
		if typ != typePattern && !init.has("protocol", "hostname", "port", "username", "password") {
			result["password"] = processBaseURLString(baseURL.Password, typ)
		}
		if !init.has("protocol", "hostname") {
			result["hostname"] = processBaseURLString(baseURL.HostString(), typ)
		}
		if !init.has("protocol", "hostname", "port") {
			result["port"] = baseURL.PortString()
		}
		if !init.has("protocol", "hostname", "port", "pathname") {
			result["pathname"] = processBaseURLString(baseURL.PathString(), typ)
		}
		if !init.has("protocol", "hostname", "port", "pathname", "search") {
			result["search"] = processBaseURLString(baseURL.Query, typ)
		}
		if !init.has("protocol", "hostname", "port", "pathname", "search", "hash") {
			result["hash"] = processBaseURLString(baseURL.Fragment, typ)
		}
	}
	var err error
	if v, ok := init["protocol"]; ok {
		v = strings.TrimSuffix(v, ":")
		if typ != typePattern {
			if v, err = canonicalizeProtocol(v); err != nil {
				return nil, err
			}
		}
		result["protocol"] = v
	}
	for _, name := range [...]string{"username", "password", "hostname"} {
		v, ok := init[name]
		if !ok {
			continue
		}
		if typ != typePattern {
			switch name {
			case "username":
				v, err = canonicalizeUsername(v)
			case "password":
				v, err = canonicalizePassword(v)
			default:
				v, err = canonicalizeHostname(v)
			}
			if err != nil {
				return nil, err
			}
		}
		result[name] = v
	}
	protocol := result["protocol"]
	if v, ok := init["port"]; ok {
		if typ != typePattern {
			if v, err = canonicalizePortFor(v, &protocol); err != nil {
				return nil, err
			}
		}
		result["port"] = v
	}
	if v, ok := init["pathname"]; ok {
		if baseURL != nil && !baseURL.HasOpaquePath && !isAbsolutePathname(v, typ) {
			baseURLPath := processBaseURLString(baseURL.PathString(), typ)
			if slash := strings.LastIndexByte(baseURLPath, '/'); slash >= 0 {
				v = baseURLPath[:slash+1] + v
			}
		}
		if typ != typePattern {
			if protocol == "" || whatwgurl.IsSpecialScheme(protocol) {
				v, err = canonicalizePathname(v)
			} else {
				v, err = canonicalizeOpaquePathname(v)
			}
			if err != nil {
				return nil, err
			}
		}
		result["pathname"] = v
	}
	if v, ok := init["search"]; ok {
		v = strings.TrimPrefix(v, "?")
		if typ != typePattern {
			v, _ = canonicalizeSearch(v)
		}
		result["search"] = v
	}
	if v, ok := init["hash"]; ok {
		v = strings.TrimPrefix(v, "#")
		if typ != typePattern {
			v, _ = canonicalizeHash(v)
		}
		result["hash"] = v
	}
	return result, nil
}

// processBaseURLString implements "process a base URL string".
func processBaseURLString(input string, typ initType) string {
	if typ != typePattern {
		return input
	}
	return escapePatternString(input)
}

// isAbsolutePathname implements "is an absolute pathname".
func isAbsolutePathname(input string, typ initType) bool {
	if input == "" {
		return false
	}
	if input[0] == '/' {
		return true
	}
	if typ == typeURL || len(input) < 2 {
		return false
	}
	return (input[0] == '\\' || input[0] == '{') && input[1] == '/'
}

// defaultPortString returns the default port of a special scheme in radix
// 10, or "" if it has none.
func defaultPortString(scheme string) string {
	if p := whatwgurl.DefaultPort(scheme); p >= 0 {
		return strconv.Itoa(p)
	}
	return ""
}
