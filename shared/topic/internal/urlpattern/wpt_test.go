package urlpattern

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/edge-sse/edge-sse/shared/topic/internal/whatwgurl"
)

// wptEntry is an entry of the web-platform-tests URL Pattern data
// (urlpattern/resources/urlpatterntestdata.json, see testdata/README.md).
type wptEntry struct {
	Pattern       []any `json:"pattern"`
	Inputs        []any `json:"inputs"`
	ExpectedObj   any   `json:"expected_obj"`
	ExpectedMatch any   `json:"expected_match"`
}

// wptBudget is a budget no WPT pattern comes close to.
const wptBudget = 1 << 20

// wptFailClosed maps the JSON of a pattern this package deliberately does
// not support to why. For these, the test asserts that the deviation fails
// closed: the pattern does not compile, or the input does not match.
var wptFailClosed = map[string]string{
	`[{"hostname":"xn--caf-dma.com"}]`:           unicodeHost,
	`[{"hostname":"café.com"}]`:                  unicodeHost,
	`["http://🚲.com/"]`:                          unicodeHost,
	`[{"pathname":"/([[a-z]--a])"}]`:             vModeClass,
	`[{"pathname":"/([\\d\u0026\u0026[0-1]])"}]`: vModeClass,
}

const (
	unicodeHost = "Unicode hostnames need the UTS #46 tables left out of whatwgurl"
	vModeClass  = "v-mode class set operations are rejected (see checkRegexpGroup)"
)

func TestWPTURLPattern(t *testing.T) {
	data, err := os.ReadFile("testdata/urlpatterntestdata.json")
	if err != nil {
		t.Skipf("WPT data not readable here: %v", err)
	}
	var entries []wptEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		t.Fatal(err)
	}
	var agree, skipped int
	for i, e := range entries {
		key, _ := json.Marshal(e.Pattern)
		if reason, ok := wptFailClosed[string(key)]; ok {
			if matchesWPT(e) {
				t.Errorf("entry %d %s matched; want it to fail closed: %s", i, key, reason)
			}
			skipped++
			continue
		}
		if usesIgnoreCase(e.Pattern) {
			skipped++ // Mercure never enables ignoreCase.
			continue
		}
		got, err := runWPT(e)
		if err != nil {
			t.Errorf("entry %d %s: %v", i, key, err)
			continue
		}
		if got != "" {
			t.Errorf("entry %d %s inputs %v: %s", i, key, e.Inputs, got)
			continue
		}
		agree++
	}
	t.Logf("%d WPT entries agree, %d skipped", agree, skipped)
}

// matchesWPT reports whether the entry's pattern compiles and matches its
// input.
func matchesWPT(e wptEntry) bool {
	budget := wptBudget
	p, err := newFromWPT(e.Pattern, &budget)
	if err != nil {
		return false
	}
	in, ok, err := inputFromWPT(e.Inputs)
	return err == nil && ok && p.Match(&in)
}

func usesIgnoreCase(args []any) bool {
	for _, a := range args {
		if m, ok := a.(map[string]any); ok {
			if v, ok := m["ignoreCase"].(bool); ok && v {
				return true
			}
		}
	}
	return false
}

// runWPT checks one entry and describes the first disagreement, if any.
func runWPT(e wptEntry) (string, error) {
	budget := wptBudget
	p, err := newFromWPT(e.Pattern, &budget)
	if e.ExpectedObj == "error" {
		if err == nil {
			return "compiled, want error", nil
		}
		return "", nil
	}
	if err != nil {
		return fmt.Sprintf("error %v, want a pattern", err), nil
	}
	if want, ok := e.ExpectedObj.(map[string]any); ok {
		got := p.Components()
		for name, v := range want {
			if s, ok := v.(string); ok && got[name] != s {
				return fmt.Sprintf("%s pattern string %q, want %q", name, got[name], s), nil
			}
		}
	}
	in, ok, err := inputFromWPT(e.Inputs)
	if e.ExpectedMatch == "error" {
		if err == nil {
			return "input accepted, want error", nil
		}
		return "", nil
	}
	if err != nil {
		return "", err
	}
	matched := ok && p.Match(&in)
	if want := e.ExpectedMatch != nil; matched != want {
		return fmt.Sprintf("match %v, want %v (input %+v)", matched, want, in), nil
	}
	return "", nil
}

func newFromWPT(args []any, budget *int) (*Pattern, error) {
	if len(args) == 0 {
		return NewInit(Init{}, budget)
	}
	switch first := args[0].(type) {
	case string:
		base := ""
		if len(args) > 1 {
			if s, ok := args[1].(string); ok {
				if s == "" {
					return nil, errBaseURL
				}
				base = s
			}
		}
		return New(first, base, budget)
	case map[string]any:
		if len(args) > 1 {
			if _, ok := args[1].(string); ok {
				return nil, fmt.Errorf("base URL with a URLPatternInit")
			}
		}
		return NewInit(toInit(first), budget)
	}
	return nil, fmt.Errorf("unsupported pattern arguments %v", args)
}

func inputFromWPT(args []any) (Input, bool, error) {
	if len(args) == 0 {
		in, ok := InputFromInit(Init{})
		return in, ok, nil
	}
	switch first := args[0].(type) {
	case string:
		var base *whatwgurl.URL
		if len(args) > 1 {
			b, err := whatwgurl.Parse(args[1].(string), nil)
			if err != nil {
				return Input{}, false, nil
			}
			base = b
		}
		in, ok := ParseInput(first, base)
		return in, ok, nil
	case map[string]any:
		if len(args) > 1 {
			return Input{}, false, fmt.Errorf("base URL with a URLPatternInit input")
		}
		in, ok := InputFromInit(toInit(first))
		return in, ok, nil
	}
	return Input{}, false, fmt.Errorf("unsupported inputs %v", args)
}

func toInit(m map[string]any) Init {
	init := Init{}
	for k, v := range m {
		if s, ok := v.(string); ok {
			init[k] = s
		}
	}
	return init
}
