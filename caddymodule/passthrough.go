package caddymodule

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// The request headers identity_headers gives the app (docs/differences.md).
const (
	HeaderIdentityID = "X-Kratos-Authenticated-Identity-Id"
	HeaderSessionID  = "X-Kratos-Session-Id"
	// HeaderTraits holds the traits as JSON, base64url-encoded without
	// padding.
	HeaderTraits = "X-Kratos-Identity-Traits"
)

var identityHeaders = []string{HeaderIdentityID, HeaderSessionID, HeaderTraits}

// The placeholders set on every request passed on to the next handler. They
// are empty without a valid session.
const (
	// PlaceholderUserID is Caddy's own: the access log shows it as user_id.
	PlaceholderUserID     = "http.auth.user.id"
	PlaceholderIdentityID = "http.kratos.identity.id"
	PlaceholderSessionID  = "http.kratos.session.id"
	// PlaceholderPrivileged is "true" while the session may make protected
	// changes (privileged_session_max_age), else "false".
	PlaceholderPrivileged = "http.kratos.session.privileged"
	// PlaceholderTraits is the traits as JSON; PlaceholderTraits + "." + a
	// dotted path (name.first, emails.0) is one trait: strings, numbers and
	// booleans as such, arrays and objects as JSON, "" when missing.
	PlaceholderTraits = "http.kratos.identity.traits"
)

// passThrough sends a request outside the public prefix on to next, with
// the placeholders (and with identity_headers, the headers) of its
// session; with require_session, a request without one is answered here.
func (h *Handler) passThrough(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if h.IdentityHeaders {
		stripIdentityHeaders(r.Header)
	}
	r, cur := h.current(r)
	if cur.err != nil {
		// The app must keep working while the store is down (docs/differences.md):
		// the request goes on as if it had no session, except where one is
		// required. The error holds no token.
		msg := "identity store unreachable; the request goes on without identity"
		if h.RequireSession {
			msg = "identity store unreachable; answering 503 (require_session)"
		}
		h.storeLog.Warn(msg, zap.Error(cur.err))
	}
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if cur.sess == nil {
		if repl != nil {
			publishNoSession(repl)
		}
		if h.RequireSession && !isPreflight(r) {
			if cur.err != nil {
				h.svc.StoreUnavailable(w, r)
			} else {
				h.svc.RequireSession(w, r, originalRequestURI(r))
			}
			return nil
		}
		return next.ServeHTTP(w, r)
	}

	if repl != nil {
		publishSession(repl, cur.sess, cur.id, h.svc.Privileged(cur.sess))
	}
	if h.IdentityHeaders {
		r.Header.Set(HeaderIdentityID, cur.id.ID)
		r.Header.Set(HeaderSessionID, cur.sess.ID)
		r.Header.Set(HeaderTraits, base64.RawURLEncoding.EncodeToString(traitsJSON(cur.id.Traits)))
	}
	return next.ServeHTTP(w, r)
}

// stripIdentityHeaders removes whatever the client sent under the names
// of identityHeaders, also spelled with underscores: CGI and FastCGI
// (php_fastcgi) turn both X-Kratos-Session-Id and X_Kratos_Session_Id into
// HTTP_X_KRATOS_SESSION_ID, so the look-alike would reach the app as ours.
func stripIdentityHeaders(h http.Header) {
	for name := range h {
		canon := strings.ReplaceAll(name, "_", "-")
		for _, ours := range identityHeaders {
			if strings.EqualFold(canon, ours) {
				delete(h, name)
			}
		}
	}
}

// currentKey keys the session lookup of a request in its context.
type currentKey struct{}

// currentSession is a request's session lookup: its session and identity
// (nil without a valid session; shared records, never to be changed) or the
// store's error.
type currentSession struct {
	poolKey string // the store it was read from
	sess    *identity.Session
	id      *identity.Identity
	err     error
}

// current looks up the request's session in the live store. A request
// without a well-formed token costs no store round trip. The answer is kept
// in the returned request's context, so a second kratos handler of the
// route on the same store (one with require_session on some paths, say)
// does not read the store again.
func (h *Handler) current(r *http.Request) (*http.Request, currentSession) {
	if c, ok := r.Context().Value(currentKey{}).(*currentSession); ok && h.poolKey != "" && c.poolKey == h.poolKey {
		return r, *c
	}
	sess, id, err := h.svc.ViewCurrent(r)
	c := &currentSession{poolKey: h.poolKey, sess: sess, id: id, err: err}
	if h.poolKey != "" && (sess != nil || err != nil) {
		r = r.WithContext(context.WithValue(r.Context(), currentKey{}, c))
	}
	return r, *c
}

