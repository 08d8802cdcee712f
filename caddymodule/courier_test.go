package caddymodule

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/seed06f30684/caddy-kratos/identity"
)

func TestCourierCaddyfile(t *testing.T) {
	h := new(Handler)
	d := caddyfile.NewTestDispenser(`kratos {
		identity_schema s.json
		courier {
			smtp smtp://user:pass@mail.example.com:587
			from "Example <no-reply@example.com>"
			templates ./mail
			retries 3
		}
	}`)
	if err := h.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	c := h.Courier
	if c == nil || c.SMTP != "smtp://user:pass@mail.example.com:587" || c.From != "Example <no-reply@example.com>" ||
		c.Templates != "./mail" || c.Retries == nil || *c.Retries != 3 || c.Mailbox {
		t.Fatalf("courier = %+v", c)
	}
	for block, want := range map[string]string{
		`courier`:                         "expected 'smtp <uri>'",
		`courier { from a@example.com }`:  "expected 'smtp <uri>'",
		`courier { mailbox yes }`:         "wrong argument count",
		`courier { retries -1 }`:          "expected a number",
		`courier { post smtp://x }`:       "unrecognized courier option 'post'",
		`courier { mailbox; mailbox }`:    "given twice",
		`courier smtp://mail.example.com`: "not arguments",
	} {
		err := new(Handler).UnmarshalCaddyfile(caddyfile.NewTestDispenser("kratos {\nidentity_schema s.json\n" + strings.NewReplacer("{ ", "{\n", " }", "\n}", "; ", "\n").Replace(block) + "\n}"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want an error with %q", block, err, want)
		}
	}
}

func TestCourierValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  CourierConfig
		want string
	}{
		{CourierConfig{SMTP: "http://mail.example.com", From: "a@example.com"}, `courier: smtp: scheme "http"`},
		{CourierConfig{SMTP: "smtp://mail.example.com"}, "courier: from: required"},
		{CourierConfig{SMTP: "smtp://mail.example.com", From: "a@example.com", Mailbox: true}, "exclude each other"},
		{CourierConfig{}, "expected 'smtp <uri>'"},
	} {
		h := &Handler{IdentitySchema: writeSchema(t), Courier: &c.cfg}
		err := provision(t, h)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v; want an error with %q", c.cfg, err, c.want)
		}
	}
}

// TestCourierMailbox: a public handler runs the worker with the dev
// mailbox; the admin handler of the same store shows what it kept. A
// reload with the same config keeps the one worker (no mail twice); the
// last Cleanup stops it.
func TestCourierMailbox(t *testing.T) {
	watchMemoryStores(t)
	schema := writeSchema(t)
	public := &Handler{IdentitySchema: schema, Courier: &CourierConfig{Mailbox: true}}
	if err := public.Provision(caddyContext(t)); err != nil {
		t.Fatal(err)
	}
	adminH := &Handler{IdentitySchema: schema, Admin: true}
	if err := provision(t, adminH); err != nil {
		t.Fatal(err)
	}
	storeKey := public.poolKey
	box := mailboxFor(storeKey)
	if box == nil {
		t.Fatal("no mailbox registered for the store")
	}
	// A reload: the new handler joins the running worker.
	reloaded := &Handler{IdentitySchema: schema, Courier: &CourierConfig{Mailbox: true}}
	if err := reloaded.Provision(caddyContext(t)); err != nil {
		t.Fatal(err)
	}
	if err := public.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if mailboxFor(storeKey) != box {
		t.Fatal("the reload replaced the running courier")
	}

	m := &identity.Message{Recipient: "ada@example.com", TemplateType: identity.TemplateVerificationCodeValid, TemplateData: map[string]any{"VerificationCode": "246810"}}
	if err := reloaded.store.QueueMessage(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(box.Mails()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the mailbox got no mail")
		}
		time.Sleep(10 * time.Millisecond)
	}
	rec := httptest.NewRecorder()
	if err := adminH.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:4434/mailbox", nil), nil); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "246810") || !strings.Contains(rec.Body.String(), "Please verify your email address") {
		t.Errorf("/mailbox: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	_ = adminH.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:4434/admin/courier/messages/"+m.ID, nil), nil)
	if !strings.Contains(rec.Body.String(), `"status":"sent"`) || !strings.Contains(rec.Body.String(), "246810") {
		t.Errorf("the admin API with the mailbox: %s", rec.Body)
	}
	if n := len(box.Mails()); n != 1 {
		t.Errorf("the mailbox got %d mails, want 1", n)
	}

	if err := reloaded.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if mailboxFor(storeKey) != nil {
		t.Error("the mailbox outlived its last handler")
	}
	rec = httptest.NewRecorder()
	_ = adminH.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:4434/mailbox", nil), nil)
	if rec.Code != http.StatusNotFound {
		t.Errorf("/mailbox after the courier stopped: %d", rec.Code)
	}
}
