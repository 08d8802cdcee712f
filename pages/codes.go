package pages

import (
	"net/http"
	"net/url"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/form"
)

// CodePage answers GET <prefix>/ui/recovery?flow= and
// /ui/verification?flow=: the email form, then the code form (with a
// button to send a new code), then, for a verified address, a link on.
func (s *Handler) CodePage(w http.ResponseWriter, r *http.Request, kind string) {
	restart := url.Values{}
	if v := r.URL.Query().Get("return_to"); v != "" {
		restart.Set("return_to", v)
	}
	f, ok := s.pageFlow(w, r, kind, restart)
	if !ok {
		return
	}
	if !f.ByAdmin && !s.maskCSRF(w, r, f, restart) {
		return
	}
	shown := s.Backend.FlowUI(f, nil)
	l := s.Renderer.Lang(r)
	p := &Page{Title: l.String(kind+".title", nil), Messages: Messages(l, shown.Messages, "")}
	p.Heading = p.Title
	site := Link{Text: l.String("page.back_to_site", nil), Href: s.Backend.AfterURL(r, "")}
	switch f.State {
	case identity.StatePassedChallenge:
		for _, n := range shown.Nodes {
			if n.Type == "a" {
				p.Links = append(p.Links, Link{Text: NodeLabel(l, n), Href: n.Attributes.Href})
			}
		}
		p.Links = append(p.Links, site)
	default:
		if f.State == identity.StateChooseMethod {
			p.Intro = l.String(kind+".intro", nil)
		}
		ui := shown
		ui.Nodes = append([]identity.Node(nil), ui.Nodes...)
		if i := form.Index(ui.Nodes, "code"); i >= 0 && form.Index(ui.Nodes, "email") >= 0 {
			// The resend button submits the same form without a code.
			ui.Nodes[i].Attributes.Required = false
		}
		p.Forms = NodeForms(l, ui, kind)
		p.Links = []Link{{Text: l.String(kind+".restart", nil), Href: s.Site.PublicURL(r, "/self-service/"+kind+"/browser", restart)}, site}
	}
	s.Renderer.Render(w, r, http.StatusOK, p)
}
