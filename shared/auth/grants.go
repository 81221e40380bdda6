package auth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"unicode"
	"unicode/utf8"
)

// readGrants fills c.Form, c.Publish, c.Subscribe and c.Payload from the raw
// authorization_details and legacy mercure claims; legacyName is the name
// of the claim legacy came from, for error messages. The legacy claim is
// read only when legacyOK is set and the token has no authorization_details
// entries, as the reference hub does. Any malformed Mercure grant refuses
// the whole token (Mercure "Authorization Details": no partial acceptance).
func (c *Claims) readGrants(details, legacy json.RawMessage, legacyName string, legacyOK bool) error {
	if !isNull(details) {
		var entries []json.RawMessage
		if err := json.Unmarshal(details, &entries); err != nil {
			return fmt.Errorf(`%w: claim "authorization_details" must be an array of objects, not %s`, ErrInvalidClaim, jsonKind(details))
		}
		if len(entries) > 0 {
			return c.readDetails(entries)
		}
	}
	if legacyOK && !isNull(legacy) {
		return c.readLegacy(legacy, legacyName)
	}
	return nil
}

// readDetails reads the Mercure entries of an authorization_details claim
// and skips entries of other types (RFC 9396 section 2).
func (c *Claims) readDetails(entries []json.RawMessage) error {
	for i, e := range entries {
		var d struct {
			Type    string            `json:"type"`
			Actions []string          `json:"actions"`
			Topics  []json.RawMessage `json:"topics"`
			Payload json.RawMessage   `json:"payload"`
		}
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(e, &head); err != nil {
			return fmt.Errorf("%w: authorization_details[%d] is not an object", ErrInvalidClaim, i)
		}
		if head.Type != DetailType {
			continue
		}
		if err := json.Unmarshal(e, &d); err != nil {
			return fmt.Errorf(`%w: authorization_details[%d]: "actions" must be an array of strings and "topics" an array of objects`, ErrInvalidClaim, i)
		}
		if len(d.Actions) == 0 || len(d.Topics) == 0 {
			return fmt.Errorf("%w: authorization_details[%d] needs non-empty actions and topics", ErrInvalidClaim, i)
		}
		payload := nonNull(d.Payload)
		if payload != nil && !isObject(payload) {
			return fmt.Errorf("%w: authorization_details[%d].payload is not an object", ErrInvalidClaim, i)
		}
		// Unknown actions grant nothing and do not invalidate the token.
		pub, sub := slices.Contains(d.Actions, ActionPublish), slices.Contains(d.Actions, ActionSubscribe)
		c.Form = FormDetails
		for _, t := range d.Topics {
			m, err := readMatcher(t, false)
			if err != nil {
				return fmt.Errorf("%w: authorization_details[%d]: %v", ErrInvalidClaim, i, err)
			}
			if pub {
				c.Publish = append(c.Publish, Matcher{Match: m.Match, Type: m.Type})
			}
			if sub {
				m.Payload = payload
				c.Subscribe = append(c.Subscribe, m)
			}
			if err := c.checkCount(); err != nil {
				return err
			}
		}
	}
	return nil
}

