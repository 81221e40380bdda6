package topic

import (
	"errors"
	"testing"
)

func TestParamKind(t *testing.T) {
	cases := []struct {
		name     string
		param    string
		wantKind Kind
		wantOK   bool
		wantErr  error
	}{
		{"match", "match", KindExact, true, nil},
		{"match_exact", "match_exact", KindExact, true, nil},
		{"match_urlpattern", "match_urlpattern", KindURLPattern, true, nil},
		{"legacy topic", "topic", KindTopic, true, nil},
		{"last_event_id", "last_event_id", 0, false, nil},
		{"lastEventID", "lastEventID", 0, false, nil},
		{"empty", "", 0, false, nil},
		{"topics", "topics", 0, false, nil},
		{"mat", "mat", 0, false, nil},
		{"case typo", "Match", 0, false, ErrUnknownParam},
		{"type case typo", "match_URLPattern", 0, false, ErrUnknownParam},
		{"unsupported type", "match_regexp", 0, false, ErrUnknownParam},
		{"reserved prefix", "matches", 0, false, ErrUnknownParam},
		{"reserved prefix upper", "MATCHING", 0, false, ErrUnknownParam},
		{"deprecated type name", "match_topic", 0, false, ErrUnknownParam},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kind, ok, err := ParamKind(tc.param)
			if kind != tc.wantKind || ok != tc.wantOK || !errors.Is(err, tc.wantErr) {
				t.Errorf("ParamKind(%q) = %v, %v, %v; want %v, %v, %v", tc.param, kind, ok, err, tc.wantKind, tc.wantOK, tc.wantErr)
			}
		})
	}
}

func TestParseKind(t *testing.T) {
	cases := []struct {
		name      string
		matchType string
		want      Kind
		wantErr   error
	}{
		{"exact", "exact", KindExact, nil},
		{"urlpattern", "urlpattern", KindURLPattern, nil},
		{"case-sensitive", "Exact", 0, ErrUnknownKind},
		{"unknown", "regexp", 0, ErrUnknownKind},
		{"not on the wire", "topic", 0, ErrUnknownKind},
		{"empty", "", 0, ErrUnknownKind},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseKind(tc.matchType)
			if got != tc.want || !errors.Is(err, tc.wantErr) {
				t.Errorf("ParseKind(%q) = %v, %v; want %v, %v", tc.matchType, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestKindStringRoundTrip(t *testing.T) {
	for _, k := range []Kind{KindExact, KindURLPattern} {
		got, err := ParseKind(k.String())
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v; want %v", k.String(), got, err, k)
		}
	}
	if s := KindTopic.String(); s != "topic" {
		t.Errorf("KindTopic.String() = %q", s)
	}
	if s := Kind(0).String(); s != "Kind(0)" {
		t.Errorf("Kind(0).String() = %q", s)
	}
}
