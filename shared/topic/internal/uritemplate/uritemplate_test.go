package uritemplate

import (
	"regexp"
	"strings"
	"testing"

	yosida95 "github.com/yosida95/uritemplate/v3"
)

// reference returns what the reference hub's library makes of template:
// whether it parses and the expression it matches with. The library panics
// on expressions RE2 refuses; those count as not parsing.
func reference(template string) (expr string, ok bool) {
	defer func() {
		if recover() != nil {
			expr, ok = "", false
		}
	}()
	t, err := yosida95.New(template)
	if err != nil {
		return "", false
	}
	return t.Regexp().String(), true
}

var templates = []struct {
	name     string
	template string
	valid    bool
}{
	{"literal", "https://example.com/books/1", true},
	{"simple", "https://example.com/books/{id}", true},
	{"two expressions", "https://example.com/users/{user}/books/{book}", true},
	{"reserved", "https://example.com/{+path}", true},
	{"fragment", "https://example.com/page{#section}", true},
	{"label", "https://example.com/file{.ext}", true},
	{"path", "https://example.com{/segments*}", true},
	{"path params", "https://example.com/map{;x,y}", true},
	{"query", "https://example.com/search{?q,lang}", true},
	{"query continuation", "https://example.com/search?fixed=yes{&x}", true},
	{"prefix modifier", "https://example.com/{var:3}", true},
	{"explode", "https://example.com/{list*}", true},
	{"many variables", "{a,b,c,d,e,f,g,h,i,j}", true},
	{"dotted name", "{a.b.c}", true},
	{"pct-encoded name", "{a%20b}", true},
	{"pct-encoded literal", "https://example.com/a%20b/{id}", true},
	{"apostrophe literal", "https://example.com/it's/{id}", true},
	{"unicode literal", "https://example.com/café/{id}", true},
	{"empty", "", true},
	{"unclosed", "https://example.com/{", false},
	{"unopened", "https://example.com/}", false},
	{"empty expression", "https://example.com/{}", false},
	{"reserved operator", "https://example.com/{=a}", false},
	{"reserved operator bang", "{!a}", false},
	{"space literal", "https://example.com/a b", false},
	{"bad pct literal", "https://example.com/%zz", false},
	{"bad pct name", "{a%2}", false},
	{"operator without variable", "{.}", false},
	{"leading dot name", "{/.a}", false},
	{"dot name", "{a..b}", false},
	{"trailing dot", "{a.}", false},
	{"zero prefix", "{a:0}", false},
	{"leading zero prefix", "{a:05}", false},
	{"prefix too long", "{a:10000}", false},
	{"prefix max", "{a:9999}", true},
	{"missing prefix", "{a:}", false},
	{"modifier then junk", "{a*b}", false},
	{"nested", "{a{b}}", false},
	{"non-ASCII name", "{é}", false},
	{"invalid UTF-8", "https://example.com/\xff{id}", false},
	{"replacement character", "https://example.com/\ufffd{id}", false},
	{"noncharacter", "https://example.com/\ufdd0", false},
	{"tag character", "https://example.com/\U000E0041", false},
	{"private use", "https://example.com/\U000F0000", true},
}

func TestRegexpMatchesReference(t *testing.T) {
	for _, tc := range templates {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Regexp(tc.template)
			if ok != tc.valid {
				t.Fatalf("Regexp(%q) ok = %v, want %v", tc.template, ok, tc.valid)
			}
			want, wantOK := reference(tc.template)
			if ok != wantOK || got != want {
				t.Errorf("Regexp(%q) = %q, %v\nreference   %q, %v", tc.template, got, ok, want, wantOK)
			}
			if ok {
				if _, err := regexp.Compile(got); err != nil {
					t.Errorf("expression does not compile: %v", err)
				}
			}
		})
	}
}

func TestRegexpTooManyVariables(t *testing.T) {
	// The reference library panics on this template; Regexp returns an
	// expression RE2 refuses, which the caller reports as too complex.
	tpl := "{" + strings.Repeat("a,", 1001) + "a}"
	expr, ok := Regexp(tpl)
	if !ok {
		t.Fatal("template rejected")
	}
	if _, err := regexp.Compile(expr); err == nil {
		t.Fatal("RE2 accepted a repetition above 1000")
	}
}

// FuzzRegexp checks that Regexp accepts the same templates as the reference
// hub's library and writes the same expression.
func FuzzRegexp(f *testing.F) {
	for _, tc := range templates {
		f.Add(tc.template)
	}
	f.Fuzz(func(t *testing.T, template string) {
		got, ok := Regexp(template)
		want, wantOK := reference(template)
		if !wantOK && ok {
			// The reference panicked on a valid template: RE2 refused it.
			if _, err := regexp.Compile(got); err != nil {
				return
			}
		}
		if ok != wantOK || got != want {
			t.Fatalf("Regexp(%q) = %q, %v\nreference   %q, %v", template, got, ok, want, wantOK)
		}
	})
}