// publishSession sets the placeholders of a valid session.
func publishSession(repl *caddy.Replacer, sess *identity.Session, id *identity.Identity, privileged bool) {
	repl.Set(PlaceholderUserID, id.ID)
	repl.Set(PlaceholderIdentityID, id.ID)
	repl.Set(PlaceholderSessionID, sess.ID)
	repl.Set(PlaceholderPrivileged, privileged)
	setTraits(repl, traitsValue(id.Traits))
}

// publishNoSession makes the placeholders known and empty, so that a
// header_up X-User {http.auth.user.id} sends "" and never the placeholder's
// text. A user id another auth handler set before us stays.
func publishNoSession(repl *caddy.Replacer) {
	if _, ok := repl.Get(PlaceholderUserID); !ok {
		repl.Set(PlaceholderUserID, "")
	}
	repl.Set(PlaceholderIdentityID, "")
	repl.Set(PlaceholderSessionID, "")
	repl.Set(PlaceholderPrivileged, false)
	setTraits(repl, traitsValue(nil))
}

// setTraits sets {http.kratos.identity.traits} and, the first time on this
// replacer, adds the provider of its leaves, which reads them from it.
func setTraits(repl *caddy.Replacer, traits traitsValue) {
	_, provided := repl.Get(PlaceholderTraits)
	repl.Set(PlaceholderTraits, traits)
	if !provided {
		repl.Map(traitLeaves(repl))
	}
}

// traitsValue is the value of {http.kratos.identity.traits}; it prints as
// JSON ("" without traits).
type traitsValue map[string]any

func (t traitsValue) String() string {
	if t == nil {
		return ""
	}
	return string(traitsJSON(map[string]any(t)))
}

// traitLeaves answers {http.kratos.identity.traits.<dotted path>} from the
// traits currently set on repl. Leaves are looked up only when a
// placeholder asks for them.
func traitLeaves(repl *caddy.Replacer) caddy.ReplacerFunc {
	return func(key string) (any, bool) {
		path, ok := strings.CutPrefix(key, PlaceholderTraits+".")
		if !ok || path == "" {
			return nil, false
		}
		v, _ := repl.Get(PlaceholderTraits)
		traits, _ := v.(traitsValue)
		leaf, ok := lookupTrait(map[string]any(traits), path)
		if !ok {
			return "", true
		}
		return leafString(leaf), true
	}
}

// lookupTrait walks a dotted path through objects and arrays (by index).
func lookupTrait(v any, path string) (any, bool) {
	for part := range strings.SplitSeq(path, ".") {
		switch c := v.(type) {
		case map[string]any:
			next, found := c[part]
			if !found {
				return nil, false
			}
			v = next
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// leafString prints a trait: strings as they are but for control
// characters, numbers and booleans as in JSON, arrays and objects as JSON,
// null as "".
func leafString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return headerSafe(v)
	case map[string]any, []any:
		return string(traitsJSON(v))
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(b)
	}
}

// headerSafe replaces each control character but tab with a space. Leaves
// mostly go into headers (header_up), which cannot hold them: a user who put
// a newline into their name would otherwise get 502 on every page, as Go
// refuses to send the proxied request. JSON output needs no such care, as
// its strings escape control characters.
func headerSafe(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, s)
}

// isControl reports the characters RFC 9110 keeps out of field values.
func isControl(r rune) bool {
	return (r < 0x20 && r != '\t') || r == 0x7f
}

// traitsJSON is the traits as compact JSON ({} for none), with keys in
// order and without HTML escaping.
func traitsJSON(v any) []byte {
	if m, ok := v.(map[string]any); ok && m == nil {
		return []byte("{}")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return []byte("{}")
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// originalRequestURI is the path and query the client asked for, before
// any rewrite in the route ("" outside Caddy).
func originalRequestURI(r *http.Request) string {
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && orig.URL != nil {
		return orig.URL.RequestURI()
	}
	return ""
}

// isPreflight reports whether r is a CORS preflight, which browsers send
// without cookies; require_session lets it through, without identity.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}
