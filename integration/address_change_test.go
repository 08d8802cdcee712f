package integration

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// loginAPIStatus tries a password login through the API flow and returns
// the status.
func loginAPIStatus(t *testing.T, s *site, identifier, password string) int {
	t.Helper()
	c := browser(t)
	flow := do(t, c, "GET", s.kratos()+"/self-service/login/api", nil)
	res := do(t, c, "POST", get(flow.json(t), "ui", "action").(string),
		fmt.Sprintf(`{"method":"password","identifier":%q,"password":%q}`, identifier, password))
	return res.StatusCode
}

// mailTo waits (bounded) for a mail to address with subject and returns it.
func (ms *mailServer) mailTo(t *testing.T, address, subject string) sentMail {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, m := range ms.all() {
			if m.To == address && m.Subject == subject {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 20s for a mail to %s %q, got %+v", address, subject, ms.all())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAddressChangeVerified: an email change in settings is held until
// the code sent to the new address is entered. Until then the old address
// signs in and has been told; then the new one signs in, the old one no
// longer does, and the old one is told it was replaced.
func TestAddressChangeVerified(t *testing.T) {
	bothStores(t, func(t *testing.T, memory bool) {
		s, ms := startCodesSite(t, memory)
		suffix := strings.ToLower(t.Name()[len(t.Name())-5:])
		old, next := "old-"+suffix+"@example.com", "new-"+suffix+"@example.com"
		const password = "a long enough secret 1"
		token := signUpAPI(t, s, old, password)["session_token"].(string)
		// The sign-up's code has gone out (and its address is marked sent),
		// so the settings form below is of the identity's latest version.
		ms.mailTo(t, old, "Please verify your email address")

		flow := settingsAPI(t, s, token)
		c := &http.Client{Timeout: 30 * time.Second}
		res := do(t, c, "POST", get(flow, "ui", "action").(string), `{"method":"profile","traits":{"email":"`+next+`"}}`, "X-Session-Token", token)
		wantStatus(t, res, 200)
		held := res.json(t)
		if held["state"] != "show_form" || get(held, "ui", "messages", 0, "id") != float64(1050100) {
			t.Fatalf("held change: %s", res.body)
		}
		item, _ := get(held, "continue_with", 0).(map[string]any)
		if item["action"] != "show_verification_ui" || get(item, "flow", "verifiable_address") != next {
			t.Fatalf("continue_with = %v", held["continue_with"])
		}
		verificationID := get(item, "flow", "id").(string)

		// Held: the old address still signs in and is the identity's.
		codeMail := ms.mailTo(t, next, "Please verify your email address")
		ms.mailTo(t, old, "A change of your account's address was requested")
		wantStatus(t, do(t, c, "GET", s.kratos()+"/self-service/login/api", nil), 200)
		if got := loginAPIStatus(t, s, old, password); got != 200 {
			t.Fatalf("login with the old address while held: %d", got)
		}
		if got := loginAPIStatus(t, s, next, password); got != 400 {
			t.Fatalf("login with the new address while held: %d, want 400", got)
		}
		who := do(t, c, "GET", s.kratos()+"/sessions/whoami", nil, "X-Session-Token", token).json(t)
		if get(who, "identity", "traits", "email") != old {
			t.Fatalf("traits while held: %v", get(who, "identity", "traits"))
		}
		// The settings flow shows the pending change.
		again := do(t, c, "GET", s.kratos()+"/self-service/settings/flows?id="+flow["id"].(string), nil, "X-Session-Token", token).json(t)
		if get(again, "ui", "messages", 0, "id") != float64(1050100) || !strings.Contains(get(again, "ui", "messages", 0, "text").(string), next) {
			t.Errorf("settings flow while held: %v", get(again, "ui", "messages"))
		}

		// The code from the new address's mail applies the change.
		res = do(t, c, "POST", s.kratos()+"/self-service/verification?flow="+verificationID,
			`{"method":"code","code":"`+codeMail.code(t)+`"}`, jsonAccept, "application/json")
		wantStatus(t, res, 200)
		if done := res.json(t); done["state"] != "passed_challenge" {
			t.Fatalf("code: %s", res.body)
		}
		if got := loginAPIStatus(t, s, next, password); got != 200 {
			t.Errorf("login with the new address: %d", got)
		}
		if got := loginAPIStatus(t, s, old, password); got != 400 {
			t.Errorf("login with the old address after the change: %d, want 400", got)
		}
		who = do(t, c, "GET", s.kratos()+"/sessions/whoami", nil, "X-Session-Token", token).json(t)
		addr, _ := get(who, "identity", "verifiable_addresses", 0).(map[string]any)
		if get(who, "identity", "traits", "email") != next || addr["value"] != next || addr["verified"] != true {
			t.Errorf("identity after the change: %v", get(who, "identity"))
		}
		ms.mailTo(t, old, "A verifiable address on your account was changed")
	})
}

// TestAddressChangeCancelled: a held change can be cancelled from the
// settings flow; its code then changes nothing.
func TestAddressChangeCancelled(t *testing.T) {
	s, ms := startCodesSite(t, true)
	old, next := "keep@example.com", "typo@example.com"
	const password = "a long enough secret 1"
	token := signUpAPI(t, s, old, password)["session_token"].(string)
	ms.mailTo(t, old, "Please verify your email address")
	flow := settingsAPI(t, s, token)
	action := get(flow, "ui", "action").(string)
	c := &http.Client{Timeout: 30 * time.Second}
	res := do(t, c, "POST", action, `{"method":"profile","traits":{"email":"`+next+`"}}`, "X-Session-Token", token)
	wantStatus(t, res, 200)
	verificationID, _ := get(res.json(t), "continue_with", 0, "flow", "id").(string)
	if verificationID == "" {
		t.Fatalf("held change: %s", res.body)
	}
	codeMail := ms.mailTo(t, next, "Please verify your email address")

	res = do(t, c, "POST", action, `{"method":"profile","pending_change":"cancel"}`, "X-Session-Token", token)
	wantStatus(t, res, 200)
	if msgs := get(res.json(t), "ui", "messages"); get(msgs, 0, "id") != float64(1050101) || len(msgs.([]any)) != 1 {
		t.Fatalf("cancel: %s", res.body)
	}
	res = do(t, c, "POST", s.kratos()+"/self-service/verification?flow="+verificationID,
		`{"method":"code","code":"`+codeMail.code(t)+`"}`, jsonAccept, "application/json")
	if got := loginAPIStatus(t, s, next, password); got != 400 {
		t.Errorf("login with the cancelled address: %d (code answer %d %s)", got, res.StatusCode, res.body)
	}
	if got := loginAPIStatus(t, s, old, password); got != 200 {
		t.Errorf("login with the kept address: %d", got)
	}
}
