package pages

import (
	"net/http"
	"net/url"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
)

// DevicesPath is where the settings page's "Your devices" forms post.
const DevicesPath = "/ui/settings/devices"

// maxDevicesForm bounds the body of a devices form.
const maxDevicesForm = 4096

// Devices is the settings page's "Your devices" section: the identity's
// active sessions, this one first, each other with a sign-out form.
type Devices struct {
	Action string // DevicesPath
	CSRF   string // a masked CSRF token
	FlowID string // the settings flow to come back to
	Items  []Device
}

// Device is one session as the section shows it.
type Device struct {
	SessionID string
	UserAgent string
	IP        string
	Location  string
	SignedIn  string
	Current   bool
}

// devicesOf builds the section for the request's session.
func (s *Handler) devicesOf(r *http.Request, current *identity.Session, csrfToken, flowID string) (*Devices, error) {
	others, err := s.Backend.OtherSessions(r, current)
	if err != nil {
		return nil, err
	}
	d := &Devices{Action: s.Site.PublicURL(r, DevicesPath, nil), CSRF: csrfToken, FlowID: flowID}
	for i, sess := range append([]*identity.Session{current}, others...) {
		item := Device{SessionID: sess.ID, Current: i == 0, SignedIn: sess.AuthenticatedAt.UTC().Format("2006-01-02 15:04 UTC")}
		if n := len(sess.Devices); n > 0 {
			last := sess.Devices[n-1]
			item.UserAgent, item.IP, item.Location = last.UserAgent, last.IPAddress, last.Location
		}
		if item.UserAgent == "" {
			item.UserAgent = s.Renderer.Lang(r).String("devices.unknown_browser", nil)
		}
		d.Items = append(d.Items, item)
	}
	return d, nil
}

// RevokeDevices answers POST <prefix>/ui/settings/devices: the form of one
// session's sign-out button (session_id) or of "Sign out all other devices"
// (all=true), with the CSRF token. It then sends the browser back to the
// settings page.
func (s *Handler) RevokeDevices(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxDevicesForm)
	if err := r.ParseForm(); err != nil {
		s.RenderError(w, r, apierror.BadRequest("The form could not be read."))
		return
	}
	if err := s.Backend.CheckCSRF(r, r.PostForm.Get("csrf_token")); err != nil {
		s.RenderError(w, r, err)
		return
	}
	sess, _, err := s.Backend.Current(r)
	switch {
	case err != nil:
		s.RenderError(w, r, err)
		return
	case sess == nil:
		s.restartFlow(w, r, "/self-service/login/browser", url.Values{"return_to": {s.Site.PublicURL(r, siteurl.SettingsPath, nil)}})
		return
	}
	if r.PostForm.Get("all") == "true" {
		_, err = s.Backend.RevokeOtherSessions(r, sess)
	} else if id := r.PostForm.Get("session_id"); identity.WellFormedID(id) && id != sess.ID {
		err = s.Backend.RevokeOwnSession(r, sess, id)
	} else {
		err = apierror.BadRequest("The form names no session to sign out.")
	}
	if err != nil {
		s.RenderError(w, r, err) // logs a store failure
		return
	}
	if flow := r.PostForm.Get("flow"); identity.WellFormedID(flow) {
		s.restartFlow(w, r, siteurl.SettingsPath, url.Values{"flow": {flow}})
		return
	}
	s.restartFlow(w, r, "/self-service/settings/browser", nil)
}
