package pages

import (
	"net/http"
	"net/url"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/locale"
)

// pendingChangeForms are the settings page's two small forms for an
// address change waiting for its code (the flow's message names the
// address): send the code again (the verification flow's resend, which
// then shows the code form) and cancel the change (a profile submit with
// pending_change=cancel). None without a pending change.
func (s *Handler) pendingChangeForms(r *http.Request, l *locale.Lang, id *identity.Identity, settingsAction, csrfToken string) []Form {
	p := id.PendingChange
	if p == nil {
		return nil
	}
	resend := Form{
		ID: "pending-change-resend", Heading: l.String("settings.pending_change", nil), Method: http.MethodPost,
		Action:  s.Site.PublicURL(r, "/self-service/verification", url.Values{"flow": {p.VerificationFlowID}}),
		Hidden:  []Field{{Name: "csrf_token", Value: csrfToken}, {Name: "method", Value: "code"}},
		Buttons: []Button{{Name: "email", Value: p.Address, Label: l.String("settings.resend_code", nil)}},
	}
	cancel := Form{
		ID: "pending-change-cancel", Method: http.MethodPost, Action: settingsAction,
		Hidden:  []Field{{Name: "csrf_token", Value: csrfToken}, {Name: "method", Value: "profile"}},
		Buttons: []Button{{Name: "pending_change", Value: "cancel", Label: l.String("settings.cancel_change", nil)}},
	}
	return []Form{resend, cancel}
}
