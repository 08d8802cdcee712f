package flows_test

// Look-alike identifiers (issue #9, item 4): one identifier has one
// spelling, at sign-up, at login and in the store. These tests drive the
// public API as an API client, through (*flows.Service).ServePublic only.

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/flows"
	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/testenv"
	"github.com/seed06f30684/caddy-kratos/text"
)

const lookalikePassword = "correct horse battery staple 9"

type lookalikeEnv struct {
	t     *testing.T
	s     *flows.Service
	store identity.Store
}

func newLookalikeEnv(t *testing.T) *lookalikeEnv {
	t.Helper()
	clock := testenv.NewClock(time.Now().UTC().Truncate(time.Second))
	store := clock.Store()
	s, err := flows.New(flows.Config{Schema: testenv.Schema(testenv.PhoneSchema), Store: store, PasswordCost: 4, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &lookalikeEnv{t: t, s: s, store: store}
}

// call sends a request to ServePublic as an API client and decodes the
// JSON answer (numbers as json.Number, so they are seen exactly as sent).
func (e *lookalikeEnv) call(method, target, contentType, body string) (int, map[string]any) {
	e.t.Helper()
	r := httptest.NewRequest(method, "http://app.test"+target, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", contentType)
	}
	r.Header.Set("Accept", "application/json")
	w := httptest.NewRecorder()
	u, _ := url.Parse(target)
	e.s.ServePublic(w, r, u.Path)
	dec := json.NewDecoder(w.Body)
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		e.t.Fatalf("%s %s: %d, not JSON: %v", method, target, w.Code, err)
	}
	return w.Code, out
}

// submit starts an API flow of kind ("registration", "login") and submits
// it: a JSON body, or a form when body is url.Values.
func (e *lookalikeEnv) submit(kind string, body any) (int, map[string]any) {
	e.t.Helper()
	code, f := e.call(http.MethodGet, "/self-service/"+kind+"/api", "", "")
	id, _ := f["id"].(string)
	if code != http.StatusOK || id == "" {
		e.t.Fatalf("start %s flow: %d %v", kind, code, f)
	}
	if form, ok := body.(url.Values); ok {
		return e.call(http.MethodPost, "/self-service/"+kind+"?flow="+id, "application/x-www-form-urlencoded", form.Encode())
	}
	raw, err := json.Marshal(body)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.call(http.MethodPost, "/self-service/"+kind+"?flow="+id, "application/json", string(raw))
}

func (e *lookalikeEnv) register(traits map[string]any) (int, map[string]any) {
	e.t.Helper()
	return e.submit("registration", map[string]any{"method": "password", "password": lookalikePassword, "traits": traits})
}

func (e *lookalikeEnv) mustRegister(traits map[string]any) map[string]any {
	e.t.Helper()
	code, res := e.register(traits)
	if code != http.StatusOK {
		e.t.Fatalf("register %v: %d %v", traits, code, res)
	}
	return res
}

// login signs in with identifier and returns the signed-in identity's id,
// or "" when the login failed.
func (e *lookalikeEnv) login(identifier string) string {
	e.t.Helper()
	code, res := e.submit("login", map[string]any{"method": "password", "identifier": identifier, "password": lookalikePassword})
	if code != http.StatusOK {
		return ""
	}
	sess, _ := res["session"].(map[string]any)
	id, _ := sess["identity"].(map[string]any)
	s, _ := id["id"].(string)
	return s
}

// identities lists the stored identities.
func (e *lookalikeEnv) identities() []*identity.Identity {
	e.t.Helper()
	list, _, err := e.store.ListIdentities(e.t.Context(), "", 100)
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

// messageIDs lists the ids of a flow's form messages, and of the messages
// on the node named node.
func messageIDs(f map[string]any, node string) (form, onNode []json.Number, onNodeText []string) {
	ui, _ := f["ui"].(map[string]any)
	msgs, _ := ui["messages"].([]any)
	for _, m := range msgs {
		id, _ := m.(map[string]any)["id"].(json.Number)
		form = append(form, id)
	}
	nodes, _ := ui["nodes"].([]any)
	for _, n := range nodes {
		n, _ := n.(map[string]any)
		attrs, _ := n["attributes"].(map[string]any)
		if attrs["name"] != node {
			continue
		}
		ms, _ := n["messages"].([]any)
		for _, m := range ms {
			m := m.(map[string]any)
			id, _ := m["id"].(json.Number)
			onNode = append(onNode, id)
			s, _ := m["text"].(string)
			onNodeText = append(onNodeText, s)
		}
	}
	return form, onNode, onNodeText
}

var (
	idDuplicate = json.Number("4000007")
	idGeneric   = json.Number("4000001")
)

func TestLookalikeEmailIsADuplicate(t *testing.T) {
	e := newLookalikeEnv(t)
	alice := e.mustRegister(map[string]any{"email": "alice@example.com"})
	aliceID, _ := alice["identity"].(map[string]any)["id"].(string)

	for _, email := range []string{
		"ａlice@example.com", // fullwidth a
		"ＡＬＩＣＥ@example.com",
		"ALICE@Example.com",
	} {
		code, f := e.register(map[string]any{"email": email})
		form, onNode, _ := messageIDs(f, "traits.email")
		if code != http.StatusBadRequest || !slices.Equal(form, []json.Number{idDuplicate}) || len(onNode) != 0 {
			t.Errorf("register %q: %d, form messages %v, node messages %v; want 400 with the duplicate message %s",
				email, code, form, onNode, idDuplicate)
		}
	}
	// A fullwidth domain or surrounding spaces are no email address for
	// the "email" format (as before): refused on the trait.
	for _, email := range []string{"alice＠ｅxample.com", " alice@example.com "} {
		code, f := e.register(map[string]any{"email": email})
		if _, onNode, texts := messageIDs(f, "traits.email"); code != http.StatusBadRequest || len(texts) != 1 ||
			!strings.HasSuffix(texts[0], `is not valid "email"`) {
			t.Errorf("register %q: %d, node messages %v %q; want the email format's message", email, code, onNode, texts)
		}
	}
	if n := len(e.identities()); n != 1 {
		t.Errorf("%d identities stored, want 1", n)
	}

	// Every spelling signs in to the one account.
	for _, email := range []string{"alice@example.com", "ALICE@example.com", "ａlice@example.com", "ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", "  Alice@EXAMPLE.com"} {
		if got := e.login(email); got != aliceID {
			t.Errorf("login as %q: identity %q, want %s", email, got, aliceID)
		}
	}
}

func TestLookalikeEmailIsRefused(t *testing.T) {
	e := newLookalikeEnv(t)
	e.mustRegister(map[string]any{"email": "alice@example.com"})
	for _, tc := range []struct{ email, says string }{
		{"ali\u200bce@example.com", "invisible character (U+200B)"},
		{"\ufeffalice@example.com", "invisible character (U+FEFF)"},
		{"alice\u2060@example.com", "invisible character (U+2060)"},
		{"ali\u0307ce@example.com", "combining mark (U+0307)"},
	} {
		code, f := e.register(map[string]any{"email": tc.email})
		form, onNode, texts := messageIDs(f, "traits.email")
		if code != http.StatusBadRequest || len(form) != 0 || !slices.Equal(onNode, []json.Number{idGeneric}) {
			t.Errorf("register %q: %d, form messages %v, node messages %v; want 400 with message %s on traits.email",
				tc.email, code, form, onNode, idGeneric)
			continue
		}
		if !strings.Contains(texts[0], tc.says) {
			t.Errorf("register %q: message %q does not say %q", tc.email, texts[0], tc.says)
		}
	}
	if n := len(e.identities()); n != 1 {
		t.Errorf("%d identities stored, want 1", n)
	}
	// The message is the catalogue's.
	reason := `"ali\u200bce@example.com" contains an invisible character (U+200B), which a login identifier must not contain.`
	if m := text.InvalidIdentifier(reason); m.ID != 4000001 || m.Context["reason"] != reason {
		t.Errorf("text.InvalidIdentifier: %+v", m)
	}
}

func TestLookalikePhoneNumberIsOneAccount(t *testing.T) {
	e := newLookalikeEnv(t)
	res := e.mustRegister(map[string]any{"phone": "+1 202-555-0143"})
	id, _ := res["identity"].(map[string]any)
	bobID, _ := id["id"].(string)
	// The trait keeps its spelling; the identifier is E.164.
	if traits, _ := id["traits"].(map[string]any); traits["phone"] != "+1 202-555-0143" {
		t.Errorf("traits %v: the phone number's spelling changed", traits)
	}
	list := e.identities()
	if len(list) != 1 || !slices.Equal(list[0].Identifiers(), []string{"+12025550143"}) {
		t.Fatalf("stored identifiers %v, want [+12025550143]", list[0].Identifiers())
	}
	if va := list[0].VerifiableAddresses; len(va) != 1 || va[0].Value != "+12025550143" || va[0].Via != "sms" {
		t.Errorf("verifiable addresses %+v, want +12025550143 via sms", va)
	}

	for _, phone := range []string{"+1 (202) 555 0143", "+12025550143", "tel:+1-202-555-0143", "＋１ ２０２ ５５５ ０１４３"} {
		code, f := e.register(map[string]any{"phone": phone})
		if form, _, _ := messageIDs(f, "traits.phone"); code != http.StatusBadRequest || !slices.Equal(form, []json.Number{idDuplicate}) {
			t.Errorf("register %q: %d, form messages %v; want 400 with the duplicate message", phone, code, form)
		}
	}
	if n := len(e.identities()); n != 1 {
		t.Errorf("%d identities stored, want 1", n)
	}
	for _, phone := range []string{"+12025550143", "+1 (202) 555-0143", "+1.202.555.0143"} {
		if got := e.login(phone); got != bobID {
			t.Errorf("login as %q: identity %q, want %s", phone, got, bobID)
		}
	}

	// A number that does not parse is a validation error on the trait.
	code, f := e.register(map[string]any{"phone": "202 555 0143"})
	_, onNode, texts := messageIDs(f, "traits.phone")
	if code != http.StatusBadRequest || !slices.Equal(onNode, []json.Number{idGeneric}) || texts[0] != `"202 555 0143" is not valid "tel"` {
		t.Errorf("register a national number: %d, node messages %v %q", code, onNode, texts)
	}
	if n := len(e.identities()); n != 1 {
		t.Errorf("%d identities stored, want 1", n)
	}
}

// Identities stored before normalisation hold lower-cased identifiers
// (and phone numbers as typed); they still sign in.
func TestIdentifiersStoredBeforeNormalisationSignIn(t *testing.T) {
	e := newLookalikeEnv(t)
	old := func(traits map[string]any, identifiers ...string) string {
		id := e.s.NewIdentity(traits)
		if err := e.s.SetPassword(id, lookalikePassword); err != nil {
			t.Fatal(err)
		}
		id.Password.Identifiers = identifiers
		if err := e.store.CreateIdentity(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		return id.ID
	}
	alice := old(map[string]any{"email": "Alice@Example.com"}, "alice@example.com")
	bob := old(map[string]any{"phone": "+1 202-555-0143"}, "+1 202-555-0143")

	for _, in := range []string{"alice@example.com", "ALICE@example.com", "Alice@Example.com", "ａlice@example.com"} {
		if got := e.login(in); got != alice {
			t.Errorf("login as %q: identity %q, want %s", in, got, alice)
		}
	}
	if got := e.login("+1 202-555-0143"); got != bob {
		t.Errorf("login with the phone number as stored before: identity %q, want %s", got, bob)
	}
}
