package integration

// End-to-end tests with Ory's JavaScript SDK (@ory/client, pinned in
// testdata/ory-client-js/package-lock.json, installed by make deps with
// npm ci), unchanged and with axios' default headers (Accept:
// application/json, text/plain, */*): in node against a site on Redis and
// one on the memory store, and bundled with esbuild into a page of the
// site that headless Chromium runs, as an SPA does. The flows themselves
// are testdata/ory-client-js/flows.mjs; they report each call's status and
// body, and these tests assert them.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/caddymodule"
)

// oryClientJS is the folder of the SDK's package.json and flows.
var oryClientJS = filepath.Join("testdata", "ory-client-js")

const (
	oryJSPassword = "a long enough secret"
	// oryJSFlowLifespan is the sites' flow_lifespan; the expiry tests move
	// the handlers' clock past it.
	oryJSFlowLifespan = 10 * time.Minute
	// oryJSUnknownFlow is a flow id no store holds.
	oryJSUnknownFlow = "00000000-0000-4000-8000-000000000000"
)

// requireOryClientJS skips the test without node or the SDK's npm
// packages, unless CI is set: then it fails, so CI really runs it.
func requireOryClientJS(t *testing.T) {
	t.Helper()
	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node is not installed"
	} else if _, err := os.Stat(filepath.Join(oryClientJS, "node_modules", "@ory", "client")); err != nil {
		missing = "the npm packages of " + oryClientJS + " are not installed (make deps runs npm ci)"
	}
	if missing == "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal(missing)
	}
	t.Skip(missing)
}

// jsReport is what a run of flows.mjs saw: each call's status and body,
// and the error that ended the run early, if one did.
type jsReport struct {
	Steps map[string]jsStep `json:"steps"`
	Error *string           `json:"error"`
}

type jsStep struct {
	Status int `json:"status"`
	Data   any `json:"data"`
	// SDKError is the SDK's error (an AxiosError) for a failed call.
	SDKError *struct {
		Name    string `json:"name"`
		Message string `json:"message"`
	} `json:"sdkError"`
}

// step returns the body of the call name, after checking its status. A
// success must not be an SDK error, a failure must be one.
func (r *jsReport) step(t *testing.T, name string, status int) map[string]any {
	t.Helper()
	st, ok := r.Steps[name]
	if !ok {
		t.Fatalf("%s did not run; the run ended with: %v", name, r.errText())
	}
	if st.Status != status {
		t.Fatalf("%s: status %d, want %d\nbody: %v", name, st.Status, status, st.Data)
	}
	if failed := st.Status >= 300; failed != (st.SDKError != nil) {
		t.Fatalf("%s: status %d, but the SDK's error is %+v", name, st.Status, st.SDKError)
	}
	if st.SDKError != nil && st.SDKError.Name != "AxiosError" {
		t.Fatalf("%s: the SDK threw %+v, want an AxiosError", name, st.SDKError)
	}
	m, _ := st.Data.(map[string]any)
	if m == nil && status != 204 {
		t.Fatalf("%s: status %d, the body is not a JSON object the SDK decoded: %#v", name, st.Status, st.Data)
	}
	return m
}

func (r *jsReport) errText() string {
	if r.Error == nil {
		return "(no error)"
	}
	return *r.Error
}

// done fails the test if the run ended early.
func (r *jsReport) done(t *testing.T) {
	t.Helper()
	if r.Error != nil {
		t.Errorf("the flows ended early: %s", *r.Error)
	}
}

// runNode runs testdata/ory-client-js/node.mjs for one set of flows against
// the site, and decodes what it printed into out.
func runNode(t *testing.T, s *site, flows string, options map[string]any, out any) {
	t.Helper()
	opts, err := json.Marshal(options)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "node.mjs", flows, s.public, string(opts))
	cmd.Dir = oryClientJS
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("node node.mjs %s: %v\nstdout: %s\nstderr: %s", flows, err, stdout, stderr.String())
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		t.Fatalf("node node.mjs %s printed no JSON: %v\nstdout: %s\nstderr: %s", flows, err, stdout, stderr.String())
	}
}

