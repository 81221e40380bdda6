package front

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
)

// LibraryPath is where the worker serves the browser client
// (worker/client/edge-sse.js), for pages to import as an ES module.
const LibraryPath = "/edge-sse.js"

// Library returns the handler of the browser client js. The path is
// stable across versions, so caches keep it an hour and then revalidate
// with its ETag (a digest of the bytes), getting 304 while it is
// unchanged. Any origin may import it: the code is public, and a module
// script from another origin needs CORS. It is never sniffed as anything
// but JavaScript.
func Library(js []byte) http.Handler {
	sum := sha256.Sum256(js)
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("ETag", etag)
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Cross-Origin-Resource-Policy", "cross-origin")
		h.Set("X-Content-Type-Options", "nosniff")
		if etagMatches(r.Header.Get("If-None-Match"), etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if r.Method != http.MethodHead {
			w.Write(js)
		}
	})
}

// etagMatches reports whether an If-None-Match header lists etag (or is
// "*"), comparing weakly as RFC 9110 §13.1.2 says.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
