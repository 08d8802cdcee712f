package integration

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/caddymodule"
)

// codesSchema marks the email as login identifier, verification and
// recovery address, as Kratos' example schemas do.
const codesSchema = `{
  "$id": "https://example.org/codes.schema.json",
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "email": {
      "type": "string", "format": "email", "title": "E-Mail",
      "ory.sh/kratos": {
        "credentials": {"password": {"identifier": true}},
        "verification": {"via": "email"},
        "recovery": {"via": "email"}
      }
    }
  },
  "required": ["email"],
  "additionalProperties": false
}`

// startCodesSite starts a site with the codes schema, a courier sending to
// a real SMTP server, on Redis or (memory) on the memory store.
func startCodesSite(t *testing.T, memory bool) (*site, *mailServer) {
	t.Helper()
	ms := startMailServer(t)
	extra := ms.courier() + "\n\t\tflow_lifespan 10m"
	if memory {
		return startSiteWithStore(t, codesSchema, "store memory", extra, ""), ms
	}
	return startSiteWithRoutes(t, codesSchema, extra, ""), ms
}

// bothStores runs a test on Redis and on the memory store.
func bothStores(t *testing.T, test func(t *testing.T, memory bool)) {
	t.Run("Redis", func(t *testing.T) { test(t, false) })
	t.Run("Memory", func(t *testing.T) { test(t, true) })
}

const jsonAccept = "Accept"

// signUpAPI signs up through the API flow and returns the answer.
func signUpAPI(t *testing.T, s *site, email, password string) map[string]any {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second}
	f := do(t, c, "GET", s.kratos()+"/self-service/registration/api", nil).json(t)
	res := do(t, c, "POST", f["ui"].(map[string]any)["action"].(string),
		`{"method":"password","password":"`+password+`","traits":{"email":"`+email+`"}}`)
	wantStatus(t, res, 200)
	return res.json(t)
}

// TestVerificationAfterSignUp: a sign-up mails a code to the new address;
// entering it in the verification flow the registration names verifies
// the address.
func TestVerificationAfterSignUp(t *testing.T) {
	bothStores(t, func(t *testing.T, memory bool) {
		s, ms := startCodesSite(t, memory)
		email := "verify-" + strings.ToLower(t.Name()[len(t.Name())-5:]) + "@example.com"
		reg := signUpAPI(t, s, email, "a long enough secret 1")
		next, _ := get(reg, "continue_with", 0).(map[string]any)
		if next["action"] != "show_verification_ui" || get(next, "flow", "verifiable_address") != email {
			t.Fatalf("continue_with = %v, want show_verification_ui for %s", reg["continue_with"], email)
		}
		flowID := get(next, "flow", "id").(string)
		token := reg["session_token"].(string)

		mails := ms.waitFor(t, 1)
		if mails[0].To != email || mails[0].Subject != "Please verify your email address" {
			t.Fatalf("mail = %+v", mails[0])
		}
		code := mails[0].code(t)
		if !strings.Contains(mails[0].Text, "/self-service/verification?code="+code+"&flow="+flowID) {
			t.Errorf("the mail has no link to the flow: %q", mails[0].Text)
		}

		c := &http.Client{Timeout: 30 * time.Second}
		f := do(t, c, "GET", s.kratos()+"/self-service/verification/flows?id="+flowID, nil).json(t)
		if f["state"] != "sent_email" || get(f, "ui", "messages", 0, "id") != float64(1080003) {
			t.Fatalf("verification flow = %v", f)
		}
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		res := do(t, c, "POST", s.kratos()+"/self-service/verification?flow="+flowID, `{"method":"code","code":"`+wrong+`"}`, jsonAccept, "application/json")
		wantStatus(t, res, 200)
		if get(res.json(t), "ui", "messages", 0, "id") != float64(4070006) {
			t.Errorf("wrong code: %s", res.body)
		}
		res = do(t, c, "POST", s.kratos()+"/self-service/verification?flow="+flowID, `{"method":"code","code":"`+code+`"}`, jsonAccept, "application/json")
		wantStatus(t, res, 200)
		done := res.json(t)
		if done["state"] != "passed_challenge" || get(done, "ui", "messages", 0, "id") != float64(1080002) {
			t.Fatalf("right code: %s", res.body)
		}

		who := do(t, c, "GET", s.kratos()+"/sessions/whoami", nil, "X-Session-Token", token).json(t)
		addr := get(who, "identity", "verifiable_addresses", 0).(map[string]any)
		if addr["verified"] != true || addr["status"] != "completed" || addr["verified_at"] == nil {
			t.Errorf("address after verification = %v", addr)
		}
		// The code was used: the flow is finished.
		res = do(t, c, "POST", s.kratos()+"/self-service/verification?flow="+flowID, `{"method":"code","code":"`+code+`"}`, jsonAccept, "application/json")
		wantStatus(t, res, 410)
		if get(res.json(t), "error", "id") != "self_service_flow_replaced" {
			t.Errorf("resubmit: %s", res.body)
		}
	})
}

