package flows

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/seed06f30684/caddy-kratos/events"
	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/reply"
	"github.com/seed06f30684/caddy-kratos/internal/wire"
)

// mySessions answers the self-service session management of Kratos v1.3.1
// (its session/handler.go): GET /sessions lists the caller's other active
// sessions, DELETE /sessions revokes them all, DELETE /sessions/{id} one of
// them. The caller is the session of the cookie or the X-Session-Token, as
// for whoami. As in Kratos these paths take no CSRF token: a cross-site page
// cannot send a DELETE with the cookie (it needs a CORS preflight, and the
// cookie is SameSite=Lax), and the GET changes nothing.
type mySessions struct{ *Service }

// Paging of GET /sessions, as Kratos' (ory/x migration pagination).
const (
	mySessionsDefaultPerPage = 250
	mySessionsMaxPerPage     = 1000
)

// caller is the request's session and identity, or Kratos' 401 for these
// paths (which differs from whoami's: another reason, no id).
func (s mySessions) caller(r *http.Request) (*identity.Session, *identity.Identity, error) {
	sess, id, err := s.Current(r)
	if err != nil {
		return nil, nil, apierror.AsJSON(err)
	}
	if sess == nil {
		return nil, nil, apierror.AsJSON(apierror.New(http.StatusUnauthorized, "No valid session cookie found."))
	}
	return sess, id, nil
}

// OtherSessions is the identity's active sessions other than current, most
// recently authenticated first.
func (s *Service) OtherSessions(r *http.Request, current *identity.Session) ([]*identity.Session, error) {
	all, err := s.cfg.Store.ListSessions(r.Context(), current.IdentityID)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	out := make([]*identity.Session, 0, len(all))
	for _, o := range all {
		if o.ID != current.ID && o.IsActive(now) {
			out = append(out, o)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].AuthenticatedAt.After(out[j].AuthenticatedAt) })
	return out, nil
}

// RevokeOtherSessions revokes every session of the identity but current,
// and reports how many it found.
func (s *Service) RevokeOtherSessions(r *http.Request, current *identity.Session) (int, error) {
	n, err := s.cfg.Store.RevokeSessions(r.Context(), current.IdentityID, current.ID)
	if err == nil && n > 0 {
		// The store revokes them in one go, without naming them.
		s.Emit(r.Context(), events.Event{Name: events.SessionRevoked, IdentityID: current.IdentityID, Flow: "sessions", Reason: "other_sessions_revoked_by_user"})
	}
	return n, err
}

// RevokeOwnSession revokes the session with this id if it is one of the
// identity's own sessions other than current; anything else changes nothing
// and is no error, so ids of other identities' sessions cannot be probed.
func (s *Service) RevokeOwnSession(r *http.Request, current *identity.Session, id string) error {
	other, err := s.cfg.Store.GetSessionByID(r.Context(), id)
	switch {
	case errors.Is(err, identity.ErrNotFound):
		return nil
	case err != nil:
		return err
	case other.ID == current.ID || other.IdentityID != current.IdentityID || !other.Active:
		return nil
	}
	other.Active = false
	if err := s.cfg.Store.UpdateSession(r.Context(), other); err != nil && !errors.Is(err, identity.ErrNotFound) {
		return err
	}
	s.Emit(r.Context(), events.Event{Name: events.SessionRevoked, IdentityID: other.IdentityID, SessionID: other.ID, Flow: "sessions", Reason: "revoked_by_user"})
	return nil
}

// list answers GET /sessions.
func (s mySessions) list(w http.ResponseWriter, r *http.Request) error {
	sess, id, err := s.caller(r)
	if err != nil {
		return err
	}
	others, err := s.OtherSessions(r, sess)
	if err != nil {
		return apierror.AsJSON(err)
	}
	page, perPage := parseMigrationPage(r.URL.Query())
	total := len(others)
	from := min(page*perPage, total)
	if page > total/perPage { // also keeps page*perPage from overflowing
		from = total
	}
	to := min(from+perPage, total)
	out := make([]*wire.Session, 0, to-from)
	for _, o := range others[from:to] {
		out = append(out, s.SessionJSON(r, o, id, false))
	}
	u := *r.URL
	u.Path = s.cfg.PublicPrefix + "/sessions"
	migrationPageHeader(w, &u, total, page, perPage)
	reply.JSON(w, http.StatusOK, out)
	return nil
}

// revokeAll answers DELETE /sessions: 200 {"count": n}.
func (s mySessions) revokeAll(w http.ResponseWriter, r *http.Request) error {
	sess, _, err := s.caller(r)
	if err != nil {
		return err
	}
	n, err := s.RevokeOtherSessions(r, sess)
	if err != nil {
		return apierror.AsJSON(err)
	}
	reply.JSON(w, http.StatusOK, map[string]int{"count": n})
	return nil
}

