package flows

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/text"
)

// TestLoginThrottle: past the failed-login limit of an identifier, a login
// answers 429 with Retry-After (browsers: the form with a message), the
// right password included and whether or not the account exists; the
// count moves on the injected clock.
func TestLoginThrottle(t *testing.T) {
	e := newFlowEnv(t, func(c *Config) {
		c.Limiter = c.Store.(identity.Limiter)
		c.LoginFailures = identity.Limit{Events: 2, Per: 10 * time.Minute}
	})
	e.addIdentity("ada@example.com")
	for _, kind := range []callerKind{callerBrowser, callerAPI} {
		for _, identifier := range []string{"ada@example.com", "nobody-" + kind.String() + "@example.com"} {
			if kind == callerAPI && identifier == "ada@example.com" {
				e.clock.Add(10 * time.Minute) // the browser rows used up ada's count
			}
			c := e.newClient(kind)
			login := func(password string) *answer {
				return c.submit(c.begin("login", ""), map[string]string{"method": "password", "identifier": identifier, "password": password})
			}
			for range 2 {
				login("wrong password")
			}
			a := login(testPassword)
			if a.Header().Get("Retry-After") == "" {
				t.Fatalf("%s %s: no Retry-After: %d %v", kind, identifier, a.Code, a.Header())
			}
			switch kind {
			case callerBrowser:
				f := e.storedFlow(flowParam(t, a.Location(), "flow"))
				if a.Code != http.StatusSeeOther || len(f.UI.Messages) != 1 || f.UI.Messages[0].ID != text.ErrorValidationGeneric ||
					!strings.Contains(f.UI.Messages[0].Text, "Too many failed attempts") {
					t.Fatalf("browser %s: %d, messages %v", identifier, a.Code, f.UI.Messages)
				}
			default:
				if a.Code != http.StatusTooManyRequests || !strings.Contains(a.Body.String(), `"id":"too_many_requests"`) {
					t.Fatalf("api %s: %d %s", identifier, a.Code, a.Body)
				}
			}
		}
	}
	// A window later the right password works again.
	e.clock.Add(10 * time.Minute)
	c := e.newClient(callerAPI)
	if a := c.submit(c.begin("login", ""), map[string]string{"method": "password", "identifier": "ada@example.com", "password": testPassword}); a.Code != http.StatusOK {
		t.Fatalf("after the window: %d %s", a.Code, a.Body)
	}
}