// recoverySPA starts a recovery as an SPA (cookies, JSON) and submits
// email; it returns the flow after the email step.
func recoverySPA(t *testing.T, s *site, c *http.Client, email string) map[string]any {
	t.Helper()
	f := do(t, c, "GET", s.kratos()+"/self-service/recovery/browser", nil, jsonAccept, "application/json").json(t)
	res := do(t, c, "POST", s.kratos()+"/self-service/recovery?flow="+f["id"].(string),
		`{"method":"code","email":"`+email+`","csrf_token":"`+csrfOf(t, f)+`"}`, jsonAccept, "application/json")
	wantStatus(t, res, 200)
	out := res.json(t)
	if out["state"] != "sent_email" || get(out, "ui", "messages", 0, "id") != float64(1060003) {
		t.Fatalf("after the email step: %s", res.body)
	}
	return out
}

// TestRecoveryNewPassword: forgot password → mail → code → a privileged
// session and a settings flow → a new password; the new one signs in, the
// old one no longer does.
func TestRecoveryNewPassword(t *testing.T) {
	bothStores(t, func(t *testing.T, memory bool) {
		s, ms := startCodesSite(t, memory)
		email := "recover-" + strings.ToLower(t.Name()[len(t.Name())-5:]) + "@example.com"
		signUpAPI(t, s, email, "the old password 123")
		ms.waitFor(t, 1) // the verification mail of the sign-up

		c := browser(t)
		f := recoverySPA(t, s, c, email)
		mails := ms.waitFor(t, 2)
		if mails[1].To != email || mails[1].Subject != "Recover access to your account" {
			t.Fatalf("mail = %+v", mails[1])
		}
		res := do(t, c, "POST", s.kratos()+"/self-service/recovery?flow="+f["id"].(string),
			`{"method":"code","code":"`+mails[1].code(t)+`","csrf_token":"`+csrfOf(t, f)+`"}`, jsonAccept, "application/json")
		wantStatus(t, res, 422)
		body := res.json(t)
		to, _ := body["redirect_browser_to"].(string)
		if get(body, "error", "id") != "browser_location_change_required" || !strings.Contains(to, "/ui/settings?flow=") {
			t.Fatalf("right code: %s", res.body)
		}
		who := do(t, c, "GET", s.kratos()+"/sessions/whoami", nil).json(t)
		if get(who, "authentication_methods", 0, "method") != "code_recovery" || who["privileged"] != true {
			t.Errorf("session after recovery: %v", who)
		}
		if get(who, "identity", "verifiable_addresses", 0, "verified") != true {
			t.Errorf("the recovery did not verify the address: %v", get(who, "identity", "verifiable_addresses"))
		}

		u, _ := url.Parse(to)
		sf := do(t, c, "GET", s.kratos()+"/self-service/settings/flows?id="+u.Query().Get("flow"), nil, jsonAccept, "application/json")
		wantStatus(t, sf, 200)
		settings := sf.json(t)
		if get(settings, "ui", "messages", 0, "id") != float64(1060001) {
			t.Errorf("settings flow messages: %v", get(settings, "ui", "messages"))
		}
		res = do(t, c, "POST", s.kratos()+"/self-service/settings?flow="+u.Query().Get("flow"),
			`{"method":"password","password":"the brand new password 456","csrf_token":"`+csrfOf(t, settings)+`"}`, jsonAccept, "application/json")
		wantStatus(t, res, 200)

		login := func(password string) int {
			lc := &http.Client{Timeout: 30 * time.Second}
			lf := do(t, lc, "GET", s.kratos()+"/self-service/login/api", nil).json(t)
			return do(t, lc, "POST", get(lf, "ui", "action").(string),
				`{"method":"password","identifier":"`+email+`","password":"`+password+`"}`).StatusCode
		}
		if got := login("the brand new password 456"); got != 200 {
			t.Errorf("login with the new password: %d", got)
		}
		if got := login("the old password 123"); got != 400 {
			t.Errorf("login with the old password: %d, want 400", got)
		}
	})
}

