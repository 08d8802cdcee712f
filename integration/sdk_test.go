package integration

// End-to-end tests that drive the server with the official Ory Go SDK
// (github.com/ory/client-go), unchanged, pointed at our public and admin base
// URLs. Every call goes through the SDK's own request building and strict
// response decoding (required properties, oneOf discriminators), so a body
// the SDK cannot decode is reported as a server bug, not skipped.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	ory "github.com/ory/client-go"

	"github.com/seed06f30684/caddy-kratos/caddymodule"
)

// sdkClient is an SDK client for one base URL over hc.
func sdkClient(base string, hc *http.Client) *ory.APIClient {
	cfg := ory.NewConfiguration()
	cfg.Servers = ory.ServerConfigurations{{URL: base}}
	cfg.HTTPClient = hc
	return ory.NewAPIClient(cfg)
}

// sdkNativeHTTP is what a native app uses: no cookie jar, so API flows never
// see a cookie.
func sdkNativeHTTP(t *testing.T) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: sdkTraceTransport(t)}
}

// sdkTraceTransport logs every exchange when SDK_TRACE is set, to see exactly
// what the SDK sent and what the server answered.
func sdkTraceTransport(t *testing.T) http.RoundTripper {
	if os.Getenv("SDK_TRACE") == "" {
		return http.DefaultTransport
	}
	return sdkRoundTrip(func(req *http.Request) (*http.Response, error) {
		var reqBody []byte
		if req.Body != nil {
			reqBody, _ = io.ReadAll(req.Body)
			req.Body = io.NopCloser(bytes.NewReader(reqBody))
		}
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Logf("SDK_TRACE %s %s %s\n-> %v", req.Method, req.URL, reqBody, err)
			return nil, err
		}
		resBody, _ := io.ReadAll(res.Body)
		res.Body = io.NopCloser(bytes.NewReader(resBody))
		t.Logf("SDK_TRACE %s %s %v %s\n-> %d %v\n%s", req.Method, req.URL, req.Header, reqBody, res.StatusCode, res.Header, resBody)
		return res, nil
	})
}

type sdkRoundTrip func(*http.Request) (*http.Response, error)

func (f sdkRoundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// sdkBrowserHTTP is an SPA's client: a cookie jar, and redirects are not
// followed, so an unexpected 303 shows up as an error instead of being
// silently chased.
func sdkBrowserHTTP(t *testing.T) (*http.Client, http.CookieJar) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: sdkTraceTransport(t), CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}, jar
}

func sdkStatus(res *http.Response) int {
	if res == nil {
		return 0
	}
	return res.StatusCode
}

// sdkOK fails unless the call succeeded with status want. A call whose
// status is right but whose body the SDK could not decode is reported as
// such: that is a server bug (a missing required field, a wrong type...).
func sdkOK(t *testing.T, what string, res *http.Response, err error, want int) {
	t.Helper()
	if err != nil {
		var ae *ory.GenericOpenAPIError
		var body []byte
		if errors.As(err, &ae) {
			body = ae.Body()
		}
		if sdkStatus(res) == want {
			t.Fatalf("%s: status %d as expected, but the SDK could not decode the body: %v\nbody: %s", what, want, err, body)
		}
		t.Fatalf("%s: status %d, want %d: %v\nbody: %s", what, sdkStatus(res), want, err, body)
	}
	if res.StatusCode != want {
		t.Fatalf("%s: status %d, want %d", what, res.StatusCode, want)
	}
}

// sdkErr fails unless the call failed with status want, and reports an
// error body the SDK could not decode into its model for that status.
func sdkErr(t *testing.T, what string, res *http.Response, err error, want int) *ory.GenericOpenAPIError {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded with status %d, want %d", what, sdkStatus(res), want)
	}
	var ae *ory.GenericOpenAPIError
	if !errors.As(err, &ae) {
		t.Fatalf("%s: not an API error (status %d): %v", what, sdkStatus(res), err)
	}
	if sdkStatus(res) != want {
		t.Fatalf("%s: status %d, want %d: %v\nbody: %s", what, sdkStatus(res), want, err, ae.Body())
	}
	if ae.Model() == nil {
		t.Errorf("%s: status %d, but the SDK could not decode the body into its model: %v\nbody: %s", what, want, ae.Error(), ae.Body())
	}
	return ae
}

// sdkErrorID is error.id of an ErrorGeneric model ("" when there is none).
func sdkErrorID(t *testing.T, ae *ory.GenericOpenAPIError) string {
	t.Helper()
	m, ok := ae.Model().(ory.ErrorGeneric)
	if !ok {
		t.Fatalf("error model is %T, want ory.ErrorGeneric\nbody: %s", ae.Model(), ae.Body())
	}
	return m.Error.GetId()
}

// sdkRawBody decodes an error's raw body as a JSON object.
func sdkRawBody(t *testing.T, ae *ory.GenericOpenAPIError) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ae.Body(), &m); err != nil {
		t.Fatalf("error body is not a JSON object: %v\n%s", err, ae.Body())
	}
	return m
}

