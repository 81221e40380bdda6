package jsapi_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/edge-sse/edge-sse/worker/jsapi"
)

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// block returns the text of src from the line that starts with open to the
// first line after it that is exactly "};".
func block(t *testing.T, src, open string) string {
	t.Helper()
	i := strings.Index(src, "\n"+open)
	if i < 0 {
		t.Fatalf("no %q", open)
	}
	j := strings.Index(src[i:], "\n};")
	if j < 0 {
		t.Fatalf("%q does not end", open)
	}
	return src[i : i+j]
}

// methods returns the methods defined at this indentation: name → params.
func methods(src string, indent int) map[string][]string {
	re := regexp.MustCompile(`(?m)^` + strings.Repeat(" ", indent) + `(\w+)\(([^)]*)\)\s*\{`)
	out := map[string][]string{}
	for _, m := range re.FindAllStringSubmatch(src, -1) {
		var params []string
		for _, p := range strings.Split(m[2], ",") {
			if p = strings.TrimSpace(p); p != "" {
				params = append(params, p)
			}
		}
		out[m[1]] = params
	}
	return out
}

func calls(object string, by jsapi.Side) map[string]jsapi.Call {
	out := map[string]jsapi.Call{}
	for _, c := range jsapi.Calls {
		if c.Object == object && c.DefinedBy == by {
			out[c.Name] = c
		}
	}
	return out
}

// TestJSDefinesWhatGoCalls checks every function Go calls in the
// JavaScript, and nothing more, against the contract: name and parameters.
func TestJSDefinesWhatGoCalls(t *testing.T) {
	entry, pump := read(t, "entry.mjs"), read(t, "feedpump.mjs")
	feeds := block(t, pump, "export const feeds = {")
	for _, tc := range []struct {
		object string
		got    map[string][]string
	}{
		{"streams", methods(block(t, entry, "const streams = {"), 2)},
		{"feeds", methods(feeds, 2)},
		{"pump", methods(feeds, 6)},
	} {
		want := calls(tc.object, jsapi.JS)
		if len(want) == 0 {
			t.Fatalf("the contract has no calls on %s", tc.object)
		}
		for name, c := range want {
			params, ok := tc.got[name]
			if !ok {
				t.Errorf("%s.%s is in the contract but the JavaScript does not define it", tc.object, name)
				continue
			}
			if !slices.Equal(params, c.Params) {
				t.Errorf("%s.%s(%s) in the JavaScript, (%s) in the contract", tc.object, name, strings.Join(params, ", "), strings.Join(c.Params, ", "))
			}
		}
		for name := range tc.got {
			if _, ok := want[name]; !ok {
				t.Errorf("the JavaScript defines %s.%s, which the contract does not list", tc.object, name)
			}
		}
	}
	// take resolves to the fields the contract names, and no others.
	fields := []string{jsapi.TakeBytes, jsapi.TakeEnded, jsapi.TakeError, jsapi.TakeArrivedAt, jsapi.TakeTakenAt}
	for _, m := range regexp.MustCompile(`resolve\(\{([^}]*)\}\)`).FindAllStringSubmatch(feeds, -1) {
		for _, f := range strings.Split(m[1], ",") {
			key, _, _ := strings.Cut(strings.TrimSpace(f), ":")
			if !slices.Contains(fields, strings.TrimSpace(key)) {
				t.Errorf("take resolves to a field %q the contract does not list", key)
			}
		}
	}
}

// argCount returns the number of arguments of the call whose "(" is at
// src[open]; a trailing comma adds none.
func argCount(src string, open int) int {
	depth, n, segment := 0, 0, false // segment: the current argument has text
	for i := open; i < len(src); i++ {
		switch c := src[i]; {
		case c == '(' || c == '[' || c == '{':
			if depth > 0 {
				segment = true
			}
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
			if depth == 0 {
				if segment {
					n++
				}
				return n
			}
		case c == ',' && depth == 1:
			n++
			segment = false
		case c > ' ':
			segment = true
		}
	}
	return -1
}

