package flows

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/seed06f30684/caddy-kratos/events"
)

// recorder is an events.Sink that keeps what it gets.
type recorder struct {
	mu  sync.Mutex
	got []events.Event
}

func (r *recorder) Emit(_ context.Context, e events.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, e)
}

func (r *recorder) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.got {
		out = append(out, e.Name)
	}
	return out
}

// TestEvents: each thing a site may act on is one event, with ids and the
// changed trait paths, never a value.
func TestEvents(t *testing.T) {
	rec := &recorder{}
	e := newFlowEnv(t, func(c *Config) { c.Events, c.RevokeOtherSessionsOnPasswordChange = rec, true })
	api := e.newClient(callerAPI)
	reg := api.submit(api.begin("registration", ""), map[string]string{
		"method": "password", "password": testPassword, "traits.email": "ada@example.com", "traits.name.first": "Ada"})
	if reg.Code != 200 {
		t.Fatalf("registration: %d %s", reg.Code, reg.Body)
	}
	if a := api.submit(e.newClient(callerAPI).begin("login", ""), loginWith("ada@example.com", "a wrong password")); a.Code != 400 {
		t.Fatalf("wrong password: %d", a.Code)
	}
	login := e.newClient(callerAPI)
	a := login.submit(login.begin("login", ""), loginWith("ada@example.com", testPassword))
	if a.Code != 200 {
		t.Fatalf("login: %d %s", a.Code, a.Body)
	}
	login.signIn(a.doc.SessionToken)
	if a := login.submit(login.begin("settings", ""), map[string]string{"method": "profile", "traits.email": "ada@example.com", "traits.name.first": "Augusta", "traits.name.last": "King"}); a.Code != 200 {
		t.Fatalf("settings: %d %s", a.Code, a.Body)
	}
	if a := login.submit(login.begin("settings", ""), map[string]string{"method": "password", "password": "another long passphrase 7"}); a.Code != 200 {
		t.Fatalf("password: %d %s", a.Code, a.Body)
	}

	want := []string{events.IdentityCreated, events.LoginFailed, events.LoginSucceeded, events.IdentityUpdated, events.PasswordChanged, events.SessionRevoked}
	if got := rec.names(); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	id := e.holder("ada@example.com").ID
	for _, ev := range rec.got {
		if ev.Time.IsZero() {
			t.Errorf("%s has no time", ev.Name)
		}
		if ev.IdentityID != id {
			t.Errorf("%s: identity %q, want %s", ev.Name, ev.IdentityID, id)
		}
		data := fmt.Sprint(ev.Data())
		for _, secret := range []string{"ada@example.com", "Augusta", "King", testPassword, "passphrase"} {
			if strings.Contains(data, secret) {
				t.Errorf("%s carries %q: %s", ev.Name, secret, data)
			}
		}
	}
	if u := rec.got[3]; !slices.Equal(u.Changed, []string{"traits.name.first", "traits.name.last"}) || u.Flow != "settings" || u.Method != "profile" {
		t.Errorf("identity_updated: %+v", u)
	}
	if f := rec.got[1]; f.Reason != "invalid_credentials" {
		t.Errorf("login_failed: %+v", f)
	}
}