// sdkInputNode returns the input attributes of the flow node with this name.
func sdkInputNode(ui ory.UiContainer, name string) *ory.UiNodeInputAttributes {
	for _, n := range ui.Nodes {
		if a := n.Attributes.UiNodeInputAttributes; a != nil && a.Name == name {
			return a
		}
	}
	return nil
}

func sdkMessageIDs(msgs []ory.UiText) []int64 {
	ids := make([]int64, 0, len(msgs))
	for _, m := range msgs {
		ids = append(ids, m.Id)
	}
	return ids
}

// sdkTrait walks the traits of an identity ("name", "last").
func sdkTrait(id *ory.Identity, path ...string) any {
	if id == nil {
		return nil
	}
	var v any = id.Traits
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	return v
}

func sdkPasswordLogin(identifier, password string, csrf *string) ory.UpdateLoginFlowBody {
	return ory.UpdateLoginFlowWithPasswordMethodAsUpdateLoginFlowBody(&ory.UpdateLoginFlowWithPasswordMethod{
		Method: "password", Identifier: identifier, Password: password, CsrfToken: csrf,
	})
}

// sdkRegister signs up through the native registration flow.
func sdkRegister(t *testing.T, fe ory.FrontendAPI, traits map[string]any, password string) *ory.SuccessfulNativeRegistration {
	t.Helper()
	ctx := context.Background()
	flow, res, err := fe.CreateNativeRegistrationFlow(ctx).Execute()
	sdkOK(t, "CreateNativeRegistrationFlow", res, err, 200)
	if flow.Type != "api" || !strings.HasSuffix(flow.Ui.Action, "/self-service/registration?flow="+flow.Id) || flow.Ui.Method != "POST" {
		t.Fatalf("registration flow: type %q action %q method %q", flow.Type, flow.Ui.Action, flow.Ui.Method)
	}
	if sdkInputNode(flow.Ui, "traits.email") == nil || sdkInputNode(flow.Ui, "password") == nil {
		t.Fatalf("registration flow lacks traits.email or password nodes: %+v", flow.Ui.Nodes)
	}
	reg, res, err := fe.UpdateRegistrationFlow(ctx).Flow(flow.Id).UpdateRegistrationFlowBody(
		ory.UpdateRegistrationFlowWithPasswordMethodAsUpdateRegistrationFlowBody(&ory.UpdateRegistrationFlowWithPasswordMethod{
			Method: "password", Password: password, Traits: traits,
		})).Execute()
	sdkOK(t, "UpdateRegistrationFlow", res, err, 200)
	if tok := reg.GetSessionToken(); !strings.HasPrefix(tok, "ory_st_") || len(tok) != 39 {
		t.Fatalf("registration session_token %q", tok)
	}
	if reg.Identity == nil || reg.Identity.Id == "" || sdkTrait(reg.Identity, "email") != traits["email"] {
		t.Fatalf("registration identity: %+v", reg.Identity)
	}
	if reg.Session == nil || reg.Session.Id == "" || !reg.Session.GetActive() || reg.Session.Identity == nil || reg.Session.Identity.Id != reg.Identity.Id {
		t.Fatalf("registration session: %+v", reg.Session)
	}
	return reg
}

// sdkNativeLogin runs a native password login and returns the result.
func sdkNativeLogin(t *testing.T, fe ory.FrontendAPI, identifier, password string) *ory.SuccessfulNativeLogin {
	t.Helper()
	ctx := context.Background()
	flow, res, err := fe.CreateNativeLoginFlow(ctx).Execute()
	sdkOK(t, "CreateNativeLoginFlow", res, err, 200)
	login, res, err := fe.UpdateLoginFlow(ctx).Flow(flow.Id).UpdateLoginFlowBody(sdkPasswordLogin(identifier, password, nil)).Execute()
	sdkOK(t, "UpdateLoginFlow "+identifier, res, err, 200)
	if tok := login.GetSessionToken(); !strings.HasPrefix(tok, "ory_st_") || len(tok) != 39 {
		t.Fatalf("login session_token %q", tok)
	}
	return login
}

// sdkLoginFails asserts a native password login is refused with 400 and
// message 4000006 on the returned flow.
func sdkLoginFails(t *testing.T, fe ory.FrontendAPI, identifier, password string) {
	t.Helper()
	ctx := context.Background()
	flow, res, err := fe.CreateNativeLoginFlow(ctx).Execute()
	sdkOK(t, "CreateNativeLoginFlow", res, err, 200)
	_, res, err = fe.UpdateLoginFlow(ctx).Flow(flow.Id).UpdateLoginFlowBody(sdkPasswordLogin(identifier, password, nil)).Execute()
	ae := sdkErr(t, "UpdateLoginFlow with bad credentials for "+identifier, res, err, 400)
	lf, ok := ae.Model().(ory.LoginFlow)
	if !ok {
		t.Fatalf("400 model is %T, want ory.LoginFlow\nbody: %s", ae.Model(), ae.Body())
	}
	if lf.Id != flow.Id || !slices.Contains(sdkMessageIDs(lf.Ui.Messages), 4000006) {
		t.Fatalf("bad credentials: flow %q (want %q), ui.messages %v, want 4000006\nbody: %s", lf.Id, flow.Id, sdkMessageIDs(lf.Ui.Messages), ae.Body())
	}
}

