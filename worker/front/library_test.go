package front

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestLibrary(t *testing.T) {
	js := []byte("export const x = 1;\n")
	h := Library(js)
	get := func(method, inm string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, LibraryPath, nil)
		if inm != "" {
			r.Header.Set("If-None-Match", inm)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := get(http.MethodGet, "")
	if w.Code != http.StatusOK || w.Body.String() != string(js) {
		t.Fatalf("GET: %d %q, want 200 with the library", w.Code, w.Body)
	}
	for k, want := range map[string]string{
		"Content-Type":                "text/javascript; charset=utf-8",
		"Cache-Control":               "public, max-age=3600",
		"Access-Control-Allow-Origin": "*",
		"X-Content-Type-Options":      "nosniff",
	} {
		if got := w.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	etag := w.Header().Get("ETag")
	if len(etag) < 10 || etag[0] != '"' {
		t.Fatalf("ETag = %q, want a quoted digest", etag)
	}
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		if w := get(http.MethodGet, inm); w.Code != http.StatusNotModified || w.Body.Len() != 0 {
			t.Errorf("If-None-Match %s: %d with %d bytes, want 304 and no body", inm, w.Code, w.Body.Len())
		}
	}
	if w := get(http.MethodGet, `"other"`); w.Code != http.StatusOK {
		t.Errorf("If-None-Match of another version: %d, want 200", w.Code)
	}
	if w := get(http.MethodHead, ""); w.Code != http.StatusOK || w.Body.Len() != 0 || w.Header().Get("ETag") != etag {
		t.Errorf("HEAD: %d with %d bytes, ETag %q; want 200, no body, the ETag", w.Code, w.Body.Len(), w.Header().Get("ETag"))
	}
	if other := get(http.MethodGet, ""); other.Header().Get("ETag") != etag {
		t.Error("ETag changes between requests")
	}
	w2 := httptest.NewRecorder()
	Library([]byte("export const x = 2;\n")).ServeHTTP(w2, httptest.NewRequest(http.MethodGet, LibraryPath, nil))
	if w2.Header().Get("ETag") == etag {
		t.Error("two versions of the library share an ETag")
	}
}