// TestRecoveryCodeRules: five wrong codes, then even the right one closes
// the flow; an expired flow's code is refused; an unknown address is
// answered as a known one and gets no mail.
func TestRecoveryCodeRules(t *testing.T) {
	s, ms := startCodesSite(t, false)
	email := "rules@example.com"
	signUpAPI(t, s, email, "a long enough secret 1")
	ms.waitFor(t, 1)

	// Unknown first: the known one's mail arriving later shows nothing was
	// sent for it.
	c := browser(t)
	unknown := recoverySPA(t, s, c, "nobody@example.com")
	known := recoverySPA(t, s, browser(t), email)
	if len(unknown["ui"].(map[string]any)["nodes"].([]any)) != len(known["ui"].(map[string]any)["nodes"].([]any)) {
		t.Errorf("unknown and known addresses get different forms:\n%v\n%v", unknown["ui"], known["ui"])
	}
	mails := ms.waitFor(t, 2)
	if len(mails) != 2 || mails[1].To != email {
		t.Fatalf("mails = %+v, want the known address's only", mails)
	}

	kc := browser(t)
	f := recoverySPA(t, s, kc, email)
	mails = ms.waitFor(t, 3)
	code := mails[2].code(t)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	flowURL := s.kratos() + "/self-service/recovery?flow=" + f["id"].(string)
	for i := range 5 {
		res := do(t, kc, "POST", flowURL, `{"method":"code","code":"`+wrong+`","csrf_token":"`+csrfOf(t, f)+`"}`, jsonAccept, "application/json")
		wantStatus(t, res, 200)
		if get(res.json(t), "ui", "messages", 0, "id") != float64(4060006) {
			t.Fatalf("wrong code %d: %s", i+1, res.body)
		}
	}
	res := do(t, kc, "POST", flowURL, `{"method":"code","code":"`+code+`","csrf_token":"`+csrfOf(t, f)+`"}`, jsonAccept, "application/json")
	wantStatus(t, res, 303)
	next := do(t, kc, "GET", res.Header.Get("Location"), nil, jsonAccept, "application/json").json(t)
	if next["state"] != "choose_method" || !strings.Contains(get(next, "ui", "messages", 0, "text").(string), "submitted too often") {
		t.Errorf("after 6 submissions: %v", next)
	}
	if who := do(t, kc, "GET", s.kratos()+"/sessions/whoami", nil); who.StatusCode != 401 {
		t.Errorf("the closed flow signed the browser in: %d", who.StatusCode)
	}

	// Expired: the code's flow is past its lifespan.
	ec := browser(t)
	f = recoverySPA(t, s, ec, email)
	mails = ms.waitFor(t, 4)
	t.Cleanup(caddymodule.AdvanceClockForTest(11 * time.Minute))
	res = do(t, ec, "POST", s.kratos()+"/self-service/recovery?flow="+f["id"].(string),
		`{"method":"code","code":"`+mails[3].code(t)+`","csrf_token":"`+csrfOf(t, f)+`"}`, jsonAccept, "application/json")
	wantStatus(t, res, 303)
	next = do(t, ec, "GET", res.Header.Get("Location"), nil, jsonAccept, "application/json").json(t)
	if get(next, "ui", "messages", 0, "id") != float64(4060005) {
		t.Errorf("expired: %v", next)
	}
	if who := do(t, ec, "GET", s.kratos()+"/sessions/whoami", nil); who.StatusCode != 401 {
		t.Errorf("an expired code signed the browser in: %d", who.StatusCode)
	}
	if n := len(ms.all()); n != 4 {
		t.Errorf("%d mails, want 4", n)
	}
}