// TestEntryCallsWhatGoDefines checks entry.mjs's calls into Go, the result
// fields it reads and the context it starts Go with against the contract.
func TestEntryCallsWhatGoDefines(t *testing.T) {
	entry := read(t, "entry.mjs")
	m := regexp.MustCompile(`(?m)^const CONTRACT_VERSION = (\d+);`).FindStringSubmatch(entry)
	if m == nil {
		t.Fatal("entry.mjs has no CONTRACT_VERSION")
	}
	if v, _ := strconv.Atoi(m[1]); v != jsapi.Version {
		t.Errorf("entry.mjs CONTRACT_VERSION %d, jsapi.Version %d", v, jsapi.Version)
	}
	if !strings.Contains(entry, "context.binding."+jsapi.BindVersion+" !== CONTRACT_VERSION") {
		t.Errorf("entry.mjs does not check binding.%s at start", jsapi.BindVersion)
	}
	defined := calls("binding", jsapi.Go)
	called := map[string]bool{}
	re := regexp.MustCompile(`\b(?:hub|binding)\.(\w+)\(`)
	for _, loc := range re.FindAllStringSubmatchIndex(entry, -1) {
		name := entry[loc[2]:loc[3]]
		c, ok := defined[name]
		if !ok {
			t.Errorf("entry.mjs calls %s, which Go does not define in the contract", name)
			continue
		}
		called[name] = true
		if n := argCount(entry, loc[1]-1); n != len(c.Params) {
			t.Errorf("entry.mjs calls %s with %d arguments, the contract says %d (%s)", name, n, len(c.Params), strings.Join(c.Params, ", "))
		}
	}
	for name := range defined {
		if !called[name] {
			t.Errorf("the contract lists binding.%s but entry.mjs never calls it", name)
		}
	}
	open := []string{jsapi.OpenStatus, jsapi.OpenID, jsapi.OpenHeaders, jsapi.OpenBody}
	for _, m := range regexp.MustCompile(`\bopened\.(\w+)`).FindAllStringSubmatch(entry, -1) {
		if !slices.Contains(open, m[1]) {
			t.Errorf("entry.mjs reads opened.%s, not a field of open's result", m[1])
		}
	}
	answer := []string{jsapi.AnswerStatus, jsapi.AnswerHeaders, jsapi.AnswerBody, jsapi.AnswerForward, jsapi.AnswerForwardMethod,
		jsapi.AnswerForwardHeaders, jsapi.AnswerRelayAPI, jsapi.AnswerMaxBytes}
	read := 0
	for _, m := range regexp.MustCompile(`\banswer\.(\w+)`).FindAllStringSubmatch(entry, -1) {
		read++
		if !slices.Contains(answer, m[1]) {
			t.Errorf("entry.mjs reads answer.%s, not a field of answer's result", m[1])
		}
	}
	if read == 0 {
		t.Error("entry.mjs reads no field of answer's result (is the front door's answer still called answer?)")
	}
	modes := regexp.MustCompile(`startGo\(\{([^}]*\{\}[^}]*)\}\)`).FindAllStringSubmatch(entry, -1)
	if len(modes) != 2 {
		t.Fatalf("found %d startGo calls in entry.mjs, want 2 (front door and hub)", len(modes))
	}
	for _, m := range modes {
		ctx := m[1]
		for _, key := range []string{jsapi.ContextBinding, jsapi.ContextMode} {
			if !strings.Contains(ctx, key) {
				t.Errorf("startGo context %q lacks %s", ctx, key)
			}
		}
		switch {
		case strings.Contains(ctx, `mode: "`+jsapi.ModeHub+`"`):
			for _, key := range []string{jsapi.ContextStreams, jsapi.ContextFeeds} {
				if !regexp.MustCompile(`\b` + key + `\b`).MatchString(ctx) {
					t.Errorf("the hub's context %q lacks %s", ctx, key)
				}
			}
		case strings.Contains(ctx, `mode: "`+jsapi.ModeFront+`"`):
		default:
			t.Errorf("startGo context %q has no known mode", ctx)
		}
	}
}

// TestGoUsesTheContract checks that package main names every call of the
// contract through this package, never as a string of its own.
func TestGoUsesTheContract(t *testing.T) {
	files, err := filepath.Glob("../*.go")
	if err != nil || len(files) == 0 {
		t.Fatal("no Go files in worker/", err)
	}
	names := map[string]bool{jsapi.Context: true}
	for _, c := range jsapi.Calls {
		names[c.Name] = true
	}
	used := map[string]bool{}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && id.Name == "jsapi" {
					used[n.Sel.Name] = true
				}
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok || len(n.Args) == 0 || !slices.Contains([]string{"Get", "Set", "Call"}, sel.Sel.Name) {
					return true
				}
				if lit, ok := n.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, _ := strconv.Unquote(lit.Value); names[s] {
						t.Errorf("%s: %s(%s): name it through package jsapi", fset.Position(lit.Pos()), sel.Sel.Name, lit.Value)
					}
				}
			}
			return true
		})
	}
	for _, want := range []string{"Version", "BindVersion", "Open", "Attach", "Detach", "Stats", "StreamsEnqueue", "StreamsClose", "FeedsOpen", "PumpTake", "PumpCancel", "ContextStreams", "ContextFeeds", "ContextMode", "ModeHub"} {
		if !used[want] {
			t.Errorf("package main does not use jsapi.%s: the contract lists a call Go does not make or define", want)
		}
	}
}
