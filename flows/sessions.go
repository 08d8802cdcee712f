package flows

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/reply"
)

// sessionToken returns the session token a request carries: the
// X-Session-Token header, else the session cookie, else a Bearer token.
func sessionToken(r *http.Request) string {
	if t := r.Header.Get("X-Session-Token"); t != "" {
		return t
	}
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		return c.Value
	}
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// Current returns the request's active session and its identity. A request
// without a usable session gives (nil, nil, nil) and costs no store round
// trip when it carries no well-formed token; the error is a store failure.
// The records are the caller's.
func (s *Service) Current(r *http.Request) (*identity.Session, *identity.Identity, error) {
	return s.current(r, s.cfg.Store.GetSession)
}

// ViewCurrent is Current for a caller that changes nothing of what it gets
// (whoami, the identity of an app request, a new settings flow): the records may be shared with
// other requests (identity.Sessions.ViewSession), which saves their copy on
// the hottest paths.
func (s *Service) ViewCurrent(r *http.Request) (*identity.Session, *identity.Identity, error) {
	return s.current(r, s.cfg.Store.ViewSession)
}

func (s *Service) current(r *http.Request, get func(context.Context, string) (*identity.Session, *identity.Identity, error)) (*identity.Session, *identity.Identity, error) {
	token := sessionToken(r)
	if !identity.WellFormedSessionToken(token) {
		return nil, nil, nil
	}
	sess, id, err := get(r.Context(), token)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if !s.usable(sess, id) {
		return nil, nil, nil
	}
	return sess, id, nil
}

// usable reports whether a session may be used now.
func (s *Service) usable(sess *identity.Session, id *identity.Identity) bool {
	return sess.IsActive(s.cfg.Now()) && id != nil && id.State == identity.IdentityActive
}

// issueSession creates a session for the identity after a login or a
// registration, and returns it with its token.
func (s *Service) IssueSession(r *http.Request, id *identity.Identity) (*identity.Session, string, error) {
	return s.issueSession(r, id, "password")
}

// issueSession stores a new session of the identity, authenticated now by
// method ("password", or RecoveryMethod), and returns it with its token.
func (s *Service) issueSession(r *http.Request, id *identity.Identity, method string) (*identity.Session, string, error) {
	now := s.cfg.Now()
	token := identity.NewSessionToken(id.ID)
	sess := &identity.Session{
		ID: identity.NewIDFor(id.ID), IdentityID: id.ID, TokenHash: identity.HashToken(token),
		Active: true, IssuedAt: now, AuthenticatedAt: now,
		ExpiresAt: now.Add(s.cfg.SessionLifespan), AAL: identity.AAL1,
		AuthenticationMethods: []identity.AuthenticationMethod{{Method: method, AAL: identity.AAL1, CompletedAt: now}},
		Devices:               []identity.Device{s.device(r)},
	}
	if err := s.cfg.Store.CreateSession(r.Context(), sess); err != nil {
		return nil, "", err
	}
	s.cfg.Metrics.SessionIssued()
	return sess, token, nil
}

// clientIP is the request's remote address without the port: the client
// address when no hook (Config.ClientIP) says better.
func clientIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 && !strings.HasSuffix(host, "]") {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

// maxDevices bounds the devices a session records: the most recent ones.
const maxDevices = 10

// maxDeviceField bounds the user agent and location a device records.
const maxDeviceField = 512

// device is the client of a request, as a session records it: the client
// address as the server determined it (Caddy's, through trusted proxies
// only), the User-Agent, and the location Cloudflare's headers give, which
// are read only from a trusted proxy (Kratos reads them from anyone).
func (s *Service) device(r *http.Request) identity.Device {
	d := identity.Device{ID: identity.NewID(), IPAddress: s.cfg.ClientIP(r), UserAgent: truncate(r.UserAgent(), maxDeviceField)}
	if s.cfg.FromTrustedProxy != nil && s.cfg.FromTrustedProxy(r) {
		var parts []string
		for _, h := range []string{"Cf-Ipcity", "Cf-Ipcountry"} {
			if v := r.Header.Get(h); v != "" {
				parts = append(parts, v)
			}
		}
		d.Location = truncate(strings.Join(parts, ", "), maxDeviceField)
	}
	return d
}

// addDevice records the request's client on a session that is used again
// (a refresh login), keeping the last maxDevices.
func (s *Service) addDevice(r *http.Request, sess *identity.Session) {
	sess.Devices = append(sess.Devices, s.device(r))
	if n := len(sess.Devices); n > maxDevices {
		sess.Devices = sess.Devices[n-maxDevices:]
	}
}

// truncate cuts v to at most n bytes, on a UTF-8 boundary.
func truncate(v string, n int) string {
	if len(v) <= n {
		return v
	}
	v = v[:n]
	for len(v) > 0 && !utf8.ValidString(v) {
		v = v[:len(v)-1]
	}
	return v
}

// whoami answers GET /sessions/whoami.
func (s *Service) whoami(w http.ResponseWriter, r *http.Request) error {
	sess, id, err := s.ViewCurrent(r)
	if err != nil {
		return apierror.AsJSON(err)
	}
	if sess == nil {
		return apierror.AsJSON(apierror.SessionInactive())
	}
	w.Header().Set("X-Kratos-Authenticated-Identity-Id", id.ID)
	reply.JSON(w, http.StatusOK, s.SessionJSON(r, sess, id, false))
	return nil
}