// readLegacy reads the pre-standardization mercure claim (called name in
// the token), whose entries are bare topic selectors or {match, match_type,
// payload} objects.
func (c *Claims) readLegacy(raw json.RawMessage, name string) error {
	var l struct {
		Publish   json.RawMessage `json:"publish"`
		Subscribe json.RawMessage `json:"subscribe"`
		Payload   json.RawMessage `json:"payload"`
	}
	if !isObject(raw) || json.Unmarshal(raw, &l) != nil {
		return fmt.Errorf(`%w: claim %q must be an object {"publish": [...], "subscribe": [...]}, not %s`, ErrInvalidClaim, name, jsonKind(raw))
	}
	c.Form, c.Payload = FormLegacy, nonNull(l.Payload)
	for _, list := range []struct {
		member  string
		raw     json.RawMessage
		dst     *[]Matcher
		publish bool
	}{{"publish", l.Publish, &c.Publish, true}, {"subscribe", l.Subscribe, &c.Subscribe, false}} {
		var entries []json.RawMessage
		if !isNull(list.raw) && json.Unmarshal(list.raw, &entries) != nil {
			return fmt.Errorf(`%w: claim %q: %q must be an array of topic selectors, not %s`, ErrInvalidClaim, name, list.member, jsonKind(list.raw))
		}
		for _, e := range entries {
			m, err := readMatcher(e, true)
			if err != nil {
				return fmt.Errorf("%w: claim %q: %v", ErrInvalidClaim, name, err)
			}
			if list.publish {
				m.Payload = nil // payloads describe subscriptions only
			}
			*list.dst = append(*list.dst, m)
			if err := c.checkCount(); err != nil {
				return err
			}
		}
	}
	return nil
}

// readMatcher reads one topic matcher object (Mercure "Topic Matcher
// List"), or, when legacy is set, also a bare selector string.
func readMatcher(raw json.RawMessage, legacy bool) (Matcher, error) {
	var m Matcher
	if legacy && len(raw) > 0 && raw[0] == '"' {
		m.Type = MatchSelector
		if err := json.Unmarshal(raw, &m.Match); err != nil {
			return m, err
		}
		return m, checkMatch(m.Match)
	}
	var o struct {
		Match     *string         `json:"match"`
		MatchType *string         `json:"match_type"`
		Payload   json.RawMessage `json:"payload"`
	}
	if isNull(raw) || json.Unmarshal(raw, &o) != nil || o.Match == nil {
		if legacy {
			return m, fmt.Errorf(`topic matcher %s is neither a selector string nor an object with a "match" string`, clip(raw))
		}
		return m, fmt.Errorf(`topic matcher %s is not an object with a "match" string`, clip(raw))
	}
	m.Match, m.Type = *o.Match, MatchExact
	if o.MatchType != nil {
		m.Type = MatchType(*o.MatchType)
	}
	if m.Type != MatchExact && m.Type != MatchURLPattern {
		return m, fmt.Errorf("unsupported match_type %q", m.Type)
	}
	if legacy {
		m.Payload = nonNull(o.Payload)
	}
	return m, checkMatch(m.Match)
}

// checkCount enforces [MaxMatchers].
func (c *Claims) checkCount() error {
	if len(c.Publish)+len(c.Subscribe) > MaxMatchers {
		return fmt.Errorf("%w: more than %d topic matchers", ErrInvalidClaim, MaxMatchers)
	}
	return nil
}

// checkMatch enforces the constraints the Mercure section "Terminology" puts
// on topics: valid UTF-8 without C0, C1, DEL or Unicode format characters,
// plus a non-empty value of at most [MaxMatchLength] bytes.
func checkMatch(s string) error {
	if s == "" || len(s) > MaxMatchLength {
		return fmt.Errorf("topic matcher length %d is not within 1..%d", len(s), MaxMatchLength)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("topic matcher %q is not valid UTF-8", s)
	}
	for _, r := range s {
		if r <= 0x1f || (r >= 0x7f && r <= 0x9f) || unicode.Is(unicode.Cf, r) {
			return fmt.Errorf("topic matcher %q holds a control or format character", s)
		}
	}
	return nil
}

// isNull reports whether raw is absent or the JSON null.
func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || bytes.Equal(raw, []byte("null"))
}

// nonNull returns raw, or nil when raw is absent or null.
func nonNull(raw json.RawMessage) json.RawMessage {
	if isNull(raw) {
		return nil
	}
	return raw
}

// isObject reports whether raw is a JSON object.
func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

// clip shortens raw JSON for an error message.
func clip(raw json.RawMessage) string {
	if len(raw) > 40 {
		return string(raw[:40]) + "…"
	}
	return string(raw)
}
