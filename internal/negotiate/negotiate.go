package negotiate

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// WantsJSON reports whether the caller is a JSON (AJAX/SPA/API) client, the
// way Kratos decides it (x.IsJSONRequest): a JSON body, or an Accept that
// negotiates to JSON (AcceptsJSON).
func WantsJSON(r *http.Request) bool {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/json" {
		return true
	}
	return AcceptsJSON(r.Header.Get("Accept"))
}

// offers are what Kratos negotiates Accept against, in its order; the first
// is the default.
var offers = [...]string{"text/html", "text/*", "*/*", "application/json"}

// AcceptsJSON reports whether Accept negotiates to application/json among
// Kratos' offers (text/html, text/*, */*, application/json), as Kratos
// decides it: the range with the highest q wins; at equal q an exact match
// beats type/*, which beats */*; a remaining tie, an empty Accept and one
// that names none of the offers go to text/html. So axios' and Angular's
// "application/json, text/plain, */*" is JSON, while "*/*" and a browser
// navigation are HTML. A range with q=0 or a malformed q is ignored.
func AcceptsJSON(accept string) bool {
	specs := parseAccept(accept)
	best, bestQ, bestWild := offers[0], -1.0, 3
	for _, offer := range offers {
		for _, sp := range specs {
			wild := 0
			switch {
			case sp.q == 0 || sp.q < bestQ:
				continue
			case sp.value == "*/*":
				wild = 2
			case strings.HasSuffix(sp.value, "/*"):
				if !strings.HasPrefix(offer, sp.value[:len(sp.value)-1]) {
					continue
				}
				wild = 1
			case sp.value != offer:
				continue
			}
			if sp.q > bestQ || bestWild > wild {
				best, bestQ, bestWild = offer, sp.q, wild
			}
		}
	}
	return best == "application/json"
}

type acceptSpec struct {
	value string
	q     float64
}

// parseAccept reads an Accept header's media ranges and their q (1 when
// absent). A part that is not a media range, or whose q is not a number
// from 0 to 1, is left out.
func parseAccept(accept string) []acceptSpec {
	var specs []acceptSpec
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(v, 64); err != nil || !(q >= 0 && q <= 1) {
				continue
			}
		}
		specs = append(specs, acceptSpec{value: mt, q: q})
	}
	return specs
}
