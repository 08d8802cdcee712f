package reply

import (
	"encoding/json"
	"net/http"
)

// noCache marks a self-service response as not cacheable, and as depending
// on the cookies (session and CSRF) the request carried.
func NoCache(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "private, no-cache, no-store, must-revalidate")
	w.Header().Add("Vary", "Cookie")
}

// writeJSON answers with a JSON body.
func JSON(w http.ResponseWriter, status int, v any) {
	NoCache(w)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// redirect answers with a redirect (303 unless code says otherwise).
func Redirect(w http.ResponseWriter, to string, code int) {
	NoCache(w)
	w.Header().Set("Location", to)
	w.WriteHeader(code)
}
