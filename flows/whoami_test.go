package flows

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
)

const whoamiPath = DefaultPublicPrefix + "/sessions/whoami"

// wantWhoami: the answer is the session of sc.token, of sc.id (or of
// sc.other when the scenario set it).
func wantWhoami(t *testing.T, e *flowEnv, c *client, sc *scene, a *answer) {
	want := sc.id
	if sc.other != nil {
		want = sc.other
	}
	token := sc.token
	if sc.extra != "" {
		token = sc.extra
	}
	if got := a.Header().Get("X-Kratos-Authenticated-Identity-Id"); got != want.ID {
		t.Errorf("X-Kratos-Authenticated-Identity-Id %q, want %s", got, want.ID)
	}
	if sess := e.session(token); sess == nil || a.doc.ID != sess.ID {
		t.Errorf("answered session %q, want the token's", a.doc.ID)
	}
	if a.doc.Identity == nil || a.doc.Identity.ID != want.ID || a.doc.Identity.Traits["email"] == nil {
		t.Errorf("answered identity %+v, want %s with its traits", a.doc.Identity, want.ID)
	}
}

func whoamiWith(arrange func(e *flowEnv, c *client, sc *scene), header ...string) func(*flowEnv, *client, *scene) *answer {
	return func(e *flowEnv, c *client, sc *scene) *answer {
		if arrange != nil {
			arrange(e, c, sc)
		}
		h := header
		if len(h) == 2 && h[1] == "{token}" {
			h = []string{h[0], "Bearer " + sc.token}
		}
		return c.do(http.MethodGet, whoamiPath, "", "", h...)
	}
}

// bearerOnly signs Ada in and moves the API caller's token from
// X-Session-Token to Authorization: Bearer.
func bearerOnly(e *flowEnv, c *client, sc *scene) {
	signedInAs(e, c, sc)
	c.token = ""
}

var whoamiScenarios = map[string]scenario{
	// The caller's own credential: the cookie (browser, SPA) or X-Session-Token (API).
	"signed in":    {act: whoamiWith(signedInAs), after: wantWhoami},
	"Bearer token": {act: whoamiWith(bearerOnly, "Authorization", "{token}"), after: wantWhoami},
	"no credentials": {act: whoamiWith(func(e *flowEnv, c *client, sc *scene) {
		e.addSession(e.addIdentity(adaEmail)) // someone else's session exists
	})},
	"session about to expire": {act: whoamiWith(func(e *flowEnv, c *client, sc *scene) {
		signedInAs(e, c, sc)
		e.clock.Add(DefaultSessionLifespan - time.Second)
	}), after: wantWhoami},
	"expired session": {act: whoamiWith(func(e *flowEnv, c *client, sc *scene) {
		signedInAs(e, c, sc)
		e.clock.Add(DefaultSessionLifespan)
	})},
	"expired Bearer token": {act: whoamiWith(func(e *flowEnv, c *client, sc *scene) {
		bearerOnly(e, c, sc)
		e.clock.Add(DefaultSessionLifespan + time.Second)
	}, "Authorization", "{token}")},
	"logged out session": {act: whoamiWith(func(e *flowEnv, c *client, sc *scene) {
		signedInAs(e, c, sc)
		sess := e.session(sc.token)
		if err := e.store.DeleteSession(context.Background(), sess.ID); err != nil {
			e.t.Fatal(err)
		}
	})},
	"revoked session": {act: whoamiWith(func(e *flowEnv, c *client, sc *scene) {
		// As DELETE /admin/sessions/{id}: deactivated, not deleted.
		signedInAs(e, c, sc)
		sess := e.session(sc.token)
		sess.Active = false
		if err := e.store.UpdateSession(context.Background(), sess); err != nil {
			e.t.Fatal(err)
		}
	})},
	"inactive identity": {act: whoamiWith(func(e *flowEnv, c *client, sc *scene) {
		signedInAs(e, c, sc)
		id := e.identity(sc.id.ID)
		id.State = identity.IdentityInactive
		if err := e.store.UpdateIdentity(context.Background(), id); err != nil {
			e.t.Fatal(err)
		}
	})},
	// The handler checks expires_at itself, whatever the store returns.
	"expired session the store still returns": {act: whoamiWith(func(e *flowEnv, c *client, sc *scene) {
		e.wrapStore(func(inner identity.Store) identity.Store {
			return &laggingStore{Store: inner, kept: map[string]identity.Session{}}
		})
		signedInAs(e, c, sc)
		e.clock.Add(DefaultSessionLifespan)
	})},
	"POST": {act: func(e *flowEnv, c *client, sc *scene) *answer {
		signedInAs(e, c, sc)
		return c.do(http.MethodPost, whoamiPath, "", "")
	}, after: func(t *testing.T, e *flowEnv, c *client, sc *scene, a *answer) {
		if got := a.Header().Get("Allow"); got != "" {
			t.Errorf("Allow %q on an answered method", got)
		}
	}},
	"malformed token": {act: whoamiWith(func(e *flowEnv, c *client, sc *scene) {
		signedInAs(e, c, sc)
		c.signIn(sc.token + "x")
	})},
	// docs/api.md, "Sessions and tokens": X-Session-Token, then the cookie,
	// then Bearer. The browser's cookie is Ada's, the header Grace's.
	"X-Session-Token before the cookie": {act: func(e *flowEnv, c *client, sc *scene) *answer {
		signedInAs(e, c, sc)
		sc.other = e.addIdentity(graceEmail)
		sc.extra = e.addSession(sc.other)
		return c.do(http.MethodGet, whoamiPath, "", "", "X-Session-Token", sc.extra)
	}, after: wantWhoami},
}

