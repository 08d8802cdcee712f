package negotiate

import (
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestAcceptsJSON(t *testing.T) {
	for accept, want := range map[string]bool{
		"":                                  false,
		"application/json":                  true,
		"Application/JSON":                  true,
		" application/json ":                true,
		"application/json; charset=utf-8":   true,
		"application/json;q=0.5":            true,
		"application/json;q=0":              false,
		"text/html":                         false,
		"*/*":                               false, // a tie: HTML wins
		"application/*":                     true,
		"text/html, application/json":       false,
		"application/json, text/html":       false,
		"application/json, text/html;q=0.9": true,
		"text/html;q=0.9, application/json": true,
		"text/*;q=0.5, application/json":    true,
		"application/json;q=0.5, */*;q=0.1": true,
		"application/json;q=0.1, */*;q=0.5": false,
		"application/json;q=x":              false, // the part is skipped
		"text/html;q=x, application/json":   true,
		"application/json;;":                false, // not a media type
		"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8": false, // Chromium navigation
		"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8":                       false, // Firefox navigation
		"application/json, text/plain, */*":                                                     true,  // axios (@ory/client), Angular
		"application/json;q=0.5, text/html":                                                     false, // the higher q
		"text/plain, */*":                                                                       false, // */* alone decides: a tie, HTML
		"application/json;q=2":                                                                  false, // q above 1: ignored
		"application/json;q=0.8, text/*;q=0.8":                                                  true,  // exact beats type/* at equal q
		"application/json;q=0.8, text/html;q=0.8":                                               false, // a tie of exact matches: HTML
	} {
		if got := AcceptsJSON(accept); got != want {
			t.Errorf("AcceptsJSON(%q) = %v, want %v", accept, got, want)
		}
	}
}

func TestWantsJSON(t *testing.T) {
	for _, tc := range []struct {
		contentType, accept string
		want                bool
	}{
		{"", "", false},
		{"application/json", "", true},
		{"application/json; charset=utf-8", "text/html", true},
		{"APPLICATION/JSON", "", true},
		{"application/x-www-form-urlencoded", "", false},
		{"application/x-www-form-urlencoded", "application/json", true},
		// mime.ParseMediaType returns the type with ErrInvalidMediaParameter.
		{"application/json;;", "", true},
		{"application/json/x", "", false}, // does not parse
	} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		if tc.contentType != "" {
			r.Header.Set("Content-Type", tc.contentType)
		}
		if tc.accept != "" {
			r.Header.Set("Accept", tc.accept)
		}
		if got := WantsJSON(r); got != tc.want {
			t.Errorf("WantsJSON(Content-Type %q, Accept %q) = %v, want %v", tc.contentType, tc.accept, got, tc.want)
		}
	}
}

// onlyJSON is an Accept that lists application/json alone, with at most a
// valid non-zero q (RFC 9110 §12.4.2) and other parameters.
var onlyJSON = regexp.MustCompile(`(?i)^[ \t]*application/json[ \t]*(;[ \t]*q=(0\.[0-9]{0,2}[1-9]|1(\.0{0,3})?)[ \t]*)?(;[ \t]*charset=utf-8[ \t]*)?$`)

// FuzzAcceptsJSON checks AcceptsJSON and WantsJSON on any Accept and
// Content-Type: no panic; an empty Accept (or one naming neither JSON nor a
// wildcard) is not JSON, one listing application/json alone is; the order of
// the Accept's parts and a repeated part do not matter; and WantsJSON is a
// JSON Content-Type or AcceptsJSON.
func FuzzAcceptsJSON(f *testing.F) {
	for _, s := range []string{
		"", "application/json", "APPLICATION/JSON", "application/json;q=0.5", "application/json;q=0", "application/json;q=1.000",
		"text/html", "*/*", "application/*", "text/*", "text/html, application/json", "application/json, text/html;q=0.9",
		"application/json;q=0.5, */*;q=0.1", "application/json;q=x", "application/json;q=nan", "application/json;q=2",
		"application/json;q=-1", "application/json;q=1e-3", "application/json;q=0x1p-1", "application/json;;",
		`application/json; x="a,b"`, `text/html;x="a\"b", application/json`, "application/json;charset*=utf-8''%e2",
		"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
		"application/json, text/plain, */*", "application/problem+json", ",,,", ";", "/", "application/json\x00",
	} {
		f.Add(s, "", "application/json")
		f.Add(s, "text/html", "application/x-www-form-urlencoded")
	}
	f.Fuzz(func(t *testing.T, accept, other, contentType string) {
		got := AcceptsJSON(accept)
		if strings.TrimSpace(accept) == "" && got {
			t.Fatalf("AcceptsJSON(%q) = true for an empty Accept", accept)
		}
		if lower := strings.ToLower(accept); got && !strings.Contains(lower, "json") && !strings.Contains(lower, "*") {
			t.Fatalf("AcceptsJSON(%q) = true without JSON or a wildcard", accept)
		}
		if onlyJSON.MatchString(accept) && !got {
			t.Fatalf("AcceptsJSON(%q) = false for application/json alone", accept)
		}
		if again := AcceptsJSON(accept + "," + accept); again != got {
			t.Fatalf("AcceptsJSON(%q) = %v, twice %v", accept, got, again)
		}
		if ab, ba := AcceptsJSON(accept+","+other), AcceptsJSON(other+","+accept); ab != ba {
			t.Fatalf("AcceptsJSON(%q + %q) = %v, the other way round %v", accept, other, ab, ba)
		}

		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header.Set("Accept", accept)
		r.Header.Set("Content-Type", contentType)
		ct, _, _ := mime.ParseMediaType(contentType)
		if want := ct == "application/json" || got; WantsJSON(r) != want {
			t.Fatalf("WantsJSON(Content-Type %q, Accept %q) = %v, want %v", contentType, accept, !want, want)
		}
	})
}