// startedFlow is a login flow that startLoginFlow created, to expire.
type startedFlow struct {
	FlowID string `json:"flowId"`
	CSRF   string `json:"csrf"`
}

// wantErrorID checks Kratos' error envelope in a failed call's body.
func wantErrorID(t *testing.T, what string, body map[string]any, code int, id string) {
	t.Helper()
	if got := get(body, "error", "code"); got != float64(code) {
		t.Errorf("%s: error.code %v, want %d\nbody: %v", what, got, code, body)
	}
	if msg, _ := get(body, "error", "message").(string); msg == "" {
		t.Errorf("%s: error.message is missing\nbody: %v", what, body)
	}
	if got, _ := get(body, "error", "id").(string); got != id {
		t.Errorf("%s: error.id %q, want %q\nbody: %v", what, got, id, body)
	}
}

func messageIDs(flow map[string]any) []float64 {
	var ids []float64
	msgs, _ := get(flow, "ui", "messages").([]any)
	for _, m := range msgs {
		if id, ok := get(m, "id").(float64); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// wantFlow checks a new flow's type, action and (for browser flows) its
// hidden CSRF node.
func wantFlow(t *testing.T, what string, flow map[string]any, typ, kind string) {
	t.Helper()
	id, _ := flow["id"].(string)
	if id == "" || flow["type"] != typ {
		t.Fatalf("%s: id %q type %v, want a %s flow", what, id, flow["type"], typ)
	}
	if action, _ := get(flow, "ui", "action").(string); !strings.HasSuffix(action, "/.ory/kratos/public/self-service/"+kind+"?flow="+id) || get(flow, "ui", "method") != "POST" {
		t.Errorf("%s: ui.action %q method %v", what, action, get(flow, "ui", "method"))
	}
	if typ == "browser" {
		if n := node(flow, "csrf_token"); get(n, "attributes", "type") != "hidden" || get(n, "attributes", "value") == "" {
			t.Errorf("%s: csrf_token node %v", what, n)
		}
	}
}

// wantSession checks an active session of the identity with these traits.
func wantSession(t *testing.T, what string, sess map[string]any, identityID, email, last string) {
	t.Helper()
	if sess["id"] == nil || sess["active"] != true || get(sess, "identity", "id") != identityID {
		t.Fatalf("%s: session id %v active %v identity %v, want an active session of %s", what, sess["id"], sess["active"], get(sess, "identity", "id"), identityID)
	}
	if get(sess, "identity", "traits", "email") != email || get(sess, "identity", "traits", "name", "last") != last {
		t.Errorf("%s: traits %v, want email %s and name.last %s", what, get(sess, "identity", "traits"), email, last)
	}
}

// wantSettingsSaved checks a settings flow after a successful profile
// update.
func wantSettingsSaved(t *testing.T, what string, flow map[string]any, flowID, last string) {
	t.Helper()
	if flow["id"] != flowID || flow["state"] != "success" || !slices.Contains(messageIDs(flow), 1050001) {
		t.Fatalf("%s: id %v (want %s) state %v ui.messages %v, want success with 1050001", what, flow["id"], flowID, flow["state"], messageIDs(flow))
	}
	if got := get(flow, "identity", "traits", "name", "last"); got != last {
		t.Errorf("%s: identity name.last %v, want %s", what, got, last)
	}
}

// wantLoggedOut checks a whoami refused after a logout.
func wantLoggedOut(t *testing.T, r *jsReport, name string) {
	t.Helper()
	wantErrorID(t, name, r.step(t, name, 401), 401, "session_inactive")
}

// wantNativeFlows checks nativeFlows: registration, whoami with the token,
// a profile update, a login and a logout.
func wantNativeFlows(t *testing.T, r *jsReport, email string) {
	t.Helper()
	reg := r.step(t, "createNativeRegistrationFlow", 200)
	wantFlow(t, "native registration flow", reg, "api", "registration")
	signedUp := r.step(t, "updateRegistrationFlow", 200)
	token, _ := signedUp["session_token"].(string)
	if !strings.HasPrefix(token, "ory_st_") {
		t.Fatalf("registration: session_token %q", token)
	}
	identityID, _ := get(signedUp, "identity", "id").(string)
	if identityID == "" || get(signedUp, "identity", "traits", "email") != email {
		t.Fatalf("registration: identity %v", signedUp["identity"])
	}
	sess := r.step(t, "toSession", 200)
	wantSession(t, "whoami with the token", sess, identityID, email, "Hopper")
	if sess["id"] != get(signedUp, "session", "id") || sess["authenticator_assurance_level"] != "aal1" {
		t.Errorf("whoami: session %v aal %v, want the registration's session %v at aal1", sess["id"], sess["authenticator_assurance_level"], get(signedUp, "session", "id"))
	}

	settings := r.step(t, "createNativeSettingsFlow", 200)
	wantFlow(t, "native settings flow", settings, "api", "settings")
	if settings["state"] != "show_form" || get(settings, "identity", "id") != identityID {
		t.Errorf("native settings flow: state %v identity %v", settings["state"], get(settings, "identity", "id"))
	}
	wantSettingsSaved(t, "native profile update", r.step(t, "updateSettingsFlow", 200), settings["id"].(string), "Brewster")
	wantSession(t, "whoami after the profile update", r.step(t, "toSessionAfterSettings", 200), identityID, email, "Brewster")

	// A new login flow's state is "choose_method" in Kratos; not asserted
	// here (another change brings it).
	wantFlow(t, "native login flow", r.step(t, "createNativeLoginFlow", 200), "api", "login")
	signedIn := r.step(t, "updateLoginFlow", 200)
	if tok, _ := signedIn["session_token"].(string); !strings.HasPrefix(tok, "ory_st_") || tok == token {
		t.Errorf("login: session_token %q (the registration's %q)", tok, token)
	}
	wantSession(t, "login session", signedIn["session"].(map[string]any), identityID, email, "Brewster")

	r.step(t, "performNativeLogout", 204)
	wantLoggedOut(t, r, "toSessionAfterLogout")
	wantSession(t, "whoami with the login's token", r.step(t, "toSessionOtherToken", 200), identityID, email, "Brewster")
	r.done(t)
}

// wantBrowserFlows checks browserFlows: registration, whoami by cookie, a
// profile update, logout, login and logout again.
func wantBrowserFlows(t *testing.T, r *jsReport, email string) {
	t.Helper()
	reg := r.step(t, "createBrowserRegistrationFlow", 200)
	wantFlow(t, "browser registration flow", reg, "browser", "registration")
	signedUp := r.step(t, "updateRegistrationFlow", 200)
	if tok, ok := signedUp["session_token"]; ok {
		t.Errorf("browser registration answered a session_token %v; tokens are for API flows", tok)
	}
	identityID, _ := get(signedUp, "identity", "id").(string)
	if identityID == "" || get(signedUp, "identity", "traits", "email") != email || get(signedUp, "session", "active") != true {
		t.Fatalf("browser registration: identity %v session %v", signedUp["identity"], signedUp["session"])
	}
	wantSession(t, "whoami by cookie", r.step(t, "toSession", 200), identityID, email, "Hopper")

	settings := r.step(t, "createBrowserSettingsFlow", 200)
	wantFlow(t, "browser settings flow", settings, "browser", "settings")
	if settings["state"] != "show_form" || get(settings, "identity", "id") != identityID {
		t.Errorf("browser settings flow: state %v identity %v", settings["state"], get(settings, "identity", "id"))
	}
	wantSettingsSaved(t, "browser profile update", r.step(t, "updateSettingsFlow", 200), settings["id"].(string), "Brewster")
	wantSession(t, "whoami after the profile update", r.step(t, "toSessionAfterSettings", 200), identityID, email, "Brewster")

	for _, round := range []struct{ create, update, after string }{
		{"createBrowserLogoutFlow", "updateLogoutFlow", "toSessionAfterLogout"},
		{"createBrowserLogoutFlowAgain", "updateLogoutFlowAgain", "toSessionAfterSecondLogout"},
	} {
		lo := r.step(t, round.create, 200)
		token, _ := lo["logout_token"].(string)
		if logoutURL, _ := lo["logout_url"].(string); !strings.HasPrefix(token, "ory_lo_") || !strings.Contains(logoutURL, "/.ory/kratos/public/self-service/logout?token="+token) {
			t.Errorf("%s: logout_token %q logout_url %q", round.create, token, logoutURL)
		}
		r.step(t, round.update, 204)
		wantLoggedOut(t, r, round.after)
		if round.after == "toSessionAfterLogout" {
			// A new login flow's state is "choose_method" in Kratos; not
			// asserted here (another change brings it).
			wantFlow(t, "browser login flow", r.step(t, "createBrowserLoginFlow", 200), "browser", "login")
			signedIn := r.step(t, "updateLoginFlow", 200)
			if tok, ok := signedIn["session_token"]; ok {
				t.Errorf("browser login answered a session_token %v", tok)
			}
			wantSession(t, "login session", signedIn["session"].(map[string]any), identityID, email, "Brewster")
			wantSession(t, "whoami after the login", r.step(t, "toSessionAfterLogin", 200), identityID, email, "Brewster")
		}
	}
	r.done(t)
}

// wantUnknownFlows checks unknownFlows: Kratos' 404 for a flow no store
// holds, fetched or submitted.
func wantUnknownFlows(t *testing.T, r *jsReport) {
	t.Helper()
	for _, name := range []string{"getRegistrationFlow", "getLoginFlow", "updateLoginFlow"} {
		wantErrorID(t, name+" of an unknown flow", r.step(t, name, 404), 404, "")
	}
	r.done(t)
}

// wantExpiredLoginFlow checks expiredLoginFlow: 410
// self_service_flow_expired, with where to start again.
func wantExpiredLoginFlow(t *testing.T, s *site, r *jsReport, flowID string) {
	t.Helper()
	// The fetch answers as Kratos' x.ErrGone: where to start again, no new
	// flow.
	got := r.step(t, "getLoginFlow", 410)
	wantErrorID(t, "getLoginFlow of an expired flow", got, 410, "self_service_flow_expired")
	if get(got, "error", "message") != "The requested resource is no longer available because it has expired or is otherwise invalid." ||
		get(got, "error", "reason") != "The login flow has expired. Redirect the user to the login flow init endpoint to initialize a new login flow." {
		t.Errorf("getLoginFlow of an expired flow: message %v reason %v", get(got, "error", "message"), get(got, "error", "reason"))
	}
	if to := get(got, "error", "details", "redirect_to"); to != s.kratos()+"/self-service/login/browser" || get(got, "error", "details", "return_to") != "" {
		t.Errorf("getLoginFlow of an expired flow: details %v, want redirect_to %s/self-service/login/browser and an empty return_to", get(got, "error", "details"), s.kratos())
	}
	// The submit answers with a replacement flow.
	sub := r.step(t, "updateLoginFlow", 410)
	wantErrorID(t, "updateLoginFlow of an expired flow", sub, 410, "self_service_flow_expired")
	if use, _ := sub["use_flow_id"].(string); use == "" || use == flowID {
		t.Errorf("updateLoginFlow of an expired flow: use_flow_id %q (the expired flow is %s)", use, flowID)
	}
	r.done(t)
}

// TestOryClientJSNode runs the SDK's native and browser flows in node
// against a site on Redis and one on the memory store.
func TestOryClientJSNode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs node; skipped by -short, run by make test")
	}
	requireOryClientJS(t)
	lifespan := "flow_lifespan " + oryJSFlowLifespan.String()
	for _, store := range []struct {
		name  string
		start func(*testing.T) *site
	}{
		{"redis", func(t *testing.T) *site { return startSite(t, lifespan) }},
		{"memory", func(t *testing.T) *site { return startSiteMemory(t, lifespan) }},
	} {
		t.Run(store.name, func(t *testing.T) {
			s := store.start(t)
			email := browserEmail("node.native")
			var native jsReport
			runNode(t, s, "native", map[string]any{"email": email, "password": oryJSPassword}, &native)
			wantNativeFlows(t, &native, email)

			jar := filepath.Join(t.TempDir(), "cookies.json")
			email = browserEmail("node.browser")
			var browserReport jsReport
			runNode(t, s, "browser", map[string]any{"email": email, "password": oryJSPassword, "jar": jar}, &browserReport)
			wantBrowserFlows(t, &browserReport, email)

			var unknown jsReport
			runNode(t, s, "unknown", map[string]any{"flowId": oryJSUnknownFlow, "email": email, "password": oryJSPassword, "jar": jar}, &unknown)
			wantUnknownFlows(t, &unknown)

			var started startedFlow
			runNode(t, s, "start-login", map[string]any{"jar": jar}, &started)
			if started.FlowID == "" || started.CSRF == "" {
				t.Fatalf("start-login: %+v", started)
			}
			t.Cleanup(caddymodule.AdvanceClockForTest(oryJSFlowLifespan + time.Minute))
			var expired jsReport
			runNode(t, s, "expired-login", map[string]any{"flowId": started.FlowID, "csrf": started.CSRF, "email": email, "password": oryJSPassword, "jar": jar}, &expired)
			wantExpiredLoginFlow(t, s, &expired, started.FlowID)
		})
	}
}