// TestSDKRegistrationLoginWhoamiRefreshLogout is issue 3's "Done when",
// driven by the official SDK: native registration, whoami, login, wrong
// password, refresh, native logout; a browser (cookie jar) login, whoami and
// logout; and the admin identity API.
func TestSDKRegistrationLoginWhoamiRefreshLogout(t *testing.T) {
	s := startSite(t, "")
	ctx := context.Background()
	fe := sdkClient(s.kratos(), sdkNativeHTTP(t)).FrontendAPI
	const email, password = "Ada@Example.com", "correct horse battery"

	reg := sdkRegister(t, fe, map[string]any{"email": email, "name": map[string]any{"first": "Grace", "last": "Hopper"}}, password)
	token, identityID, schemaID := reg.GetSessionToken(), reg.Identity.Id, reg.Identity.SchemaId

	// whoami with the token.
	sess, res, err := fe.ToSession(ctx).XSessionToken(token).Execute()
	sdkOK(t, "ToSession", res, err, 200)
	if sess.Id != reg.Session.Id || !sess.GetActive() || sess.GetAuthenticatorAssuranceLevel() != ory.AUTHENTICATORASSURANCELEVEL_AAL1 {
		t.Fatalf("whoami: id %q (want %q) active %v aal %q", sess.Id, reg.Session.Id, sess.GetActive(), sess.GetAuthenticatorAssuranceLevel())
	}
	if sess.Identity == nil || sess.Identity.Id != identityID || sdkTrait(sess.Identity, "email") != email ||
		sdkTrait(sess.Identity, "name", "first") != "Grace" || sdkTrait(sess.Identity, "name", "last") != "Hopper" {
		t.Fatalf("whoami identity: %+v", sess.Identity)
	}
	if got := res.Header.Get("X-Kratos-Authenticated-Identity-Id"); got != identityID {
		t.Fatalf("X-Kratos-Authenticated-Identity-Id %q, want %q", got, identityID)
	}
	if sess.AuthenticatedAt == nil || sess.ExpiresAt == nil || !sess.ExpiresAt.After(*sess.AuthenticatedAt) {
		t.Fatalf("whoami times: authenticated_at %v expires_at %v", sess.AuthenticatedAt, sess.ExpiresAt)
	}
	firstAuthAt := *sess.AuthenticatedAt

	// A second login gives a second session and token.
	login := sdkNativeLogin(t, fe, "ada@example.com", password)
	token2 := login.GetSessionToken()
	if token2 == token || login.Session.Id == sess.Id || login.Session.Identity == nil || login.Session.Identity.Id != identityID {
		t.Fatalf("login: token %q (first %q), session %q (first %q), identity %+v", token2, token, login.Session.Id, sess.Id, login.Session.Identity)
	}

	// Wrong password: 400 and the flow with 4000006.
	sdkLoginFails(t, fe, "ada@example.com", "wrong password!")
	sdkLoginFails(t, fe, "nobody@example.com", "wrong password!")

	// Refresh: same session, same token, later authenticated_at.
	rf, res, err := fe.CreateNativeLoginFlow(ctx).Refresh(true).XSessionToken(token).Execute()
	sdkOK(t, "CreateNativeLoginFlow refresh=true", res, err, 200)
	if !rf.GetRefresh() || rf.Type != "api" || !slices.Contains(sdkMessageIDs(rf.Ui.Messages), 1010003) {
		t.Fatalf("refresh flow: refresh %v type %q ui.messages %v (want 1010003)", rf.GetRefresh(), rf.Type, sdkMessageIDs(rf.Ui.Messages))
	}
	if id := sdkInputNode(rf.Ui, "identifier"); id == nil || id.Type != "hidden" || !strings.EqualFold(fmt.Sprint(id.Value), email) {
		t.Errorf("refresh flow identifier node: %+v, want hidden with %q", id, strings.ToLower(email))
	}
	refreshed, res, err := fe.UpdateLoginFlow(ctx).Flow(rf.Id).XSessionToken(token).UpdateLoginFlowBody(sdkPasswordLogin("ada@example.com", password, nil)).Execute()
	sdkOK(t, "UpdateLoginFlow refresh", res, err, 200)
	if refreshed.Session.Id != sess.Id {
		t.Fatalf("refresh made session %q, want the same session %q", refreshed.Session.Id, sess.Id)
	}
	if tok, ok := refreshed.GetSessionTokenOk(); ok && *tok != token {
		t.Fatalf("refresh returned session_token %q, want the same token %q", *tok, token)
	}
	if refreshed.Session.AuthenticatedAt == nil || !refreshed.Session.AuthenticatedAt.After(firstAuthAt) {
		t.Fatalf("refresh: authenticated_at %v, want after %v", refreshed.Session.AuthenticatedAt, firstAuthAt)
	}
	sess2, res, err := fe.ToSession(ctx).XSessionToken(token).Execute()
	sdkOK(t, "ToSession after refresh", res, err, 200)
	if sess2.Id != sess.Id || sess2.AuthenticatedAt == nil || !sess2.AuthenticatedAt.After(firstAuthAt) {
		t.Fatalf("whoami after refresh: id %q (want %q) authenticated_at %v (want after %v)", sess2.Id, sess.Id, sess2.AuthenticatedAt, firstAuthAt)
	}
	if n := len(sess2.AuthenticationMethods); n < 2 || sess2.AuthenticationMethods[n-1].GetMethod() != "password" {
		t.Errorf("whoami after refresh: authentication_methods %+v, want a second password entry appended", sess2.AuthenticationMethods)
	}

	// Native logout: 204, then the token is dead; the other session lives.
	res, err = fe.PerformNativeLogout(ctx).PerformNativeLogoutBody(ory.PerformNativeLogoutBody{SessionToken: token}).Execute()
	sdkOK(t, "PerformNativeLogout", res, err, 204)
	_, res, err = fe.ToSession(ctx).XSessionToken(token).Execute()
	if ae := sdkErr(t, "ToSession after logout", res, err, 401); sdkErrorID(t, ae) != "session_inactive" {
		t.Fatalf("whoami after logout: error.id %q, want session_inactive\nbody: %s", sdkErrorID(t, ae), ae.Body())
	}
	_, res, err = fe.ToSession(ctx).XSessionToken(token2).Execute()
	sdkOK(t, "ToSession with the other token", res, err, 200)
	res, err = fe.PerformNativeLogout(ctx).PerformNativeLogoutBody(ory.PerformNativeLogoutBody{SessionToken: token}).Execute()
	sdkErr(t, "PerformNativeLogout twice", res, err, 403)

	t.Run("browser with cookie jar", func(t *testing.T) {
		hc, jar := sdkBrowserHTTP(t)
		br := sdkClient(s.kratos(), hc).FrontendAPI
		pub, _ := url.Parse(s.public)
		cookie := func(name string) *http.Cookie {
			for _, c := range jar.Cookies(pub) {
				if c.Name == name {
					return c
				}
			}
			return nil
		}

		// Without the CSRF token the submit is refused.
		nf, res, err := br.CreateBrowserLoginFlow(ctx).Execute()
		sdkOK(t, "CreateBrowserLoginFlow", res, err, 200)
		_, res, err = br.UpdateLoginFlow(ctx).Flow(nf.Id).UpdateLoginFlowBody(sdkPasswordLogin("ada@example.com", password, nil)).Execute()
		if ae := sdkErr(t, "UpdateLoginFlow without csrf_token", res, err, 403); sdkErrorID(t, ae) != "security_csrf_violation" {
			t.Fatalf("no csrf: error.id %q\nbody: %s", sdkErrorID(t, ae), ae.Body())
		}

		returnTo := s.public + "/account"
		bf, res, err := br.CreateBrowserLoginFlow(ctx).ReturnTo(returnTo).Execute()
		sdkOK(t, "CreateBrowserLoginFlow return_to", res, err, 200)
		if bf.Type != "browser" || bf.GetReturnTo() != returnTo {
			t.Fatalf("browser flow: type %q return_to %q", bf.Type, bf.GetReturnTo())
		}
		csrfNode := sdkInputNode(bf.Ui, "csrf_token")
		if csrfNode == nil || csrfNode.Type != "hidden" || fmt.Sprint(csrfNode.Value) == "" {
			t.Fatalf("browser flow csrf_token node: %+v", csrfNode)
		}
		if len(jar.Cookies(pub)) == 0 {
			t.Fatalf("no CSRF cookie was set with the browser flow")
		}
		csrf := fmt.Sprint(csrfNode.Value)
		// The flow can be fetched again by the same browser.
		got, res, err := br.GetLoginFlow(ctx).Id(bf.Id).Execute()
		sdkOK(t, "GetLoginFlow", res, err, 200)
		if got.Id != bf.Id {
			t.Fatalf("GetLoginFlow id %q, want %q", got.Id, bf.Id)
		}

		bl, res, err := br.UpdateLoginFlow(ctx).Flow(bf.Id).UpdateLoginFlowBody(sdkPasswordLogin("ada@example.com", password, &csrf)).Execute()
		sdkOK(t, "UpdateLoginFlow browser", res, err, 200)
		if bl.SessionToken != nil {
			t.Errorf("browser login returned a session_token %q; tokens are for API flows only", *bl.SessionToken)
		}
		if bl.Session.Identity == nil || bl.Session.Identity.Id != identityID {
			t.Fatalf("browser login session identity: %+v", bl.Session.Identity)
		}
		redirect := ""
		for _, cw := range bl.ContinueWith {
			if r := cw.ContinueWithRedirectBrowserTo; r != nil {
				redirect = r.RedirectBrowserTo
			}
		}
		if redirect != returnTo {
			t.Errorf("browser+JSON login continue_with redirect_browser_to %q, want %q", redirect, returnTo)
		}
		sc := cookie("ory_kratos_session")
		if sc == nil {
			t.Fatalf("no ory_kratos_session cookie in the jar after login (cookies %v)", jar.Cookies(pub))
		}

		// whoami with the cookie (the jar sends it).
		who, res, err := br.ToSession(ctx).Execute()
		sdkOK(t, "ToSession with cookie", res, err, 200)
		if who.Id != bl.Session.Id || who.Identity == nil || who.Identity.Id != identityID || !who.GetActive() {
			t.Fatalf("whoami with cookie: id %q (want %q) identity %+v", who.Id, bl.Session.Id, who.Identity)
		}

		// Already signed in: a login flow without refresh is refused.
		_, res, err = br.CreateBrowserLoginFlow(ctx).Execute()
		if ae := sdkErr(t, "CreateBrowserLoginFlow while signed in", res, err, 400); sdkErrorID(t, ae) != "session_already_available" {
			t.Fatalf("signed in: error.id %q\nbody: %s", sdkErrorID(t, ae), ae.Body())
		}

		lo, res, err := br.CreateBrowserLogoutFlow(ctx).Execute()
		sdkOK(t, "CreateBrowserLogoutFlow", res, err, 200)
		if !strings.HasPrefix(lo.LogoutToken, "ory_lo_") || !strings.HasPrefix(lo.LogoutUrl, s.kratos()+"/self-service/logout?") {
			t.Fatalf("logout flow: %+v", lo)
		}
		if u, err := url.Parse(lo.LogoutUrl); err != nil || u.Query().Get("token") != lo.LogoutToken {
			t.Fatalf("logout_url %q does not carry logout_token %q", lo.LogoutUrl, lo.LogoutToken)
		}
		res, err = br.UpdateLogoutFlow(ctx).Token("ory_lo_wrong").Execute()
		sdkErr(t, "UpdateLogoutFlow wrong token", res, err, 403)
		res, err = br.UpdateLogoutFlow(ctx).Token(lo.LogoutToken).Execute()
		sdkOK(t, "UpdateLogoutFlow", res, err, 204)
		if c := cookie("ory_kratos_session"); c != nil {
			t.Errorf("session cookie still in the jar after logout: %v", c)
		}
		_, res, err = br.ToSession(ctx).Execute()
		if ae := sdkErr(t, "ToSession after browser logout", res, err, 401); sdkErrorID(t, ae) != "session_inactive" {
			t.Fatalf("whoami after browser logout: error.id %q\nbody: %s", sdkErrorID(t, ae), ae.Body())
		}
		// The old cookie value itself is dead too, not just removed from the jar.
		_, res, err = fe.ToSession(ctx).Cookie(sc.Name + "=" + sc.Value).Execute()
		sdkErr(t, "ToSession with the logged-out cookie", res, err, 401)
	})

	t.Run("admin identity API", func(t *testing.T) {
		adm := sdkClient(s.admin, sdkNativeHTTP(t)).IdentityAPI
		secret := "a long enough secret"
		body := ory.CreateIdentityBody{
			SchemaId: schemaID,
			Traits:   map[string]any{"email": "Linus@Example.com", "name": map[string]any{"first": "Linus", "last": "Torvalds"}},
			Credentials: &ory.IdentityWithCredentials{Password: &ory.IdentityWithCredentialsPassword{
				Config: &ory.IdentityWithCredentialsPasswordConfig{Password: &secret},
			}},
		}
		created, res, err := adm.CreateIdentity(ctx).CreateIdentityBody(body).Execute()
		sdkOK(t, "CreateIdentity", res, err, 201)
		id := created.Id
		if id == "" || created.SchemaId != schemaID || created.SchemaUrl == "" || created.GetState() != "active" ||
			sdkTrait(created, "email") != "Linus@Example.com" || sdkTrait(created, "name", "last") != "Torvalds" {
			t.Fatalf("created identity: %+v", created)
		}
		// Kratos: Location = <admin base>/identities/<id> (identity/handler.go create:
		// urlx.AppendPaths(SelfAdminURL, "identities", id)).
		if loc := res.Header.Get("Location"); loc != s.admin+"/identities/"+id {
			t.Errorf("CreateIdentity Location %q, want %q", loc, s.admin+"/identities/"+id)
		}
		if creds, ok := created.GetCredentialsOk(); ok {
			pw, ok := (*creds)["password"]
			if !ok || !slices.Equal(pw.Identifiers, []string{"linus@example.com"}) {
				t.Errorf("created credentials.password: %+v, want identifiers [linus@example.com]", pw)
			}
			if _, leaked := pw.Config["hashed_password"]; leaked {
				t.Errorf("admin response leaks the password hash: %v", pw.Config)
			}
		} else {
			t.Errorf("created identity has no credentials")
		}

		// The cleartext password was hashed and works for a login.
		linus := sdkNativeLogin(t, fe, "LINUS@example.com", secret)
		if linus.Session.Identity == nil || linus.Session.Identity.Id != id {
			t.Fatalf("login as created identity: %+v", linus.Session.Identity)
		}

		got, res, err := adm.GetIdentity(ctx, id).Execute()
		sdkOK(t, "GetIdentity", res, err, 200)
		if got.Id != id || sdkTrait(got, "email") != "Linus@Example.com" || sdkTrait(got, "name", "first") != "Linus" {
			t.Fatalf("GetIdentity: %+v", got)
		}

		list, res, err := adm.ListIdentities(ctx).Execute()
		sdkOK(t, "ListIdentities", res, err, 200)
		var ids []string
		for _, i := range list {
			ids = append(ids, i.Id)
		}
		if !slices.Contains(ids, id) || !slices.Contains(ids, identityID) || len(ids) != 2 {
			t.Fatalf("ListIdentities ids %v, want exactly %s and %s", ids, identityID, id)
		}
		only, res, err := adm.ListIdentities(ctx).CredentialsIdentifier("linus@example.com").Execute()
		sdkOK(t, "ListIdentities credentials_identifier", res, err, 200)
		if len(only) != 1 || only[0].Id != id {
			t.Fatalf("ListIdentities credentials_identifier=linus@example.com: %d identities", len(only))
		}

		sessions, res, err := adm.ListIdentitySessions(ctx, id).Execute()
		sdkOK(t, "ListIdentitySessions", res, err, 200)
		if len(sessions) != 1 || sessions[0].Id != linus.Session.Id || !sessions[0].GetActive() {
			var sids []string
			for _, x := range sessions {
				sids = append(sids, x.Id)
			}
			t.Fatalf("ListIdentitySessions: %v, want exactly [%s] active", sids, linus.Session.Id)
		}
		adaSessions, res, err := adm.ListIdentitySessions(ctx, identityID).Execute()
		sdkOK(t, "ListIdentitySessions of the registered identity", res, err, 200)
		if len(adaSessions) == 0 {
			t.Fatalf("ListIdentitySessions of %s: none", identityID)
		}

		upd, res, err := adm.UpdateIdentity(ctx, id).UpdateIdentityBody(ory.UpdateIdentityBody{
			SchemaId: schemaID, State: "active",
			Traits: map[string]any{"email": "Linus@Example.com", "name": map[string]any{"first": "Linus", "last": "Benedict"}},
		}).Execute()
		sdkOK(t, "UpdateIdentity", res, err, 200)
		if upd.Id != id || sdkTrait(upd, "name", "last") != "Benedict" {
			t.Fatalf("UpdateIdentity: %+v", upd)
		}
		got, res, err = adm.GetIdentity(ctx, id).Execute()
		sdkOK(t, "GetIdentity after update", res, err, 200)
		if sdkTrait(got, "name", "last") != "Benedict" {
			t.Fatalf("GetIdentity after update: traits %v", got.Traits)
		}
		who, res, err := fe.ToSession(ctx).XSessionToken(linus.GetSessionToken()).Execute()
		sdkOK(t, "ToSession of the updated identity", res, err, 200)
		if sdkTrait(who.Identity, "name", "last") != "Benedict" {
			t.Fatalf("whoami after admin update: traits %v", who.Identity.Traits)
		}
		// The password survived the update (no credentials in the body).
		sdkNativeLogin(t, fe, "linus@example.com", secret)

		// Duplicate identifier (case-insensitively): 409.
		dup := body
		dup.Traits = map[string]any{"email": "LINUS@example.COM"}
		_, res, err = adm.CreateIdentity(ctx).CreateIdentityBody(dup).Execute()
		ae := sdkErr(t, "CreateIdentity duplicate", res, err, 409)
		if e, _ := sdkRawBody(t, ae)["error"].(map[string]any); e == nil || e["code"] != float64(409) || e["message"] == nil {
			t.Fatalf("duplicate: body %s", ae.Body())
		}
		list, res, err = adm.ListIdentities(ctx).Execute()
		sdkOK(t, "ListIdentities after duplicate", res, err, 200)
		if len(list) != 2 {
			t.Fatalf("the refused duplicate was stored: %d identities", len(list))
		}

		res, err = adm.DeleteIdentity(ctx, id).Execute()
		sdkOK(t, "DeleteIdentity", res, err, 204)
		_, res, err = adm.GetIdentity(ctx, id).Execute()
		sdkErr(t, "GetIdentity after delete", res, err, 404)
		res, err = adm.DeleteIdentity(ctx, id).Execute()
		sdkErr(t, "DeleteIdentity twice", res, err, 404)
		_, res, err = fe.ToSession(ctx).XSessionToken(linus.GetSessionToken()).Execute()
		sdkErr(t, "ToSession of a deleted identity", res, err, 401)
		sdkLoginFails(t, fe, "linus@example.com", secret)
		// The identifier is free again.
		again, res, err := adm.CreateIdentity(ctx).CreateIdentityBody(body).Execute()
		sdkOK(t, "CreateIdentity after delete", res, err, 201)
		if again.Id == id {
			t.Fatalf("recreated identity reused id %s", id)
		}
	})
}