// TestAdminRecoveryCode: support staff make a code for an identity; its
// owner enters it on the flow of the link, in any browser, and is signed
// in.
func TestAdminRecoveryCode(t *testing.T) {
	s, _ := startCodesSite(t, true)
	reg := signUpAPI(t, s, "admin-code@example.com", "a long enough secret 1")
	idID := get(reg, "identity", "id").(string)
	c := &http.Client{Timeout: 30 * time.Second}

	res := do(t, c, "POST", s.admin+"/admin/recovery/code", `{"identity_id":"`+idID+`","expires_in":"5m"}`)
	wantStatus(t, res, 201)
	out := res.json(t)
	link, _ := out["recovery_link"].(string)
	code, _ := out["recovery_code"].(string)
	if !strings.Contains(link, "/ui/recovery?flow=") || len(code) != 6 || out["expires_at"] == nil {
		t.Fatalf("answer = %s", res.body)
	}
	u, _ := url.Parse(link)
	flowID := u.Query().Get("flow")

	b := browser(t) // a browser that never saw the flow: no CSRF binding
	f := do(t, b, "GET", s.kratos()+"/self-service/recovery/flows?id="+flowID, nil, jsonAccept, "application/json")
	wantStatus(t, f, 200)
	if node(f.json(t), "csrf_token") != nil || node(f.json(t), "email") != nil {
		t.Errorf("an admin flow shows a CSRF token or an email input: %s", f.body)
	}
	res = do(t, b, "POST", s.kratos()+"/self-service/recovery?flow="+flowID, `{"method":"code","code":"`+code+`"}`, jsonAccept, "application/json")
	wantStatus(t, res, 422)
	if who := do(t, b, "GET", s.kratos()+"/sessions/whoami", nil); who.StatusCode != 200 {
		t.Errorf("whoami after the admin code: %d", who.StatusCode)
	}

	for body, want := range map[string]int{
		`{"identity_id":"` + idID + `","expires_in":"soon"}`:     400,
		`{"identity_id":"` + idID + `","expires_in":"-1m"}`:      400,
		`{"identity_id":"` + idID + `","flow_type":"desktop"}`:   400,
		`{"identity_id":"6f3c2a1e-0d2b-4c1a-9a55-5c0a4b1e2f10"}`: 404,
		`{"identity_id":"` + idID + `","flow_type":"api"}`:       201,
	} {
		if got := do(t, c, "POST", s.admin+"/admin/recovery/code", body).StatusCode; got != want {
			t.Errorf("POST %s: %d, want %d", body, got, want)
		}
	}
}

var csrfInputRe = regexp.MustCompile(`name="csrf_token"[^>]*value="([^"]+)"`)

// TestRecoveryBuiltInPages: a plain browser (HTML forms, no JavaScript)
// goes from "Forgot your password?" on the sign-in page through the
// built-in recovery pages to the settings page.
func TestRecoveryBuiltInPages(t *testing.T) {
	s, ms := startCodesSite(t, true)
	email := "pages-recovery@example.com"
	signUpAPI(t, s, email, "a long enough secret 1")
	ms.waitFor(t, 1)

	b := browser(t)
	follow := func(res *response) *response {
		t.Helper()
		wantStatus(t, res, 303)
		loc, err := res.Request.URL.Parse(res.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		return do(t, b, "GET", loc.String(), nil)
	}
	login := follow(do(t, b, "GET", s.kratos()+"/self-service/login/browser", nil))
	if !strings.Contains(string(login.body), "/self-service/recovery/browser") || !strings.Contains(string(login.body), "Forgot your password?") {
		t.Fatalf("the sign-in page has no recovery link:\n%s", login.body)
	}
	page := follow(do(t, b, "GET", s.kratos()+"/self-service/recovery/browser", nil))
	wantStatus(t, page, 200)
	flowID := page.Request.URL.Query().Get("flow")
	token := csrfInputRe.FindStringSubmatch(string(page.body))
	if token == nil || !strings.Contains(string(page.body), `name="email"`) {
		t.Fatalf("recovery page:\n%s", page.body)
	}
	action := s.kratos() + "/self-service/recovery?flow=" + flowID
	page = follow(do(t, b, "POST", action, url.Values{"csrf_token": {html.UnescapeString(token[1])}, "email": {email}, "method": {"code"}}))
	if !strings.Contains(string(page.body), `name="code"`) {
		t.Fatalf("code page:\n%s", page.body)
	}
	token = csrfInputRe.FindStringSubmatch(string(page.body))
	code := ms.waitFor(t, 2)[1].code(t)
	res := do(t, b, "POST", action, url.Values{"csrf_token": {html.UnescapeString(token[1])}, "code": {code}, "method": {"code"}})
	wantStatus(t, res, 303)
	if loc := res.Header.Get("Location"); !strings.Contains(loc, "/ui/settings?flow=") {
		t.Fatalf("after the code: %s", loc)
	}
	settings := follow(res)
	wantStatus(t, settings, 200)
	if !strings.Contains(string(settings.body), `name="password"`) {
		t.Errorf("settings page after recovery:\n%s", settings.body)
	}
}