// bundleOryClientJS bundles the SDK and browser.mjs with esbuild into a
// folder, with index.html, for the site to serve.
func bundleOryClientJS(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	esbuild := filepath.Join("node_modules", ".bin", "esbuild")
	cmd := exec.CommandContext(ctx, esbuild, "browser.mjs", "--bundle", "--format=iife", "--platform=browser",
		"--target=es2020", "--log-level=warning", "--outfile="+filepath.Join(dir, "ory-client-test.js"))
	cmd.Dir = oryClientJS
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("esbuild: %v\n%s", err, out)
	}
	page, err := os.ReadFile(filepath.Join(oryClientJS, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.html"), page, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestOryClientJSBrowser runs the SDK's browser flows in headless Chromium,
// from a page of the site (same origin: the browser keeps the cookies, no
// CORS), with withCredentials as an SPA sets it.
func TestOryClientJSBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("drives Chromium; skipped by -short, run by make test")
	}
	requireOryClientJS(t)
	dir := bundleOryClientJS(t)
	routes := fmt.Sprintf("handle_path /ory-client-js/* {\n\t\troot * %s\n\t\tfile_server\n\t}", dir)
	s := startSiteWithRoutes(t, seedSchema, "flow_lifespan "+oryJSFlowLifespan.String(), routes)
	b := newTab(t)
	email := browserEmail("chromium")

	// The page runs the browser flows when it loads and shows the report.
	b.open(s.public + "/ory-client-js/index.html?" + url.Values{"email": {email}, "password": {oryJSPassword}}.Encode())
	b.waitFor("the browser flows' report", `document.getElementById("report").dataset.flows === "browser"`)
	b.checkpoint("browser-flows")
	var r jsReport
	if err := json.Unmarshal([]byte(b.text("#report")), &r); err != nil {
		t.Fatalf("the page's report is not JSON: %v\n%s", err, b.pageText())
	}
	wantBrowserFlows(t, &r, email)
	// Signed out: the browser's cookies open no session any more.
	if status, body := b.fetchJSON(s.kratos() + "/sessions/whoami"); status != 401 {
		t.Errorf("whoami with the browser's cookies after the logout: %d %v", status, body)
	}

	var unknown jsReport
	b.eval("the unknown flows", `oryClientTest.unknown({flowId: `+js(oryJSUnknownFlow)+`, email: `+js(email)+`, password: `+js(oryJSPassword)+`})`, &unknown)
	wantUnknownFlows(t, &unknown)

	var started startedFlow
	b.eval("start a login flow", `oryClientTest.startLogin()`, &started)
	if started.FlowID == "" || started.CSRF == "" {
		t.Fatalf("startLogin: %+v", started)
	}
	t.Cleanup(caddymodule.AdvanceClockForTest(oryJSFlowLifespan + time.Minute))
	var expired jsReport
	b.eval("the expired login flow", `oryClientTest.expiredLogin({flowId: `+js(started.FlowID)+`, csrf: `+js(started.CSRF)+`, email: `+js(email)+`, password: `+js(oryJSPassword)+`})`, &expired)
	wantExpiredLoginFlow(t, s, &expired, started.FlowID)
	if got := b.text("#report"); !strings.Contains(got, "self_service_flow_expired") {
		t.Errorf("the page does not show the expired flow's error:\n%s", got)
	}
}
