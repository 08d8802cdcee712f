package caddymodule

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// TestAdvanceClockForTest: a provisioned handler and its memory store follow
// the moved clock, and restore brings them back to the system time.
func TestAdvanceClockForTest(t *testing.T) {
	h := &Handler{IdentitySchema: writeSchema(t)} // privileged_session_max_age 15m
	if err := provision(t, h); err != nil {
		t.Fatal(err)
	}
	token, id, _ := signIn(t, h.store, 0) // expires in an hour
	see := func() (user, privileged string) {
		t.Helper()
		r, repl := passRequest(http.MethodGet, "/", "X-Session-Token", token)
		run(t, r, h)
		return placeholder(repl, PlaceholderUserID), placeholder(repl, PlaceholderPrivileged)
	}
	if user, priv := see(); user != id.ID || priv != "true" {
		t.Fatalf("fresh session: user %q privileged %q", user, priv)
	}

	restoreAge := AdvanceClockForTest(16 * time.Minute)
	if user, priv := see(); user != id.ID || priv != "false" {
		t.Errorf("16m later: user %q privileged %q, want the user, not privileged", user, priv)
	}
	restoreAge()
	restoreAge() // a second call changes nothing
	if user, priv := see(); user != id.ID || priv != "true" {
		t.Errorf("after restore: user %q privileged %q, want privileged again", user, priv)
	}

	// Past the session's expiry the memory store, on the same clock, no
	// longer has it (asked first: the handler's own lookup would remove it),
	// and the handler sees no session.
	t.Cleanup(AdvanceClockForTest(2 * time.Hour))
	if _, _, err := h.store.GetSession(context.Background(), token); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("2h later the memory store answers %v, want ErrNotFound", err)
	}
	if user, _ := see(); user != "" {
		t.Errorf("2h later the session is still valid for user %q", user)
	}
}
