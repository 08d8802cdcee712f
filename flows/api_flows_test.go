package flows

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestAPIFlowCSRFNodeIsEmpty: an API flow carries the csrf_token node, as
// Kratos does, with the value "" (native apps use no CSRF token); a
// browser flow's holds a masked token.
func TestAPIFlowCSRFNodeIsEmpty(t *testing.T) {
	e := newFlowEnv(t)
	for _, kind := range []string{"login", "registration"} {
		a := e.newClient(callerAPI).get(DefaultPublicPrefix + "/self-service/" + kind + "/api")
		var f struct {
			UI struct {
				Nodes []struct {
					Attributes map[string]any `json:"attributes"`
				} `json:"nodes"`
			} `json:"ui"`
		}
		if err := json.Unmarshal(a.Body.Bytes(), &f); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, n := range f.UI.Nodes {
			if n.Attributes["name"] == "csrf_token" {
				v, present := n.Attributes["value"]
				found = present && v == ""
			}
		}
		if !found {
			t.Errorf("%s API flow: no csrf_token node with value \"\": %s", kind, a.Body)
		}
	}
	if f := e.newClient(callerSPA).begin("login", ""); f.nodeValue("csrf_token") == "" {
		t.Error("a browser flow's csrf_token node is empty")
	}
}

// TestAPIFlowRefusesBrowserMarks: an API flow submit that carries an Origin
// header, or a cookie other than Cloudflare's, is a browser misusing the
// native flow: 400 with the flow and the reason as its message (4000001),
// as Kratos answers it, and nothing changes.
func TestAPIFlowRefusesBrowserMarks(t *testing.T) {
	marks := []struct{ header, value, says string }{
		{"Origin", "https://elsewhere.example", `included the "Origin" key`},
		{"Cookie", "__cf_bm=x; theme=dark", `included the "Cookie" key`},
	}
	for _, m := range marks {
		t.Run(m.header, func(t *testing.T) {
			e := newFlowEnv(t)
			ada := e.addIdentity(adaEmail)
			signedIn := e.newClient(callerAPI)
			signedIn.signIn(e.addSession(ada))
			submits := []struct {
				kind   string
				c      *client
				fields map[string]string
			}{
				{"login", e.newClient(callerAPI), loginWith(adaEmail, testPassword)},
				{"registration", e.newClient(callerAPI), map[string]string{"method": "password", "password": testPassword, "traits.email": "new@example.com"}},
				{"settings", signedIn, map[string]string{"method": "profile", "traits.email": adaEmail, "traits.name.first": "Changed"}},
			}
			for _, s := range submits {
				sessions, identities := e.sessionCount(ada.ID), e.identityCount()
				f := s.c.begin(s.kind, "")
				a := s.c.submit(f, s.fields, m.header, m.value)
				if a.Code != http.StatusBadRequest || a.doc.ID != f.ID {
					t.Fatalf("%s: %d, want 400 with the flow\n%s", s.kind, a.Code, a.Body)
				}
				msgs := a.doc.UI.Messages
				if len(msgs) != 1 || msgs[0].ID != 4000001 || !strings.Contains(msgs[0].Text, m.says) {
					t.Errorf("%s: ui.messages %+v, want 4000001 saying %s", s.kind, msgs, m.says)
				}
				if a.doc.nodeValue("csrf_token") != "" {
					t.Errorf("%s: the API flow's csrf_token is %q", s.kind, a.doc.nodeValue("csrf_token"))
				}
				if e.sessionCount(ada.ID) != sessions || e.identityCount() != identities {
					t.Errorf("%s: sessions %d→%d, identities %d→%d", s.kind, sessions, e.sessionCount(ada.ID), identities, e.identityCount())
				}
				if got := e.identity(ada.ID); got.Version != ada.Version {
					t.Errorf("%s: the identity changed (version %d→%d)", s.kind, ada.Version, got.Version)
				}
				if stored := e.storedFlow(f.ID); len(stored.UI.Messages) != 0 {
					t.Errorf("%s: the refusal was stored on the flow: %+v", s.kind, stored.UI.Messages)
				}
			}
		})
	}
	// Cloudflare's own cookies are no browser mark.
	e := newFlowEnv(t)
	e.addIdentity(adaEmail)
	c := e.newClient(callerAPI)
	if a := c.submit(c.begin("login", ""), loginWith(adaEmail, testPassword), "Cookie", "__cf_bm=x; _cfuvid=y; cf_clearance=z"); a.Code != http.StatusOK {
		t.Errorf("login with Cloudflare's cookies: %d\n%s", a.Code, a.Body)
	}
}