// laggingStore still returns sessions after their expiry, as a store whose
// clock is behind the server's (Redis expires keys by its own clock).
type laggingStore struct {
	identity.Store
	mu   sync.Mutex
	kept map[string]identity.Session // by token hash
}

func (l *laggingStore) CreateSession(ctx context.Context, s *identity.Session) error {
	l.mu.Lock()
	l.kept[s.TokenHash] = *s
	l.mu.Unlock()
	return l.Store.CreateSession(ctx, s)
}

func (l *laggingStore) GetSession(ctx context.Context, token string) (*identity.Session, *identity.Identity, error) {
	sess, id, err := l.Store.GetSession(ctx, token)
	l.mu.Lock()
	kept, ok := l.kept[identity.HashToken(token)]
	l.mu.Unlock()
	if !identity.IsNotFound(err) || !ok {
		return sess, id, err
	}
	if id, err = l.Store.GetIdentity(ctx, kept.IdentityID); err != nil {
		return nil, nil, err
	}
	return &kept, id, nil
}

func (l *laggingStore) ViewSession(ctx context.Context, token string) (*identity.Session, *identity.Identity, error) {
	return l.GetSession(ctx, token)
}

func TestWhoami(t *testing.T) {
	ok := expect{status: http.StatusOK, session: true}
	// JSON for every caller, browsers too.
	inactive := expect{status: http.StatusUnauthorized, errorID: "session_inactive", reason: "No valid session credentials found in the request."}
	runRows(t, whoamiScenarios, []row{
		{callerBrowser, "signed in", ok},
		{callerSPA, "signed in", ok},
		{callerAPI, "signed in", ok},
		{callerAPI, "Bearer token", ok},
		{callerSPA, "X-Session-Token before the cookie", ok},

		{callerBrowser, "no credentials", inactive},
		{callerSPA, "no credentials", inactive},
		{callerAPI, "no credentials", inactive},

		{callerBrowser, "session about to expire", ok},
		{callerAPI, "session about to expire", ok},
		{callerBrowser, "expired session", inactive},
		{callerSPA, "expired session", inactive},
		{callerAPI, "expired session", inactive},
		{callerAPI, "expired Bearer token", inactive},
		{callerAPI, "expired session the store still returns", inactive},
		{callerSPA, "revoked session", inactive},
		{callerAPI, "revoked session", inactive},
		{callerAPI, "inactive identity", inactive},

		{callerSPA, "logged out session", inactive},
		{callerAPI, "logged out session", inactive},
		{callerAPI, "malformed token", inactive},

		// Any method, as Kratos does, for proxies that forward the
		// request's method.
		{callerAPI, "POST", ok},
	})
}
