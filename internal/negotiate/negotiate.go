package negotiate

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// wantsJSON reports whether the caller is a JSON (AJAX/SPA/API) client, the
// way Kratos decides it: an Accept header that prefers application/json over
// text/html, or a JSON body.
func WantsJSON(r *http.Request) bool {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/json" {
		return true
	}
	return AcceptsJSON(r.Header.Get("Accept"))
}

// acceptsJSON negotiates Accept between text/html (preferred on a tie) and
// application/json.
func AcceptsJSON(accept string) bool {
	jsonQ, htmlQ := -1.0, -1.0
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(v, 64); err != nil {
				continue
			}
		}
		switch mt {
		case "application/json", "application/*":
			jsonQ = max(jsonQ, q)
		case "text/html", "text/*":
			htmlQ = max(htmlQ, q)
		case "*/*":
			jsonQ, htmlQ = max(jsonQ, q), max(htmlQ, q)
		}
	}
	return jsonQ > 0 && jsonQ > htmlQ
}