// revokeOne answers DELETE /sessions/{id}: 204, also for an unknown id or
// another identity's session (nothing happens then, as in Kratos).
func (s mySessions) revokeOne(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodDelete {
		w.Header().Set("Allow", http.MethodDelete)
		return apierror.AsJSON(apierror.New(http.StatusMethodNotAllowed, "The method %s is not allowed here.", r.Method))
	}
	sess, _, err := s.caller(r)
	if err != nil {
		return err
	}
	id, msg := parseSessionID(r.PathValue("id"))
	if msg != "" {
		e := apierror.New(http.StatusBadRequest, "")
		e.Message = msg
		return apierror.AsJSON(e)
	}
	if id == sess.ID {
		e := apierror.New(http.StatusBadRequest, "")
		e.Message = "cannot revoke current session"
		return apierror.AsJSON(e)
	}
	if err := s.RevokeOwnSession(r, sess, id); err != nil {
		return apierror.AsJSON(err)
	}
	reply.NoCache(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// parseSessionID reads a session id as Kratos' UUID parser (gofrs/uuid)
// does: canonical, braced, urn:uuid: or 32 hex digits, any case. For
// anything else it returns what that parser says about it.
func parseSessionID(s string) (string, string) {
	v := strings.ToLower(s)
	switch {
	case len(v) == 45 && strings.HasPrefix(v, "urn:uuid:"):
		v = v[9:]
	case len(v) == 38 && v[0] == '{' && v[37] == '}':
		v = v[1:37]
	case len(v) == 32:
		v = v[:8] + "-" + v[8:12] + "-" + v[12:16] + "-" + v[16:20] + "-" + v[20:]
	}
	if identity.WellFormedID(v) {
		return v, ""
	}
	switch len(s) {
	case 32, 36, 38, 41, 45:
		return "", fmt.Sprintf("uuid: incorrect UUID format in string %q", s)
	default:
		return "", fmt.Sprintf("uuid: incorrect UUID length %d in string %q", len(s), s)
	}
}

// parseMigrationPage reads the paging of a list as Kratos' migration
// pagination does: page_token and page_size when either is given (the
// token is base64url JSON {"offset":"N","v":2}; one that cannot be read is
// offset 0), else page (0-based) and per_page. The page size is clamped to
// 1 … mySessionsMaxPerPage.
func parseMigrationPage(q url.Values) (page, perPage int) {
	perPage = mySessionsDefaultPerPage
	if q.Has("page_token") || q.Has("page_size") {
		if n, err := strconv.Atoi(q.Get("page_size")); err == nil {
			perPage = n
		}
		perPage = min(max(perPage, 1), mySessionsMaxPerPage)
		if offset := pageTokenOffset(q.Get("page_token")); offset > 0 {
			page = offset / perPage
		}
		return page, perPage
	}
	if n, err := strconv.Atoi(q.Get("per_page")); err == nil {
		perPage = n
	}
	perPage = min(max(perPage, 1), mySessionsMaxPerPage)
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 0 {
		page = n
	}
	return page, perPage
}

// pageTokenOffset is the offset in a page token, 0 when it has none.
func pageTokenOffset(token string) int {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0
	}
	var t struct {
		Offset json.RawMessage `json:"offset"`
	}
	if json.Unmarshal(raw, &t) != nil {
		return 0
	}
	n, err := strconv.Atoi(strings.Trim(string(t.Offset), `"`))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// pageToken is the page token of an offset.
func pageToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(`{"offset":"` + strconv.Itoa(offset) + `","v":2}`))
}

// migrationPageLink is one Link value: u with the paging parameters of both
// styles for the page at offset.
func migrationPageLink(u *url.URL, rel string, perPage, offset int) string {
	q := u.Query()
	q.Set("page_size", strconv.Itoa(perPage))
	q.Set("page_token", pageToken(offset))
	q.Set("per_page", strconv.Itoa(perPage))
	q.Set("page", strconv.Itoa(offset/perPage))
	v := *u
	v.RawQuery = q.Encode()
	return "<" + v.String() + `>; rel="` + rel + `"`
}

// migrationPageHeader sets X-Total-Count and Link as Kratos does for a
// page-paginated list: first, next, prev and last as they exist, the
// last page of a list that fits one page only with first (and a page size
// of the total, as Kratos writes it). An empty list has only first (Kratos
// adds a next and a prev there that lead nowhere).
func migrationPageHeader(w http.ResponseWriter, u *url.URL, total, page, perPage int) {
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	offset := page * perPage
	last := total - perPage
	if total%perPage != 0 {
		last = total / perPage * perPage
	}
	var links []string
	switch {
	case total == 0:
		links = []string{migrationPageLink(u, "first", perPage, 0)}
	case offset >= last && total <= perPage:
		links = []string{migrationPageLink(u, "first", total, 0)}
	case offset >= last:
		links = []string{migrationPageLink(u, "first", perPage, 0), migrationPageLink(u, "prev", perPage, last-perPage)}
	case offset < perPage:
		links = []string{migrationPageLink(u, "next", perPage, perPage), migrationPageLink(u, "last", perPage, last)}
	default:
		links = []string{
			migrationPageLink(u, "first", perPage, 0),
			migrationPageLink(u, "next", perPage, (page+1)*perPage),
			migrationPageLink(u, "prev", perPage, (page-1)*perPage),
			migrationPageLink(u, "last", perPage, last),
		}
	}
	w.Header().Set("Link", strings.Join(links, ","))
}