// TestSDKSettingsSeed003 is issue 4's "Done when", driven by the official
// SDK: seed 003's native profile update (state success, 1050001, updated
// traits), then an email change on an aged session (403
// session_refresh_required), a refresh login, and the same flow's retry.
func TestSDKSettingsSeed003(t *testing.T) {
	s := startSite(t, "privileged_session_max_age 10m")
	ctx := context.Background()
	fe := sdkClient(s.kratos(), sdkNativeHTTP(t)).FrontendAPI
	const oldEmail, newEmail, password = "grace@example.com", "grace.hopper@example.com", "a long enough secret"
	reg := sdkRegister(t, fe, map[string]any{"email": oldEmail, "name": map[string]any{"first": "Grace", "last": "Hopper"}}, password)
	token, identityID := reg.GetSessionToken(), reg.Identity.Id

	profile := func(email, last string) ory.UpdateSettingsFlowBody {
		return ory.UpdateSettingsFlowWithProfileMethodAsUpdateSettingsFlowBody(&ory.UpdateSettingsFlowWithProfileMethod{
			Method: "profile", Traits: map[string]any{"email": email, "name": map[string]any{"first": "Grace", "last": last}},
		})
	}
	newFlow := func() *ory.SettingsFlow {
		t.Helper()
		f, res, err := fe.CreateNativeSettingsFlow(ctx).XSessionToken(token).Execute()
		sdkOK(t, "CreateNativeSettingsFlow", res, err, 200)
		if f.Type != "api" || f.State != ory.SETTINGSFLOWSTATE_SHOW_FORM || f.Identity.Id != identityID ||
			!strings.HasSuffix(f.Ui.Action, "/self-service/settings?flow="+f.Id) {
			t.Fatalf("settings flow: type %q state %q identity %q action %q", f.Type, f.State, f.Identity.Id, f.Ui.Action)
		}
		return f
	}
	whoami := func() *ory.Session {
		t.Helper()
		sess, res, err := fe.ToSession(ctx).XSessionToken(token).Execute()
		sdkOK(t, "ToSession", res, err, 200)
		return sess
	}

	// Seed 003: a fresh session changes name.last.
	flow := newFlow()
	// Kratos' profile strategy adds the CSRF node whatever the flow type
	// (PopulateSettingsMethod calls f.UI.SetCSRF unconditionally; spec §3.3).
	if n := sdkInputNode(flow.Ui, "csrf_token"); n == nil || n.Type != "hidden" {
		t.Errorf("API settings flow has no hidden csrf_token node (Kratos includes it for API flows too): %+v", n)
	}
	if n := sdkInputNode(flow.Ui, "traits.email"); n == nil || fmt.Sprint(n.Value) != oldEmail {
		t.Fatalf("settings flow traits.email node: %+v", n)
	}
	done, res, err := fe.UpdateSettingsFlow(ctx).Flow(flow.Id).XSessionToken(token).UpdateSettingsFlowBody(profile(oldEmail, "Brewster")).Execute()
	sdkOK(t, "UpdateSettingsFlow profile", res, err, 200)
	if done.Id != flow.Id || done.State != ory.SETTINGSFLOWSTATE_SUCCESS || !slices.Contains(sdkMessageIDs(done.Ui.Messages), 1050001) {
		t.Fatalf("settings success: id %q (want %q) state %q ui.messages %v (want 1050001)", done.Id, flow.Id, done.State, sdkMessageIDs(done.Ui.Messages))
	}
	if sdkTrait(&done.Identity, "name", "last") != "Brewster" || sdkTrait(&done.Identity, "email") != oldEmail {
		t.Fatalf("settings success identity traits: %v", done.Identity.Traits)
	}
	if n := sdkInputNode(done.Ui, "traits.name.last"); n == nil || fmt.Sprint(n.Value) != "Brewster" {
		t.Errorf("settings success: traits.name.last node %+v, want value Brewster", n)
	}
	sess := whoami()
	if sdkTrait(sess.Identity, "name", "last") != "Brewster" {
		t.Fatalf("whoami after settings: traits %v", sess.Identity.Traits)
	}
	firstAuthAt := *sess.AuthenticatedAt

	t.Cleanup(caddymodule.AdvanceClockForTest(11 * time.Minute)) // age the session past privileged_session_max_age

	// An ordinary sdkTrait edit on the aged session needs no privilege.
	plain := newFlow()
	ok, res, err := fe.UpdateSettingsFlow(ctx).Flow(plain.Id).XSessionToken(token).UpdateSettingsFlowBody(profile(oldEmail, "Murray")).Execute()
	sdkOK(t, "UpdateSettingsFlow name only on an aged session", res, err, 200)
	if ok.State != ory.SETTINGSFLOWSTATE_SUCCESS || sdkTrait(&ok.Identity, "name", "last") != "Murray" {
		t.Fatalf("aged name change: state %q traits %v", ok.State, ok.Identity.Traits)
	}

	// The email (a login identifier) on the aged session: 403 session_refresh_required.
	flow = newFlow()
	_, res, err = fe.UpdateSettingsFlow(ctx).Flow(flow.Id).XSessionToken(token).UpdateSettingsFlowBody(profile(newEmail, "Murray")).Execute()
	ae := sdkErr(t, "UpdateSettingsFlow email on an aged session", res, err, 403)
	if id := sdkErrorID(t, ae); id != "session_refresh_required" {
		t.Fatalf("aged email change: error.id %q, want session_refresh_required\nbody: %s", id, ae.Body())
	}
	if rb := fmt.Sprint(sdkRawBody(t, ae)["redirect_browser_to"]); !strings.Contains(rb, "/self-service/login/browser?") || !strings.Contains(rb, "refresh=true") {
		t.Errorf("session_refresh_required redirect_browser_to %q, want the login browser URL with refresh=true", rb)
	}
	if sess := whoami(); sdkTrait(sess.Identity, "email") != oldEmail {
		t.Fatalf("email changed without re-authentication: %v", sess.Identity.Traits)
	}
	sdkNativeLogin(t, fe, oldEmail, password) // the old identifier still works

	// Refresh login with the same token.
	rf, res, err := fe.CreateNativeLoginFlow(ctx).Refresh(true).XSessionToken(token).Execute()
	sdkOK(t, "CreateNativeLoginFlow refresh=true", res, err, 200)
	if !rf.GetRefresh() {
		t.Fatalf("refresh login flow has refresh=%v", rf.GetRefresh())
	}
	refreshed, res, err := fe.UpdateLoginFlow(ctx).Flow(rf.Id).XSessionToken(token).UpdateLoginFlowBody(sdkPasswordLogin(oldEmail, password, nil)).Execute()
	sdkOK(t, "UpdateLoginFlow refresh", res, err, 200)
	if refreshed.Session.Id != sess.Id || refreshed.Session.AuthenticatedAt == nil || !refreshed.Session.AuthenticatedAt.After(firstAuthAt) {
		t.Fatalf("refresh: session %q (want %q) authenticated_at %v (want after %v)", refreshed.Session.Id, sess.Id, refreshed.Session.AuthenticatedAt, firstAuthAt)
	}

	// Retry the SAME settings flow's submit: now it goes through.
	done, res, err = fe.UpdateSettingsFlow(ctx).Flow(flow.Id).XSessionToken(token).UpdateSettingsFlowBody(profile(newEmail, "Murray")).Execute()
	sdkOK(t, "UpdateSettingsFlow email after refresh", res, err, 200)
	if done.Id != flow.Id || done.State != ory.SETTINGSFLOWSTATE_SUCCESS || !slices.Contains(sdkMessageIDs(done.Ui.Messages), 1050001) {
		t.Fatalf("settings after refresh: id %q (want %q) state %q ui.messages %v", done.Id, flow.Id, done.State, sdkMessageIDs(done.Ui.Messages))
	}
	if sdkTrait(&done.Identity, "email") != newEmail {
		t.Fatalf("settings after refresh: traits %v, want email %s", done.Identity.Traits, newEmail)
	}
	fetched, res, err := fe.GetSettingsFlow(ctx).Id(flow.Id).XSessionToken(token).Execute()
	sdkOK(t, "GetSettingsFlow after success", res, err, 200)
	if fetched.State != ory.SETTINGSFLOWSTATE_SUCCESS || sdkTrait(&fetched.Identity, "email") != newEmail {
		t.Fatalf("stored settings flow: state %q traits %v", fetched.State, fetched.Identity.Traits)
	}
	if sess := whoami(); sdkTrait(sess.Identity, "email") != newEmail || sess.Id != refreshed.Session.Id {
		t.Fatalf("whoami after email change: session %q traits %v", sess.Id, sess.Identity.Traits)
	}

	// The identifier moved with the email.
	if l := sdkNativeLogin(t, fe, newEmail, password); l.Session.Identity == nil || l.Session.Identity.Id != identityID {
		t.Fatalf("login with the new email: identity %+v", l.Session.Identity)
	}
	sdkLoginFails(t, fe, oldEmail, password)
}
