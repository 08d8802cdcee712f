package flows

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
)

const mySessionsPath = DefaultPublicPrefix + "/sessions"

// listedSession is what the tests read of an item of GET /sessions.
type listedSession struct {
	ID       string `json:"id"`
	Active   bool   `json:"active"`
	Identity *struct {
		ID string `json:"id"`
	} `json:"identity"`
	Devices []identity.Device `json:"devices"`
}

// errorBody is the envelope's error, with its message.
type errorBody struct {
	Error struct {
		ID      string `json:"id"`
		Code    int    `json:"code"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	} `json:"error"`
}

func decodeBody[T any](t *testing.T, a *answer) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(a.Body.Bytes(), &v); err != nil {
		t.Fatalf("%v\n%s", err, a.Body)
	}
	return v
}

// sessionsAt signs id in n times, a minute apart, and returns the tokens,
// oldest first.
func (e *flowEnv) sessionsAt(id *identity.Identity, n int) []string {
	var tokens []string
	for range n {
		e.clock.Add(time.Minute)
		tokens = append(tokens, e.addSession(id))
	}
	return tokens
}

// idOf is the session id of a token.
func (e *flowEnv) idOf(token string) string {
	e.t.Helper()
	sess, _, err := e.store.GetSession(context.Background(), token)
	if err != nil {
		e.t.Fatal(err)
	}
	return sess.ID
}

func listIDs(t *testing.T, a *answer) []string {
	t.Helper()
	if a.Code != http.StatusOK {
		t.Fatalf("GET /sessions: %d %s", a.Code, a.Body)
	}
	var ids []string
	for _, s := range decodeBody[[]listedSession](t, a) {
		ids = append(ids, s.ID)
	}
	return ids
}

func TestMySessionsList(t *testing.T) {
	for _, kind := range []callerKind{callerBrowser, callerSPA, callerAPI} {
		t.Run(kind.String(), func(t *testing.T) {
			e := newFlowEnv(t)
			ada, bob := e.addIdentity(adaEmail), e.addIdentity("bob@example.com")
			tokens := e.sessionsAt(ada, 5) // revoked, expiring, older, current, newer
			e.sessionsAt(bob, 1)
			ctx := context.Background()
			revoked := e.session(tokens[0])
			revoked.Active = false
			if err := e.store.UpdateSession(ctx, revoked); err != nil {
				t.Fatal(err)
			}
			expiring := e.session(tokens[1])
			expiring.ExpiresAt = e.clock.Now().Add(time.Second)
			if err := e.store.UpdateSession(ctx, expiring); err != nil {
				t.Fatal(err)
			}
			e.clock.Add(2 * time.Second)

			c := e.newClient(kind)
			c.signIn(tokens[3])
			a := c.get(mySessionsPath)
			if got, want := listIDs(t, a), []string{e.idOf(tokens[4]), e.idOf(tokens[2])}; !slices.Equal(got, want) {
				t.Errorf("listed %v, want the other active sessions, newest first %v", got, want)
			}
			items := decodeBody[[]listedSession](t, a)
			for _, it := range items {
				if !it.Active || it.Identity == nil || it.Identity.ID != ada.ID || len(it.Devices) != 1 {
					t.Errorf("item %+v: want active, with Ada's identity and its device", it)
				}
			}
			if got := a.Header().Get("X-Total-Count"); got != "2" {
				t.Errorf("X-Total-Count %q, want 2", got)
			}
			if link := a.Header().Get("Link"); !strings.Contains(link, `rel="first"`) || !strings.Contains(link, mySessionsPath+"?") {
				t.Errorf("Link %q, want a first link to %s", link, mySessionsPath)
			}
		})
	}
}

func TestMySessionsPaging(t *testing.T) {
	e := newFlowEnv(t)
	ada := e.addIdentity(adaEmail)
	tokens := e.sessionsAt(ada, 6)
	c := e.newClient(callerAPI)
	c.signIn(tokens[0])
	var want []string
	for i := 5; i >= 1; i-- {
		want = append(want, e.idOf(tokens[i]))
	}

	// Token paging, following the next links.
	var got []string
	target := mySessionsPath + "?page_size=2"
	for range 5 {
		a := c.get(target)
		got = append(got, listIDs(t, a)...)
		next := linkRel(a.Header().Get("Link"), "next")
		if next == "" {
			break
		}
		u, err := url.Parse(next)
		if err != nil || u.Path != mySessionsPath || u.Query().Get("page_size") != "2" || u.Query().Get("per_page") != "2" {
			t.Fatalf("next link %q", next)
		}
		target = next
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages of 2: %v, want %v", got, want)
	}

	// Page paging, and the bounds of the page size.
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"page=1&per_page=2", want[2:4]},
		{"page=2&per_page=2", want[4:]},
		{"page=9&per_page=2", nil},
		{"per_page=0", want[:1]},
		{"page_size=-5", want[:1]},
		{"page_size=5000", want},
		{"page_token=" + pageToken(3) + "&page_size=3", want[3:]},
		{"page_token=garbage&page_size=2", want[:2]},
		{"page=99999999999999999999&per_page=1000", want},
		{"page=9223372036854775807&per_page=1000", nil},
	} {
		if got := listIDs(t, c.get(mySessionsPath+"?"+tc.query)); !slices.Equal(got, tc.want) {
			t.Errorf("?%s: %v, want %v", tc.query, got, tc.want)
		}
	}
	a := c.get(mySessionsPath + "?page=1&per_page=2")
	link := a.Header().Get("Link")
	for _, rel := range []string{"first", "next", "prev", "last"} {
		if linkRel(link, rel) == "" {
			t.Errorf("middle page: Link %q has no %s", link, rel)
		}
	}
	if u, _ := url.Parse(linkRel(link, "last")); u == nil || u.Query().Get("page") != "2" || u.Query().Get("page_token") != pageToken(4) {
		t.Errorf("last link %q, want page 2 (offset 4)", linkRel(link, "last"))
	}
}

// linkRel is the URL of a rel in a Link header, or "".
func linkRel(link, rel string) string {
	for _, part := range strings.Split(link, ",") {
		u, params, ok := strings.Cut(part, ";")
		if ok && strings.TrimSpace(params) == `rel="`+rel+`"` {
			return strings.Trim(strings.TrimSpace(u), "<>")
		}
	}
	return ""
}

func TestMySessionsUnauthorized(t *testing.T) {
	e := newFlowEnv(t)
	ada := e.addIdentity(adaEmail)
	expired := e.addSession(ada)
	e.clock.Add(DefaultSessionLifespan + time.Second)
	for _, kind := range []callerKind{callerBrowser, callerAPI} {
		for _, token := range []string{"", "ory_st_nonsense", expired} {
			c := e.newClient(kind)
			if token != "" {
				c.signIn(token)
			}
			for _, req := range [][2]string{
				{http.MethodGet, mySessionsPath}, {http.MethodDelete, mySessionsPath},
				{http.MethodDelete, mySessionsPath + "/" + identity.NewID()}, {http.MethodDelete, mySessionsPath + "/nonsense"},
			} {
				a := c.do(req[0], req[1], "", "")
				body := decodeBody[errorBody](t, a)
				if a.Code != http.StatusUnauthorized || body.Error.ID != "" || body.Error.Reason != "No valid session cookie found." ||
					body.Error.Message != "The request could not be authorized" {
					t.Errorf("%s %s %s (token %q): %d %s", kind, req[0], req[1], token, a.Code, a.Body)
				}
			}
		}
	}
}

func TestMySessionsRevokeAll(t *testing.T) {
	for _, kind := range []callerKind{callerBrowser, callerSPA, callerAPI} {
		t.Run(kind.String(), func(t *testing.T) {
			e := newFlowEnv(t)
			ada, bob := e.addIdentity(adaEmail), e.addIdentity("bob@example.com")
			tokens := e.sessionsAt(ada, 4)
			bobs := e.addSession(bob)
			c := e.newClient(kind)
			c.signIn(tokens[1])

			// A browser sends no CSRF token: Kratos takes none here.
			a := c.do(http.MethodDelete, mySessionsPath, "", "")
			if a.Code != http.StatusOK || strings.TrimSpace(a.Body.String()) != `{"count":3}` {
				t.Fatalf("DELETE /sessions: %d %s, want 200 {\"count\":3}", a.Code, a.Body)
			}
			for i, tok := range tokens {
				if got := e.session(tok) != nil; got != (i == 1) {
					t.Errorf("session %d usable: %v", i, got)
				}
			}
			if sess, _ := e.store.GetSessionByID(context.Background(), e.idOf(tokens[0])); sess == nil || sess.Active {
				t.Error("a revoked session was deleted, or is still active; Kratos keeps it inactive")
			}
			if e.session(bobs) == nil {
				t.Error("another identity's session was revoked")
			}
			// Kratos counts the other sessions, revoked already or not.
			a = c.do(http.MethodDelete, mySessionsPath, "", "")
			if strings.TrimSpace(a.Body.String()) != `{"count":3}` {
				t.Errorf("again: %d %s", a.Code, a.Body)
			}
			if got := listIDs(t, c.get(mySessionsPath)); len(got) != 0 {
				t.Errorf("listed after revoking all: %v", got)
			}
		})
	}
}

func TestMySessionsRevokeOne(t *testing.T) {
	e := newFlowEnv(t)
	ada, bob := e.addIdentity(adaEmail), e.addIdentity("bob@example.com")
	tokens := e.sessionsAt(ada, 3)
	bobs := e.addSession(bob)
	c := e.newClient(callerBrowser)
	c.signIn(tokens[0])
	del := func(id string) *answer { return c.do(http.MethodDelete, mySessionsPath+"/"+id, "", "") }

	other := e.idOf(tokens[1])
	if a := del(strings.ToUpper(other)); a.Code != http.StatusNoContent || a.Body.Len() != 0 {
		t.Fatalf("DELETE own other session: %d %s", a.Code, a.Body)
	}
	if e.session(tokens[1]) != nil || e.session(tokens[2]) == nil || e.session(tokens[0]) == nil {
		t.Error("want only the named session revoked")
	}
	for name, id := range map[string]string{
		"unknown": identity.NewID(), "another identity's": e.idOf(bobs), "revoked already": other,
	} {
		if a := del(id); a.Code != http.StatusNoContent {
			t.Errorf("DELETE %s session: %d %s, want 204 (as Kratos: nothing to tell)", name, a.Code, a.Body)
		}
	}
	if e.session(bobs) == nil {
		t.Error("another identity's session was revoked")
	}

	a := del(e.idOf(tokens[0]))
	if body := decodeBody[errorBody](t, a); a.Code != http.StatusBadRequest || body.Error.Message != "cannot revoke current session" || body.Error.Reason != "" {
		t.Errorf("DELETE current session: %d %s", a.Code, a.Body)
	}
	if e.session(tokens[0]) == nil {
		t.Error("the current session was revoked")
	}
	for id, msg := range map[string]string{
		"nonsense":                             `uuid: incorrect UUID length 8 in string "nonsense"`,
		"zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz": `uuid: incorrect UUID format in string "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"`,
	} {
		a := del(id)
		if body := decodeBody[errorBody](t, a); a.Code != http.StatusBadRequest || body.Error.Message != msg {
			t.Errorf("DELETE %s: %d %s, want 400 %q", id, a.Code, a.Body, msg)
		}
	}
	// The other forms Kratos' UUID parser reads.
	id := e.idOf(tokens[2])
	if a := del("{" + id + "}"); a.Code != http.StatusNoContent || e.session(tokens[2]) != nil {
		t.Errorf("DELETE {id}: %d %s, want the session revoked", a.Code, a.Body)
	}
	if a := c.do(http.MethodPost, mySessionsPath+"/"+id, "", ""); a.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /sessions/{id}: %d, want 405", a.Code)
	}
}

func TestSessionDevices(t *testing.T) {
	trusted := false
	e := newFlowEnv(t, func(c *Config) {
		c.ClientIP = func(*http.Request) string { return "203.0.113.9" }
		c.FromTrustedProxy = func(*http.Request) bool { return trusted }
	})
	ada := e.addIdentity(adaEmail)
	issue := func() identity.Device {
		r := httptestRequest("Mozilla/5.0 (test)", "Cf-Ipcity", "Berlin", "Cf-Ipcountry", "DE")
		sess, _, err := e.s.IssueSession(r, ada)
		if err != nil {
			t.Fatal(err)
		}
		if len(sess.Devices) != 1 {
			t.Fatalf("devices %+v", sess.Devices)
		}
		return sess.Devices[0]
	}
	if d := issue(); d.IPAddress != "203.0.113.9" || d.UserAgent != "Mozilla/5.0 (test)" || d.Location != "" || !identity.WellFormedID(d.ID) {
		t.Errorf("device %+v: want the client address of the hook, the user agent, no location from an untrusted peer", d)
	}
	trusted = true
	if d := issue(); d.Location != "Berlin, DE" {
		t.Errorf("device %+v: want the location from a trusted proxy", d)
	}
	long := strings.Repeat("é", 1000)
	sess := &identity.Session{}
	for range maxDevices + 3 {
		e.s.addDevice(httptestRequest(long), sess)
	}
	if n := len(sess.Devices); n != maxDevices || len(sess.Devices[0].UserAgent) > maxDeviceField {
		t.Errorf("%d devices, user agent of %d bytes; want at most %d and %d", n, len(sess.Devices[0].UserAgent), maxDevices, maxDeviceField)
	}
}

func httptestRequest(userAgent string, header ...string) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, testHost+"/", nil)
	r.Header.Set("User-Agent", userAgent)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return r
}
